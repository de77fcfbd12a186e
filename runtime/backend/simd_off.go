//go:build !goexperiment.simd

package backend

const simdBuilt = false
