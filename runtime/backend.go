package runtime

import (
	"fmt"
	"os"

	"github.com/gomlx/compute"
	"github.com/gomlx/compute/gobackend"
)

// openBackend is the single place a compute backend is chosen, so switching to the shared
// runtime/backend package is a one-line change. spec "" means $INFTY_BACKEND, and when that is
// empty too, the pure-Go backend. Nothing here fetches plugins or touches the network.
func openBackend(spec string) (compute.Backend, error) {
	if spec == "" {
		spec = os.Getenv("INFTY_BACKEND")
	}
	switch spec {
	case "", gobackend.BackendName:
		return gobackend.New("")
	default:
		return nil, fmt.Errorf("backend %q is not available (available: %q)", spec, gobackend.BackendName)
	}
}
