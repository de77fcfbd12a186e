// Package avx2dot keeps the pure-Go backend's AVX-512 kernels switched off unless
// GOMLX_GO_SIMD_AVX512 says otherwise, so that a machine with AVX-512 runs the AVX2 kernels
// that infty's weight layout is built for.
//
// Why: the backend picks its direct (unpacked) matrix kernel only for a product under 4M
// multiply-adds. Its AVX2 router counts one batch entry, its AVX-512 router the whole batch.
// Decoding stores each large weight in row blocks (kernels.DecodeShape), one batch entry a
// block, so that every entry stays under the bound; under AVX-512 the whole product is over
// it, and every decode step packs every weight again for the GEMM kernel. On a 2-core Xeon with
// AVX-512 that made one stream of the 1.5B shape 3× slower (1.35 tok/s against 4.17) and 8
// streams 1.8× (9.6 against 17.3); the tiny model's one stream 1.2× (README, "CPU kernels and AVX-512").
//
// The backend reads the variable once, while its packages are initialized, so setting it
// later does nothing. This package imports only os and sorts by import path before k8s.io/klog,
// which the backend imports: under Go's initialization order (by import path, each package
// as soon as its imports are), it is initialized before klog and so before the backend, in any
// binary that links it. TestAVX512KernelsOff fails if that stops being so.
package avx2dot

import "os"

// Env is the backend's switch for its AVX-512 kernels.
const Env = "GOMLX_GO_SIMD_AVX512"

// SetByUser reports whether Env was already set when infty started, and so left alone. An
// empty value counts as unset, as the backend reads it.
var SetByUser = os.Getenv(Env) != ""

func init() {
	if !SetByUser {
		os.Setenv(Env, "false")
	}
}
