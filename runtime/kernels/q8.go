package kernels

import (
	"encoding/binary"
	"fmt"
	"math"

	"github.com/gomlx/compute"
	"github.com/gomlx/compute/dtypes"
	"github.com/gomlx/compute/dtypes/float16"
	. "github.com/gomlx/gomlx/core/graph" //nolint:revive // graph math reads like the formulas
	"github.com/gomlx/gomlx/ml/nn"
)

// Q8_0 is GGML's 8-bit block format, which the runtime's q8 weight option keeps matrices in:
// each run of Q8Values consecutive values along a row (the input dimension of an [out, in]
// weight) becomes one block of Q8Bytes bytes, a float16 scale d = max|x|/127 followed by
// the 32 values as int8 round(x/d), so that x ≈ d·q. A matrix is then [out, in/32·34] Uint8,
// the layout the backend's quantized dense product and quantized gather read as they are.
const (
	Q8Values = 32
	Q8Bytes  = 2 + Q8Values
)

// Q8RowBytes is the size of a row of in values in Q8_0; in must be a multiple of Q8Values.
func Q8RowBytes(in int) int { return in / Q8Values * Q8Bytes }

// QuantizeQ8 writes src (a multiple of Q8Values long) into dst (Q8RowBytes(len(src)) bytes)
// in Q8_0, exactly as llama.cpp's reference quantizer does: the int8 values are rounded half
// away from zero from x·(127/max|x|) computed in float32, and the scale is then stored rounded
// to float16. An all-zero block has scale 0. A block whose scale float16 cannot hold (a value
// beyond ±8.3e6) or that holds NaN or ±Inf is an error rather than a block of garbage.
func QuantizeQ8(dst []byte, src []float32) error {
	if len(src)%Q8Values != 0 || len(dst) != Q8RowBytes(len(src)) {
		return fmt.Errorf("q8: %d values into %d bytes: want a multiple of %d values and %d bytes per %d", len(src), len(dst), Q8Values, Q8Bytes, Q8Values)
	}
	for b := range len(src) / Q8Values {
		x, blk := src[b*Q8Values:(b+1)*Q8Values], dst[b*Q8Bytes:(b+1)*Q8Bytes]
		var amax float32
		for _, v := range x {
			amax = max(amax, float32(math.Abs(float64(v))))
		}
		d := amax / 127
		half := float16.FromFloat32(d)
		if math.IsNaN(float64(amax)) || math.IsInf(float64(half.Float32()), 0) {
			return fmt.Errorf("q8: block %d (values %d to %d) has max |x| %g, which Q8_0's float16 scale cannot represent", b, b*Q8Values, (b+1)*Q8Values-1, amax)
		}
		binary.LittleEndian.PutUint16(blk, half.Bits())
		var inv float32
		if d != 0 {
			inv = 1 / d
		}
		for i, v := range x {
			blk[2+i] = byte(int8(math.Round(float64(v * inv))))
		}
	}
	return nil
}

// q8Quantization describes a Q8_0 matrix to GoMLX's quantized ops.
var q8Quantization = &Quantization{Scheme: compute.QuantGGML, GGMLType: compute.GGMLQ8_0}

// isQ8 reports whether a weight is a Q8_0 matrix (see Q8Values): weights of any other
// option are floating point.
func isQ8(w *Node) bool { return w.DType() == dtypes.Uint8 }

// linearQ8 is Linear for a Q8_0 weight [out, in/32·34], through the backend's fused Q8_0
// product for any number of rows of x. That kernel dequantizes the weight once per row of x,
// so prefill costs as much per token as decoding; the alternative, GoMLX's decomposed
// dequantize-then-multiply (ggml.DenseDecomposed), is faster per prefill token, but with it
// the q8 benchmark of the 1.5B shape was killed for memory at 15 GB, more than f32 takes:
// the Float32 copies of many matrices were alive at once.
func linearQ8(x, weight, bias *Node) *Node {
	return nn.QuantizedDense(matchDType(x, dtypes.Float32), weight, q8Quantization, bias)
}

// embedQ8 is Embed for a Q8_0 table [vocab, hidden/32·34]: only the rows looked up are
// dequantized.
func embedQ8(table, ids *Node) *Node {
	return nn.QuantizedGather(table, InsertAxes(ids, -1), q8Quantization)
}
