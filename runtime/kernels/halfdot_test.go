package kernels

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/gomlx/compute/dtypes"
	"github.com/gomlx/compute/dtypes/bfloat16"
	"github.com/gomlx/gomlx/core/graph"
	"github.com/gomlx/gomlx/core/tensors"
	"github.com/infty-dev/infty/runtime/backend"
)

// decodeShape is one matrix-vector product of the decoding path: x [rows, in] times a weight
// stored as p row blocks [p, out/p, in].
type decodeShape struct{ p, rows, outPerBlock, in int }

var decodeShapes = []decodeShape{{2, 1, 32, 64}, {3, 1, 40, 96}, {2, 4, 24, 50}, {1, 1, 8, 16}}

// bf16Inputs returns x and the weight blocks rounded to bfloat16, and their product
// sum_k x[r,k]·w[b,o,k] computed in float64 from those rounded values: the exact answer a
// Float32-accumulating bfloat16 product should match to float32 rounding.
func bf16Inputs(s decodeShape, seed uint64) (x, w []bfloat16.BFloat16, want []float64) {
	rng := rand.New(rand.NewPCG(seed, 7))
	round := func(n int) []bfloat16.BFloat16 {
		v := make([]bfloat16.BFloat16, n)
		for i := range v {
			v[i] = bfloat16.FromFloat32(float32(rng.NormFloat64()))
		}
		return v
	}
	x, w = round(s.rows*s.in), round(s.p*s.outPerBlock*s.in)
	want = make([]float64, s.p*s.rows*s.outPerBlock) // [p, rows, out/p]
	for b := range s.p {
		for r := range s.rows {
			for o := range s.outPerBlock {
				sum := 0.0
				for k := range s.in {
					sum += float64(x[r*s.in+k].Float32()) * float64(w[(b*s.outPerBlock+o)*s.in+k].Float32())
				}
				want[(b*s.rows+r)*s.outPerBlock+o] = sum
			}
		}
	}
	return x, w, want
}

// exactLinear is x [rows, in] times the transpose of w [out, in], plus bias where it is not
// nil, summed in float64: what a Float32-accumulating Linear should match to Float32 rounding.
func exactLinear[W float32 | float64](x []float32, w []W, bias []float32, rows, out, in int) []float64 {
	want := make([]float64, rows*out)
	for r := range rows {
		for o := range out {
			sum := 0.0
			if bias != nil {
				sum = float64(bias[o])
			}
			for k := range in {
				sum += float64(x[r*in+k]) * float64(w[o*in+k])
			}
			want[r*out+o] = sum
		}
	}
	return want
}

// maxRelErr is the largest |got-want| relative to the largest |want|.
func maxRelErr(got []float32, want []float64) float64 {
	worst, scale := 0.0, 0.0
	for i := range want {
		worst = max(worst, math.Abs(float64(got[i])-want[i]))
		scale = max(scale, math.Abs(want[i]))
	}
	return worst / scale
}

// TestHalfDotKernel guards the backend kernel the decoding path relies on: a BFloat16
// DotGeneral [p, rows, in]·[p, out/p, in] → Float32 (batch p, contracting in), as Linear
// issues for row blocks, against the same product computed from the same bfloat16 values in
// float64. gomlx/compute v0.1.2 under GOEXPERIMENT=simd got it wrong (relative error ~0.5 for
// every in >= 16: its AVX2 kernel multiplied only half the terms), which infty worked around
// by storing column blocks; v0.1.14's kernel is right, and this test says so if it regresses.
func TestHalfDotKernel(t *testing.T) {
	be, err := backend.Open("")
	if err != nil {
		t.Fatal(err)
	}
	for i, s := range decodeShapes {
		x, w, want := bf16Inputs(s, uint64(i))
		exec, err := graph.NewExec(be, func(x, w *graph.Node) *graph.Node {
			xs := graph.BroadcastToDims(graph.Reshape(x, 1, s.rows, s.in), s.p, s.rows, s.in)
			return graph.Dot(xs, w).WithAccumulatorDType(dtypes.Float32).WithOutputDType(dtypes.Float32).
				General([]int{2}, []int{0}, []int{2}, []int{0})
		})
		if err != nil {
			t.Fatal(err)
		}
		out, err := exec.Call(tensors.FromFlatDataAndDimensions(x, s.rows, s.in),
			tensors.FromFlatDataAndDimensions(w, s.p, s.outPerBlock, s.in))
		if err != nil {
			t.Fatal(err)
		}
		if e := maxRelErr(tensors.MustCopyFlatData[float32](out[0]), want); e > 1e-5 {
			t.Errorf("%+v: BFloat16 DotGeneral relative error %.3g > 1e-5", s, e)
		}
	}
}

