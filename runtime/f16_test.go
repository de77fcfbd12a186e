package runtime

import (
	"encoding/binary"
	"math"
	"path/filepath"
	"testing"

	"github.com/infty-dev/infty/runtime/safetensors"
)

// toF16 rounds a float32 to IEEE binary16 (round half to even, subnormals kept), enough to
// write test checkpoints in F16.
func toF16(f float32) uint16 {
	b := math.Float32bits(f)
	sign := uint16(b>>16) & 0x8000
	a := math.Abs(float64(f))
	switch {
	case a == 0:
		return sign
	case a >= 65520:
		return sign | 0x7c00
	case a < math.Ldexp(1, -14): // subnormal: units of 2^-24
		return sign | uint16(math.RoundToEven(a/math.Ldexp(1, -24)))
	}
	frac, exp := math.Frexp(a) // a = frac·2^exp, frac in [0.5,1)
	m := math.RoundToEven((frac*2 - 1) * 1024)
	e := exp - 1 + 15
	if m == 1024 {
		m, e = 0, e+1
	}
	return sign | uint16(e)<<10 | uint16(m)
}

func TestF16Checkpoint(t *testing.T) {
	for _, f := range []float32{1, -2.5, 0.0001, 6e-8, 65504} {
		if back := safetensors.F16ToFloat32(toF16(f)); math.Abs(float64(back-f)) > max(math.Abs(float64(f))*1e-3, math.Ldexp(1, -25)) {
			t.Fatalf("toF16(%v) reads back as %v", f, back)
		}
	}
	dir := copyModel(t, "qwen2-tiny-f32")
	rewrite(t, dir, func(ts []safetensors.WriteTensor) []safetensors.WriteTensor {
		for i, x := range ts {
			data := make([]byte, len(x.Data)/2)
			for j := range len(x.Data) / 4 {
				f := math.Float32frombits(binary.LittleEndian.Uint32(x.Data[4*j:]))
				binary.LittleEndian.PutUint16(data[2*j:], toF16(f))
			}
			ts[i].DType, ts[i].Data = "F16", data
		}
		return ts
	})
	ref := readReference(t, "qwen2-tiny")
	want, err := loadModel(t, "qwen2-tiny-f32").Logits(ref.PromptIDs)
	if err != nil {
		t.Fatal(err)
	}
	for _, dt := range []string{"f32", "bf16", "q8"} {
		m, err := Load(filepath.Clean(dir), WithWeightDType(dt))
		if err != nil {
			t.Fatal(err)
		}
		got, err := m.Logits(ref.PromptIDs)
		m.Close()
		if err != nil {
			t.Fatal(err)
		}
		// F16 keeps 11 significant bits of each weight (bf16 keeps 8): logits stay close to
		// the F32 checkpoint's, but not equal. q8 is quantized from the F16 values (see
		// q8Tolerance for how far it moves these logits).
		worst := 0.0
		for i := range want {
			w := make([]float64, len(want[i]))
			for j, v := range want[i] {
				w[j] = float64(v)
			}
			worst = max(worst, relErr(got[i], w))
		}
		if limit := map[string]float64{"f32": 5e-3, "bf16": 6e-2, "q8": q8Tolerance["qwen2-tiny"]}[dt]; worst > limit || worst == 0 {
			t.Errorf("F16 checkpoint as %s: relative error %.3g vs the F32 checkpoint, want in (0, %g]", dt, worst, limit)
		}
		t.Logf("F16 checkpoint as %s: relative error %.3g", dt, worst)
	}
}
