package backend

import (
	"fmt"
	"os"

	"golang.org/x/sys/cpu"

	"github.com/infty-dev/infty/runtime/backend/avx2dot"
)

// GoKernels says which SIMD kernels the pure-Go backend runs in this process, for `infty
// backend`: decode speed differs several times between them.
func GoKernels() string {
	switch {
	case !simdBuilt:
		return "portable Go (built without GOEXPERIMENT=simd, so no AVX2 or AVX-512 kernels)"
	case cpu.X86.HasAVX512F && avx2dot.SetByUser:
		return fmt.Sprintf("AVX2, and AVX-512 as %s=%s says", avx2dot.Env, os.Getenv(avx2dot.Env))
	case cpu.X86.HasAVX512F:
		return fmt.Sprintf("AVX2; this CPU's AVX-512 kernels are off, as they decode 3× slower (%s=true turns them on)", avx2dot.Env)
	case cpu.X86.HasAVX2:
		return "AVX2"
	default:
		return "portable Go (this CPU has no AVX2)"
	}
}
