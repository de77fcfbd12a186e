package train

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"math"
	"math/rand/v2"
	"strings"

	"github.com/gomlx/gomlx/core/tensors"
	"github.com/infty-dev/infty/runtime/arch"
	"github.com/infty-dev/infty/runtime/safetensors"
)

// Params are the model's weights on the host, as float32, in the order of their Specs.
type Params struct {
	Specs []arch.TensorSpec
	Data  [][]float32
}

// Hash identifies the weights: 16 hex digits of a SHA-256 over every tensor's name, shape and
// float32 bits, in order.
func (p *Params) Hash() string {
	h := sha256.New()
	buf := make([]byte, 0, 64<<10)
	for i, s := range p.Specs {
		fmt.Fprintf(h, "%s %v\n", s.Name, s.Shape)
		for _, x := range p.Data[i] {
			if len(buf) == cap(buf) {
				h.Write(buf)
				buf = buf[:0]
			}
			buf = binary.LittleEndian.AppendUint32(buf, math.Float32bits(x))
		}
		h.Write(buf)
		buf = buf[:0]
	}
	return hex.EncodeToString(h.Sum(nil))[:16]
}

// numel is the element count of a shape.
func numel(shape []int) int {
	n := 1
	for _, d := range shape {
		n *= d
	}
	return n
}

// Count is the number of scalar parameters.
func (p *Params) Count() int {
	n := 0
	for _, d := range p.Data {
		n += len(d)
	}
	return n
}

// InitParams draws fresh weights for specs the way transformers initialises Qwen2/Qwen3: every
// matrix and the embedding N(0, std²), biases 0, norm weights 1. The draw depends only on seed.
func InitParams(specs []arch.TensorSpec, seed uint64, std float64) *Params {
	r := rand.New(rand.NewPCG(seed, 0x1417))
	p := &Params{Specs: specs}
	for _, s := range p.Specs {
		d := make([]float32, numel(s.Shape))
		switch {
		case strings.HasSuffix(s.Name, "norm.weight"):
			for i := range d {
				d[i] = 1
			}
		case strings.HasSuffix(s.Name, ".bias"):
		default:
			for i := range d {
				d[i] = float32(r.NormFloat64() * std)
			}
		}
		p.Data = append(p.Data, d)
	}
	return p
}

// LoadParams reads the weights of a model folder (F32, BF16 or F16, sharded or not) as float32.
func LoadParams(dir string, specs []arch.TensorSpec) (*Params, error) {
	set, err := safetensors.OpenFolder(dir)
	if err != nil {
		return nil, err
	}
	defer set.Close()
	p := &Params{Specs: specs}
	for _, s := range p.Specs {
		t, ok := set.Get(s.Name)
		if !ok {
			return nil, fmt.Errorf("%s: tensor %q missing from the checkpoint", dir, s.Name)
		}
		if !sameShape(t.Shape, s.Shape) {
			return nil, fmt.Errorf("%s: tensor %q has shape %v, config.json implies %v", dir, s.Name, t.Shape, s.Shape)
		}
		d, err := t.Float32()
		if err != nil {
			return nil, err
		}
		p.Data = append(p.Data, d)
	}
	return p, nil
}

func sameShape(a, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// Tensors wraps the host data as GoMLX tensors (copies).
func (p *Params) Tensors() []*tensors.Tensor {
	out := make([]*tensors.Tensor, len(p.Data))
	for i, d := range p.Data {
		out[i] = tensors.FromFlatDataAndDimensions(append([]float32(nil), d...), p.Specs[i].Shape...)
	}
	return out
}

// zerosLike returns zero tensors shaped like the parameters (optimizer moments).
func (p *Params) zeros() [][]float32 {
	out := make([][]float32, len(p.Data))
	for i, d := range p.Data {
		out[i] = make([]float32, len(d))
	}
	return out
}

// fromTensors copies tensors back to host slices.
func fromTensors(ts []*tensors.Tensor) ([][]float32, error) {
	out := make([][]float32, len(ts))
	for i, t := range ts {
		d, err := tensors.CopyFlatData[float32](t)
		if err != nil {
			return nil, err
		}
		out[i] = d
	}
	return out, nil
}

// WriteTensors converts named float32 data for safetensors.Write in dtype "F32" or "BF16".
func writeTensors(prefix string, specs []arch.TensorSpec, data [][]float32, dtype string) ([]safetensors.WriteTensor, error) {
	out := make([]safetensors.WriteTensor, len(specs))
	for i, s := range specs {
		var b []byte
		switch dtype {
		case "F32":
			b = make([]byte, 4*len(data[i]))
			for j, v := range data[i] {
				binary.LittleEndian.PutUint32(b[4*j:], math.Float32bits(v))
			}
		case "BF16":
			b = make([]byte, 2*len(data[i]))
			for j, v := range data[i] {
				binary.LittleEndian.PutUint16(b[2*j:], safetensors.Float32ToBF16(v))
			}
		default:
			return nil, fmt.Errorf("train: cannot write dtype %q (F32 or BF16)", dtype)
		}
		out[i] = safetensors.WriteTensor{Name: prefix + s.Name, DType: dtype, Shape: s.Shape, Data: b}
	}
	return out, nil
}
