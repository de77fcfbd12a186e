//go:build !xla || !cgo

package backend

import (
	"errors"

	"github.com/gomlx/compute"
)

// XLAAvailable reports whether this binary was built with the XLA backend.
const XLAAvailable = false

func openXLA(plugin string, options []string) (compute.Backend, error) {
	return nil, errors.New("backend xla: this infty binary was built without XLA support; " +
		"rebuild it with `CGO_ENABLED=1 go build -tags xla` to use PJRT plugins")
}