// TestLinear checks Linear, the product the model uses, with Float32 and bfloat16 weights,
// stored as row blocks and as plain [out, in] matrices, against the float64 product of the
// same bfloat16 values (x holds bfloat16 values, so rounding it loses nothing). The shapes
// take each of Linear's paths: a small Float32 weight multiplied x first (several rows), a
// product small enough for one unpacked matrix-vector product, row blocks as batch entries
// ({2, 1, 1024, 2100} and {4, 3, 512, 2100} are over the unpacked size as one matrix), a split
// inside the graph, and the packed matrix-matrix product.
func TestLinear(t *testing.T) {
	be, err := backend.Open("")
	if err != nil {
		t.Fatal(err)
	}
	shapes := append(slices.Clone(decodeShapes), decodeShape{2, 1, 1024, 2100}, decodeShape{2, 3, 1024, 2100}, decodeShape{4, 3, 512, 2100})
	for i, s := range shapes {
		x, w, want := bf16Inputs(s, uint64(i))
		xf := make([]float32, len(x))
		for j, v := range x {
			xf[j] = v.Float32()
		}
		wf := make([]float32, len(w))
		for j, v := range w {
			wf[j] = v.Float32()
		}
		// Linear returns [rows, p·out/p]; want is [p, rows, out/p].
		ordered := make([]float64, len(want))
		for b := range s.p {
			for r := range s.rows {
				for o := range s.outPerBlock {
					ordered[r*s.p*s.outPerBlock+b*s.outPerBlock+o] = want[(b*s.rows+r)*s.outPerBlock+o]
				}
			}
		}
		out := s.p * s.outPerBlock
		weights := map[string]*tensors.Tensor{
			"bf16 blocks": tensors.FromFlatDataAndDimensions(w, s.p, s.outPerBlock, s.in),
			"bf16 matrix": tensors.FromFlatDataAndDimensions(w, out, s.in),
			"f32 blocks":  tensors.FromFlatDataAndDimensions(wf, s.p, s.outPerBlock, s.in),
			"f32 matrix":  tensors.FromFlatDataAndDimensions(wf, out, s.in),
		}
		for name, weight := range weights {
			exec, err := graph.NewExec(be, func(x, w *graph.Node) *graph.Node { return Linear(x, w, nil) })
			if err != nil {
				t.Fatal(err)
			}
			res, err := exec.Call(tensors.FromFlatDataAndDimensions(xf, s.rows, s.in), weight)
			if err != nil {
				t.Fatalf("%+v %s: %v", s, name, err)
			}
			if got := res[0].Shape(); got.DType != dtypes.Float32 || !slices.Equal(got.Dimensions, []int{s.rows, out}) {
				t.Fatalf("%+v %s: Linear gave %s", s, name, got)
			}
			if e := maxRelErr(tensors.MustCopyFlatData[float32](res[0]), ordered); e > 1e-5 {
				t.Errorf("%+v %s: Linear relative error %.3g > 1e-5", s, name, e)
			}
			exec.Finalize()
		}
	}
}
