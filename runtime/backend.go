package runtime

import (
	"github.com/gomlx/compute"
	"github.com/infty-dev/infty/runtime/backend"
)

// openBackend is the single place the model picks its compute backend: spec "" means
// $INFTY_BACKEND, and when that is empty too, the pure-Go backend (see backend.Open).
func openBackend(spec string) (compute.Backend, error) { return backend.Open(spec) }
