package kernels

import (
	"encoding/binary"
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/gomlx/compute/dtypes/bfloat16"
	"github.com/gomlx/compute/dtypes/float16"
	"github.com/gomlx/gomlx/core/graph"
	"github.com/gomlx/gomlx/core/tensors"
	"github.com/infty-dev/infty/runtime/backend"
)

// TestQuantizeQ8Block checks the Q8_0 convention on blocks whose answer is known: scale
// max|x|/127 stored as float16 ahead of the 32 int8 values round(x/scale), rounding half away
// from zero (C's roundf, as llama.cpp); an all-zero block has scale 0 and zeros.
func TestQuantizeQ8Block(t *testing.T) {
	src := make([]float32, 3*Q8Values)
	for i := range Q8Values {
		src[i] = float32(i-16) * 127 / 16   // max |x| = 127: scale exactly 1, x/scale exact
		src[Q8Values+i] = float32(i-16) / 4 // max |x| = 4: scale 4/127 rounded to float16
	}
	// the third block stays zero
	dst := make([]byte, Q8RowBytes(len(src)))
	if err := QuantizeQ8(dst, src); err != nil {
		t.Fatal(err)
	}
	if got := binary.LittleEndian.Uint16(dst); got != float16.FromFloat32(1).Bits() {
		t.Errorf("block 0: scale bits %#x, want float16 1.0", got)
	}
	for i := range Q8Values {
		want := int8((i - 16) * 127 / 16) // truncated toward zero …
		if (i-16)*127%16 != 0 && (i-16)*127%16*2/16 != 0 {
			want += int8(math.Copysign(1, float64(i-16))) // … then away from zero from .5 up
		}
		if got := int8(dst[2+i]); got != want {
			t.Errorf("block 0, value %d (%g): quantized %d, want %d", i, src[i], got, want)
		}
	}
	if q := [2]int8{int8(dst[2+8]), int8(dst[2+24])}; q != [2]int8{-64, 64} {
		t.Errorf("±63.5 quantized to %v, want [-64 64] (half away from zero)", q)
	}

	blk := dst[Q8Bytes:]
	if want := float16.FromFloat32(4.0 / 127).Bits(); binary.LittleEndian.Uint16(blk) != want {
		t.Errorf("block 1: scale bits %#x, want %#x (float16 of 4/127)", binary.LittleEndian.Uint16(blk), want)
	}
	d := float16.FromBits(binary.LittleEndian.Uint16(blk)).Float32()
	for i := range Q8Values {
		// Within half a step, plus the float16 rounding of the scale (2⁻¹¹ of max|x|).
		x := src[Q8Values+i]
		if back := d * float32(int8(blk[2+i])); math.Abs(float64(back-x)) > float64(d)/2+4*math.Ldexp(1, -11) {
			t.Errorf("block 1, value %d: %g comes back as %g", i, x, back)
		}
	}
	if int8(blk[2]) != -127 {
		t.Errorf("block 1: the largest |x| quantized to %d, want -127", int8(blk[2]))
	}
	for i, b := range dst[2*Q8Bytes:] {
		if b != 0 {
			t.Errorf("zero block: byte %d is %#x, want 0", i, b)
		}
	}
}

func TestQuantizeQ8Refuses(t *testing.T) {
	for name, c := range map[string]struct {
		src  []float32
		dst  int
		want string
	}{
		"not a whole block": {make([]float32, 40), Q8Bytes, "multiple of 32"},
		"short dst":         {make([]float32, 32), Q8Bytes - 1, "multiple of 32"},
		"NaN":               {append(make([]float32, 63), float32(math.NaN())), 2 * Q8Bytes, "block 1 (values 32 to 63)"},
		"Inf":               {append([]float32{float32(math.Inf(-1))}, make([]float32, 31)...), Q8Bytes, "block 0"},
		"beyond float16":    {append([]float32{1e7}, make([]float32, 31)...), Q8Bytes, "cannot represent"},
	} {
		err := QuantizeQ8(make([]byte, c.dst), c.src)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: error %v, want one mentioning %q", name, err, c.want)
		}
	}
}

// q8Matrix quantizes a random [out, in] matrix and returns its Q8_0 rows and the values
// they stand for (d·q), from which the exact product is computed.
func q8Matrix(rng *rand.Rand, out, in int) (rows []byte, values []float64) {
	rows = make([]byte, out*Q8RowBytes(in))
	values = make([]float64, out*in)
	src := make([]float32, in)
	for r := range out {
		for c := range src {
			src[c] = float32(rng.NormFloat64())
		}
		row := rows[r*Q8RowBytes(in) : (r+1)*Q8RowBytes(in)]
		if err := QuantizeQ8(row, src); err != nil {
			panic(err)
		}
		for c := range in {
			blk := row[c/Q8Values*Q8Bytes:]
			values[r*in+c] = float64(float16.FromBits(binary.LittleEndian.Uint16(blk)).Float32()) * float64(int8(blk[2+c%Q8Values]))
		}
	}
	return rows, values
}

