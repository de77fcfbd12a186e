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

// store lays out w, a row-major [out, in] matrix, as DecodeShape says the runtime stores it.
func store[T float32 | bfloat16.BFloat16](w []T, out, in int) *tensors.Tensor {
	dtype := dtypes.Float32
	if _, half := any(w).([]bfloat16.BFloat16); half {
		dtype = dtypes.BFloat16
	}
	return storeAs(w, DecodeShape(out, in, dtype))
}

// storeAs lays out w, a row-major matrix, in shape, one of DecodeShape's.
func storeAs[T float32 | bfloat16.BFloat16](w []T, shape []int) *tensors.Tensor {
	laid := make([]T, len(w))
	StoredRuns(shape, func(dst, src, n int) { copy(laid[dst:dst+n], w[src:src+n]) })
	return tensors.FromFlatDataAndDimensions(laid, shape...)
}

// TestDecodeShape pins the layouts chosen for DeepSeek-R1-Distill-Qwen-1.5B's matrices and the
// rules behind them on others: a part or block's product with MaxBlockRows rows stays under the
// backend's unpacked size, the shape holds every element, and only a weight wider than tall and
// too big for the cache is split along its contraction, into parts of at least
// minContractionPart and at most out.
func TestDecodeShape(t *testing.T) {
	for _, c := range []struct {
		out, in int
		want    []int
	}{
		{1536, 8960, []int{7, 8, 192, 1280}}, // down_proj
		{8960, 1536, []int{56, 160, 1536}},   // gate_proj, up_proj
		{1536, 1536, []int{12, 128, 1536}},   // q_proj, o_proj
		{64, 256, []int{2, 32, 256}},         // the embedded model's down_proj stays in cache
		{40, 20, []int{2, 20, 20}},
		{7, 20, []int{7, 1, 20}},
		{300000, 600000, []int{300000, 600000}}, // parts of 300000 too long even for one-row blocks
	} {
		if got := DecodeShape(c.out, c.in, dtypes.Float32); !slices.Equal(got, c.want) {
			t.Errorf("DecodeShape(%d, %d) = %v, want %v", c.out, c.in, got, c.want)
		}
	}
	for _, c := range [][2]int{{1536, 8960}, {3584, 18944}, {896, 4864}, {2048, 11008}, {512, 4096}, {600, 1800}, {1000, 7919}, {8960, 1536}, {3584, 3584}, {151936, 1536}, {64, 4096}} {
		out, in := c[0], c[1]
		shape := DecodeShape(out, in, dtypes.Float32)
		if half := DecodeShape(out, in, dtypes.BFloat16); len(half) == 4 {
			t.Errorf("DecodeShape(%d, %d, BFloat16) = %v: parts", out, in, half)
		}
		size := 1
		for _, d := range shape {
			size *= d
		}
		part := shape[len(shape)-1]
		perBlock := 1
		if len(shape) > 2 {
			perBlock = shape[len(shape)-2]
		}
		switch {
		case size != out*in:
			t.Errorf("DecodeShape(%d, %d) = %v holds %d elements", out, in, shape, size)
		case len(shape) == 4 && (in <= out || part > out || part < minContractionPart):
			t.Errorf("DecodeShape(%d, %d) = %v: parts of %d", out, in, shape, part)
		case len(shape) > 2 && MaxBlockRows*perBlock*part >= smallMatmulSize:
			t.Errorf("DecodeShape(%d, %d) = %v: blocks too big for the unpacked product", out, in, shape)
		}
	}
}

// TestLinearParts checks Linear on weights split along their contraction, Float32 and
// bfloat16 (which the runtime keeps in row blocks, but Linear takes either way), against the float64 product of the same bfloat16 values, with few rows (each part's
// row blocks as batch entries) and many (one matrix product a part), and x with a leading batch
// axis as the model passes it.
func TestLinearParts(t *testing.T) {
	be, err := backend.Open("")
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(3, 4))
	for _, c := range [][2]int{{512, 4096}, {600, 1800}} {
		out, in := c[0], c[1]
		shape := DecodeShape(out, in, dtypes.Float32)
		if len(shape) != 4 {
			t.Fatalf("DecodeShape(%d, %d) = %v, want parts", out, in, shape)
		}
		w := make([]bfloat16.BFloat16, out*in)
		wf := make([]float32, len(w))
		for i := range w {
			w[i] = bfloat16.FromFloat32(float32(rng.NormFloat64()))
			wf[i] = w[i].Float32()
		}
		for _, rows := range []int{1, 2, 3, 8, 16, 17, 40} {
			xf := make([]float32, rows*in)
			for i := range xf {
				xf[i] = bfloat16.FromFloat32(float32(rng.NormFloat64())).Float32()
			}
			want := exactLinear(xf, wf, nil, rows, out, in)
			for name, weight := range map[string]*tensors.Tensor{"f32": storeAs(wf, shape), "bf16": storeAs(w, shape)} {
				exec, err := graph.NewExec(be, func(x, w *graph.Node) *graph.Node { return Linear(x, w, nil) })
				if err != nil {
					t.Fatal(err)
				}
				res, err := exec.Call(tensors.FromFlatDataAndDimensions(xf, 1, rows, in), weight)
				if err != nil {
					t.Fatalf("%dx%d, %d rows, %s: %v", out, in, rows, name, err)
				}
				if got := res[0].Shape(); got.DType != dtypes.Float32 || !slices.Equal(got.Dimensions, []int{1, rows, out}) {
					t.Fatalf("%dx%d, %d rows, %s: Linear gave %s", out, in, rows, name, got)
				}
				if e := maxRelErr(tensors.MustCopyFlatData[float32](res[0]), want); e > 1e-5 {
					t.Errorf("%dx%d, %d rows, %s: relative error %.3g > 1e-5", out, in, rows, name, e)
				}
				exec.Finalize()
			}
		}
	}
}
