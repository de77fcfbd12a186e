//go:build xla && cgo

package backend

import (
	"strings"
	"sync"

	"github.com/gomlx/compute"
	"github.com/gomlx/go-xla/compute/xla"
)

// XLAAvailable reports whether this binary was built with the XLA backend.
const XLAAvailable = true

// go-xla would otherwise download plugins from GitHub or PyPI the first time
// a named plugin is asked for. infty never touches the network unasked.
var disableAutoInstall = sync.OnceFunc(func() { xla.EnableAutoInstall(false) })

func openXLA(plugin string, options []string) (compute.Backend, error) {
	disableAutoInstall()
	config := strings.Join(append([]string{plugin}, options...), ",")
	b, err := xla.NewWithOptions(config, nil)
	if err != nil {
		return nil, err // not b: a nil *xla.Backend would make a non-nil interface
	}
	return b, nil
}
