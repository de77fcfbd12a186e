package safetensors

import (
	"encoding/binary"
	"fmt"
	"math"
)

// Float32 converts the tensor's data to float32. F32, BF16 and F16 convert
// exactly (every BF16 and F16 value is representable in float32, subnormals,
// infinities and NaNs included); other dtypes are an error.
func (t Tensor) Float32() ([]float32, error) {
	n := t.NumElements()
	size, ok := dtypeSizes[t.DType]
	if !ok {
		return nil, fmt.Errorf("%s: tensor %q: unknown dtype %q", t.File, t.Name, t.DType)
	}
	if len(t.Data) != n*size {
		return nil, fmt.Errorf("%s: tensor %q: %d bytes of data for shape %v of %s", t.File, t.Name, len(t.Data), t.Shape, t.DType)
	}
	out := make([]float32, n)
	if err := t.DecodeFloat32(out, 0); err != nil {
		return nil, err
	}
	return out, nil
}

// DecodeFloat32 widens elements start … start+len(dst)−1 of the tensor into dst, exactly as
// Float32 does, so that a large tensor can be converted a row at a time.
func (t Tensor) DecodeFloat32(dst []float32, start int) error {
	size, ok := dtypeSizes[t.DType]
	if ok && (start < 0 || (start+len(dst))*size > len(t.Data)) {
		return fmt.Errorf("%s: tensor %q: elements %d to %d beyond its %d bytes of %s", t.File, t.Name, start, start+len(dst)-1, len(t.Data), t.DType)
	}
	switch src := t.Data[start*size:]; t.DType {
	case "F32":
		for i := range dst {
			dst[i] = math.Float32frombits(binary.LittleEndian.Uint32(src[4*i:]))
		}
	case "BF16":
		for i := range dst {
			dst[i] = BF16ToFloat32(binary.LittleEndian.Uint16(src[2*i:]))
		}
	case "F16":
		for i := range dst {
			dst[i] = F16ToFloat32(binary.LittleEndian.Uint16(src[2*i:]))
		}
	default:
		return fmt.Errorf("%s: tensor %q: cannot convert dtype %s to float32 (F32, BF16 and F16 are supported)", t.File, t.Name, t.DType)
	}
	return nil
}

// BF16ToFloat32 widens a bfloat16 bit pattern; bfloat16 is the upper half of
// a float32, so this is exact.
func BF16ToFloat32(h uint16) float32 {
	return math.Float32frombits(uint32(h) << 16)
}

// Float32ToBF16 rounds to the nearest bfloat16, ties to even (what PyTorch's
// .to(torch.bfloat16) does); NaN stays NaN.
func Float32ToBF16(f float32) uint16 {
	b := math.Float32bits(f)
	if b&0x7fffffff > 0x7f800000 { // NaN: keep it quiet and a NaN after truncation
		return uint16(b>>16) | 0x40
	}
	b += 0x7fff + (b>>16)&1
	return uint16(b >> 16)
}

// F16ToFloat32 widens an IEEE 754 binary16 bit pattern exactly.
func F16ToFloat32(h uint16) float32 {
	sign := uint32(h>>15) << 31
	exp := uint32(h>>10) & 0x1f
	mant := uint32(h) & 0x3ff
	switch {
	case exp == 0x1f: // inf or NaN; the payload moves up with the mantissa
		return math.Float32frombits(sign | 0x7f800000 | mant<<13)
	case exp != 0: // normal: rebias 15 → 127
		return math.Float32frombits(sign | (exp+112)<<23 | mant<<13)
	case mant == 0:
		return math.Float32frombits(sign)
	default: // subnormal: mant × 2^-24, exact in float32
		v := float32(mant) * (1.0 / (1 << 24))
		if sign != 0 {
			v = -v
		}
		return v
	}
}