// TestLinearQ8 checks Linear and Embed with Q8_0 weights against the float64 product of the
// values the blocks stand for, for decoding-sized and prefill-sized x, with a bias.
func TestLinearQ8(t *testing.T) {
	be, err := backend.Open("")
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(1, 2))
	const out, in = 48, 96
	w, values := q8Matrix(rng, out, in)
	bias := make([]float32, out)
	for i := range bias {
		bias[i] = float32(rng.NormFloat64())
	}
	for _, rows := range []int{1, 2, 9} {
		x := make([]float32, rows*in)
		for i := range x {
			x[i] = float32(rng.NormFloat64())
		}
		want := exactLinear(x, values, bias, rows, out, in)
		exec, err := graph.NewExec(be, func(x, w, b *graph.Node) *graph.Node { return Linear(x, w, b) })
		if err != nil {
			t.Fatal(err)
		}
		res, err := exec.Call(tensors.FromFlatDataAndDimensions(x, 1, rows, in),
			tensors.FromFlatDataAndDimensions(w, out, Q8RowBytes(in)), tensors.FromFlatDataAndDimensions(bias, out))
		if err != nil {
			t.Fatal(err)
		}
		if dims := res[0].Shape().Dimensions; fmt.Sprint(dims) != fmt.Sprint([]int{1, rows, out}) {
			t.Fatalf("%d rows: Linear gave %v", rows, res[0].Shape())
		}
		if e := maxRelErr(tensors.MustCopyFlatData[float32](res[0]), want); e > 1e-5 {
			t.Errorf("%d rows: Linear with Q8_0 weights, relative error %.3g > 1e-5", rows, e)
		}
	}

	ids := []int32{5, 0, 47, 5}
	exec, err := graph.NewExec(be, func(table, ids *graph.Node) *graph.Node { return Embed(table, ids) })
	if err != nil {
		t.Fatal(err)
	}
	res, err := exec.Call(tensors.FromFlatDataAndDimensions(w, out, Q8RowBytes(in)), tensors.FromFlatDataAndDimensions(ids, 2, 2))
	if err != nil {
		t.Fatal(err)
	}
	got := tensors.MustCopyFlatData[float32](res[0])
	if len(got) != len(ids)*in {
		t.Fatalf("Embed gave %v", res[0].Shape())
	}
	for i, id := range ids {
		for k := range in {
			if want := values[int(id)*in+k]; float64(got[i*in+k]) != want {
				t.Fatalf("Embed: row %d value %d is %g, want %g", id, k, got[i*in+k], want)
			}
		}
	}
}

// BenchmarkLinearQ8 times one decoded token's product with a matrix of the 1.5B shape's MLP
// kept as Q8_0, BFloat16 and Float32 (in the layouts the runtime stores), alternating in one
// run so the ratios compare under the same load.
func BenchmarkLinearQ8(b *testing.B) {
	be, err := backend.Open("")
	if err != nil {
		b.Fatal(err)
	}
	const out, in = 8960, 1536
	rng := rand.New(rand.NewPCG(1, 2))
	q8, values := q8Matrix(rng, out, in)
	f32 := make([]float32, len(values))
	for i, v := range values {
		f32[i] = float32(v)
	}
	weights := map[string]*tensors.Tensor{
		"q8":   tensors.FromFlatDataAndDimensions(q8, out, Q8RowBytes(in)),
		"bf16": store(bfloat16.FromFloat32s(f32...), out, in),
		"f32":  store(f32, out, in),
	}
	x := tensors.FromFlatDataAndDimensions(make([]float32, in), 1, in)
	for _, dt := range []string{"q8", "bf16", "f32"} {
		b.Run(dt, func(b *testing.B) {
			exec, err := graph.NewExec(be, func(x, w *graph.Node) *graph.Node { return Linear(x, w, nil) })
			if err != nil {
				b.Fatal(err)
			}
			for b.Loop() {
				res, err := exec.Call(x, weights[dt])
				if err != nil {
					b.Fatal(err)
				}
				res[0].FinalizeAll()
			}
			b.ReportMetric(float64(weights[dt].Shape().ByteSize())/1e6, "weightMB")
		})
	}
}
