//go:build goexperiment.simd

package backend

// simdBuilt: the pure-Go backend's AVX2 and AVX-512 kernels exist only under GOEXPERIMENT=simd.
const simdBuilt = true
