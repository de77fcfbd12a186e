package kernels

import (
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/gomlx/compute/dtypes"
	"github.com/gomlx/compute/dtypes/bfloat16"
	"github.com/gomlx/gomlx/core/graph"
	"github.com/gomlx/gomlx/core/tensors"
	"github.com/infty-dev/infty/runtime/backend"
)

// TestCompiledLinear checks the product Linear uses on a compiling backend (XLA), run here on
// the pure-Go one: a weight stored plainly [out, in] or in row blocks [p, out/p, in] (the same
// bytes), Float32 and bfloat16, with and without a bias, against the float64 product of the
// same values, for few rows (x rounded to bfloat16) and many (the weight widened), and x with
// a leading batch axis as the model passes it.
func TestCompiledLinear(t *testing.T) {
	be, err := backend.Open("")
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(5, 6))
	const out, in = 96, 80
	w := make([]bfloat16.BFloat16, out*in)
	wf := make([]float32, len(w))
	for i := range w {
		w[i] = bfloat16.FromFloat32(float32(rng.NormFloat64()))
		wf[i] = w[i].Float32()
	}
	bias := make([]float32, out)
	for i := range bias {
		bias[i] = float32(rng.NormFloat64())
	}
	for _, rows := range []int{1, 3, MaxBlockRows, MaxBlockRows + 1, 40} {
		// bfloat16 values, so that rounding x to a bfloat16 weight's dtype changes nothing.
		xf := make([]float32, rows*in)
		for i := range xf {
			xf[i] = bfloat16.FromFloat32(float32(rng.NormFloat64())).Float32()
		}
		for _, withBias := range []bool{false, true} {
			var added []float32 // the bias the product should carry
			if withBias {
				added = bias
			}
			want := exactLinear(xf, wf, added, rows, out, in)
			for name, weight := range map[string]*tensors.Tensor{
				"f32":         tensors.FromFlatDataAndDimensions(wf, out, in),
				"bf16":        tensors.FromFlatDataAndDimensions(w, out, in),
				"bf16-blocks": tensors.FromFlatDataAndDimensions(w, 4, out/4, in),
			} {
				exec, err := graph.NewExec(be, func(x, w, b *graph.Node) *graph.Node {
					if !withBias {
						b = nil
					}
					return compiledLinear(x, w, b)
				})
				if err != nil {
					t.Fatal(err)
				}
				res, err := exec.Call(tensors.FromFlatDataAndDimensions(xf, 1, rows, in), weight, tensors.FromFlatDataAndDimensions(bias, out))
				if err != nil {
					t.Fatalf("%d rows, %s: %v", rows, name, err)
				}
				if got := res[0].Shape(); got.DType != dtypes.Float32 || !slices.Equal(got.Dimensions, []int{1, rows, out}) {
					t.Fatalf("%d rows, %s: compiledLinear gave %s", rows, name, got)
				}
				if e := maxRelErr(tensors.MustCopyFlatData[float32](res[0]), want); e > 1e-5 {
					t.Errorf("%d rows, %s, bias %v: relative error %.3g > 1e-5", rows, name, withBias, e)
				}
				exec.Finalize()
			}
		}
	}
}
