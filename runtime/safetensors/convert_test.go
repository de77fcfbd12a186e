package safetensors

import (
	"math"
	"strings"
	"testing"
)

// f16Reference decodes binary16 by its definition, in float64, independently
// of the bit manipulation under test.
func f16Reference(h uint16) float64 {
	sign := 1.0
	if h&0x8000 != 0 {
		sign = -1
	}
	exp := int(h>>10) & 0x1f
	mant := float64(h & 0x3ff)
	switch exp {
	case 0x1f:
		if mant == 0 {
			return sign * math.Inf(1)
		}
		return math.NaN()
	case 0:
		return sign * math.Ldexp(mant/1024, -14)
	default:
		return sign * math.Ldexp(1+mant/1024, exp-15)
	}
}

func TestF16AllPatterns(t *testing.T) {
	for i := 0; i < 1<<16; i++ {
		h := uint16(i)
		got := F16ToFloat32(h)
		want := f16Reference(h)
		if math.IsNaN(want) {
			if !math.IsNaN(float64(got)) {
				t.Fatalf("F16 %#04x: got %v, want NaN", h, got)
			}
			continue
		}
		if float64(got) != want || math.Signbit(float64(got)) != math.Signbit(want) {
			t.Fatalf("F16 %#04x: got %v, want %v", h, got, want)
		}
	}
	// Spot values a reader can check by eye.
	for h, want := range map[uint16]float64{0x3c00: 1, 0xc000: -2, 0x7bff: 65504, 0x0001: math.Ldexp(1, -24), 0x0400: math.Ldexp(1, -14), 0x7c00: math.Inf(1), 0xfc00: math.Inf(-1)} {
		if got := F16ToFloat32(h); float64(got) != want {
			t.Errorf("F16 %#04x = %v, want %v", h, got, want)
		}
	}
}

func TestBF16(t *testing.T) {
	for i := 0; i < 1<<16; i++ {
		h := uint16(i)
		f := BF16ToFloat32(h)
		if math.IsNaN(float64(f)) {
			if !math.IsNaN(float64(BF16ToFloat32(Float32ToBF16(f)))) {
				t.Fatalf("BF16 %#04x: NaN lost in round trip", h)
			}
			continue
		}
		if back := Float32ToBF16(f); back != h {
			t.Fatalf("BF16 %#04x → %v → %#04x", h, f, back)
		}
	}
	cases := []struct {
		in   float32
		want float32
	}{
		{1, 1},
		{1 + 1.0/256, 1},                       // tie, rounds to even (down)
		{1 + 3.0/256, 1 + 4.0/256},             // tie, rounds to even (up)
		{1 + 1.0/256 + 1.0/65536, 1 + 2.0/256}, // above the tie
		{-3.140625, -3.140625},
		{math.MaxFloat32, float32(math.Inf(1))}, // overflows on rounding, as in PyTorch
	}
	for _, c := range cases {
		if got := BF16ToFloat32(Float32ToBF16(c.in)); got != c.want {
			t.Errorf("bf16(%v) = %v, want %v", c.in, got, c.want)
		}
	}
	if !math.IsNaN(float64(BF16ToFloat32(Float32ToBF16(math.Float32frombits(0x7f800001))))) {
		t.Error("signalling NaN with low payload became non-NaN")
	}
}

func TestFloat32ChecksLength(t *testing.T) {
	tt := Tensor{Name: "x", DType: "F32", Shape: []int{3}, File: "f.safetensors", Data: make([]byte, 8)}
	if _, err := tt.Float32(); err == nil {
		t.Error("short data accepted")
	}
	tt = Tensor{Name: "x", DType: "F16", Shape: []int{2}, File: "f.safetensors", Data: []byte{0x00, 0x3c, 0x00, 0xbc}}
	v, err := tt.Float32()
	if err != nil || v[0] != 1 || v[1] != -1 {
		t.Errorf("F16 [1,-1] decoded as %v, %v", v, err)
	}
}

// A row decoded alone equals that row of the whole conversion; a range past the data is an
// error naming the tensor, not a panic.
func TestDecodeFloat32Range(t *testing.T) {
	tt := Tensor{Name: "x", DType: "BF16", Shape: []int{2, 3}, File: "f.safetensors", Data: []byte{0x80, 0x3f, 0x00, 0x40, 0x40, 0x40, 0x80, 0x40, 0xa0, 0x40, 0xc0, 0x40}}
	all, err := tt.Float32()
	if err != nil {
		t.Fatal(err)
	}
	row := make([]float32, 3)
	if err := tt.DecodeFloat32(row, 3); err != nil || row[0] != all[3] || row[1] != all[4] || row[2] != all[5] || all[5] != 6 {
		t.Errorf("row 1 decoded as %v (%v), whole tensor %v", row, err, all)
	}
	if err := tt.DecodeFloat32(row, 4); err == nil || !strings.Contains(err.Error(), `"x"`) {
		t.Errorf("a range past the data: %v", err)
	}
}
