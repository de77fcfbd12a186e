package kernels

import (
	"math"
	"math/rand/v2"
	"os"
	"testing"

	"github.com/gomlx/compute/dtypes"
	"github.com/gomlx/compute/dtypes/bfloat16"
	"github.com/gomlx/compute/shapes"
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

// maxRelErr is the largest |got-want| relative to the largest |want|.
func maxRelErr(got []float32, want []float64) float64 {
	worst, scale := 0.0, 0.0
	for i := range want {
		worst = max(worst, math.Abs(float64(got[i])-want[i]))
		scale = max(scale, math.Abs(want[i]))
	}
	return worst / scale
}

// TestHalfDotKernel is the reproduction of the backend fault that HalfDotFaulty detects: a
// BFloat16 DotGeneral [p, rows, in]·[p, out/p, in] → Float32 (batch p, contracting in), as
// Linear issues when decoding, against the same product computed from the same bfloat16
// values in float64. With gomlx/compute v0.1.2 under GOEXPERIMENT=simd the relative error is
// ~0.5 for every in >= 16. The test fails when the kernel is wrong and HalfDotFaulty does not
// say so; INFTY_STRICT_HALF_DOT=1 makes it fail whenever the kernel is wrong.
func TestHalfDotKernel(t *testing.T) {
	be, err := backend.Open("")
	if err != nil {
		t.Fatal(err)
	}
	faulty := HalfDotFaulty(be, dtypes.BFloat16)
	t.Logf("HalfDotFaulty(%s, BFloat16) = %v, ColumnBlocks = %v", be.Name(), faulty, ColumnBlocks(be, dtypes.BFloat16))
	wrong := false
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
		out, err := exec.Exec(tensors.FromFlatDataAndDimensions(x, s.rows, s.in),
			tensors.FromFlatDataAndDimensions(w, s.p, s.outPerBlock, s.in))
		if err != nil {
			t.Fatal(err)
		}
		got := tensors.MustCopyFlatData[float32](out[0])
		e := maxRelErr(got, want)
		t.Logf("%+v: BFloat16 DotGeneral relative error %.3g", s, e)
		if ColumnBlocks(be, dtypes.BFloat16) { // the workaround's layout must be right
			cexec, err := graph.NewExec(be, func(x, w *graph.Node) *graph.Node {
				xs := graph.BroadcastToDims(graph.Reshape(x, 1, s.rows, s.in), s.p, s.rows, s.in)
				return graph.Dot(xs, w).WithAccumulatorDType(dtypes.Float32).WithOutputDType(dtypes.Float32).
					General([]int{2}, []int{0}, []int{1}, []int{0})
			})
			if err != nil {
				t.Fatal(err)
			}
			cout, err := cexec.Exec(tensors.FromFlatDataAndDimensions(x, s.rows, s.in),
				tensors.FromFlatDataAndDimensions(columnBlocks(w, s), s.p, s.in, s.outPerBlock))
			if err != nil {
				t.Fatal(err)
			}
			if ce := maxRelErr(tensors.MustCopyFlatData[float32](cout[0]), want); ce > 1e-5 {
				t.Errorf("%+v: column-block BFloat16 DotGeneral relative error %.3g > 1e-5", s, ce)
			}
		}
		if e > 1e-5 {
			wrong = true
			if !faulty || os.Getenv("INFTY_STRICT_HALF_DOT") == "1" {
				t.Errorf("%+v: BFloat16 DotGeneral relative error %.3g > 1e-5 (HalfDotFaulty = %v)", s, e, faulty)
			}
		}
	}
	if faulty && !wrong {
		t.Errorf("HalfDotFaulty says the kernel is wrong but every decode-shaped product was right")
	}
}

// columnBlocks turns row blocks [p, out/p, in] into column blocks [p, in, out/p].
func columnBlocks(w []bfloat16.BFloat16, s decodeShape) []bfloat16.BFloat16 {
	c := make([]bfloat16.BFloat16, len(w))
	for b := range s.p {
		for o := range s.outPerBlock {
			for k := range s.in {
				c[(b*s.in+k)*s.outPerBlock+o] = w[(b*s.outPerBlock+o)*s.in+k]
			}
		}
	}
	return c
}

// TestLinearHalfWeights checks Linear, the product the model uses, with bfloat16 row-block
// weights (in the layout ColumnBlocks picks) against the float64 product of the same
// bfloat16 values; x holds bfloat16 values, so rounding it loses nothing.
func TestLinearHalfWeights(t *testing.T) {
	be, err := backend.Open("")
	if err != nil {
		t.Fatal(err)
	}
	for i, s := range decodeShapes {
		x, w, want := bf16Inputs(s, uint64(i))
		xf := make([]float32, len(x))
		for j, v := range x {
			xf[j] = v.Float32()
		}
		exec, err := graph.NewExec(be, func(x, w *graph.Node) *graph.Node { return Linear(x, w, nil) })
		if err != nil {
			t.Fatal(err)
		}
		weight := tensors.FromFlatDataAndDimensions(w, s.p, s.outPerBlock, s.in)
		if ColumnBlocks(be, dtypes.BFloat16) {
			weight = tensors.FromFlatDataAndDimensions(columnBlocks(w, s), s.p, s.in, s.outPerBlock)
		}
		out, err := exec.Exec(tensors.FromFlatDataAndDimensions(xf, s.rows, s.in), weight)
		if err != nil {
			t.Fatal(err)
		}
		if got := out[0].Shape(); !got.Equal(shapes.Make(dtypes.Float32, s.rows, s.p*s.outPerBlock)) {
			t.Fatalf("%+v: Linear gave %s", s, got)
		}
		got := tensors.MustCopyFlatData[float32](out[0])
		// Linear returns [rows, p·out/p]; want is [p, rows, out/p].
		ordered := make([]float64, len(want))
		for b := range s.p {
			for r := range s.rows {
				for o := range s.outPerBlock {
					ordered[r*s.p*s.outPerBlock+b*s.outPerBlock+o] = want[(b*s.rows+r)*s.outPerBlock+o]
				}
			}
		}
		if e := maxRelErr(got, ordered); e > 1e-5 {
			t.Errorf("%+v: Linear with bfloat16 weights, relative error %.3g > 1e-5", s, e)
		}
	}
}
