package runtime

import (
	"context"
	"encoding/binary"
	"math"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/infty-dev/infty/llm"
	"github.com/infty-dev/infty/runtime/kernels"
	"github.com/infty-dev/infty/runtime/safetensors"
)

// q8Tolerance is how far (relative, max-abs over a row) q8 logits may lie from the float64
// reference of the checkpoint they were quantized from. These random tiny models are far more
// sensitive to weight rounding than trained ones: rounding them to bf16 alone moves their
// logits by 3.7e-2 (qwen2) and 1.3e-2 (qwen3). Measured with q8: 7.6e-2 / 9.8e-2 (qwen2 from
// F32 / BF16), 3.3e-2 / 3.8e-2 (qwen3).
var q8Tolerance = map[string]float64{"qwen2-tiny": 0.12, "qwen3-tiny": 0.05}

// TestQ8Weights loads the fixtures, F32 and BF16, with q8 weights: matrices kept as Q8_0
// (except qwen2's down_proj, whose input dimension 176 is no multiple of 32 and so stays
// Float32), logits of the full forward pass and of token-by-token decoding within
// q8Tolerance of the float64 reference, and greedy decoding in agreement with the
// reference's (what f32 decodes, see TestGreedyThroughCacheMatchesReference).
func TestQ8Weights(t *testing.T) {
	for _, name := range []string{"qwen2-tiny", "qwen3-tiny"} {
		ref := readReference(t, name)
		for _, src := range []string{"f32", "bf16"} {
			t.Run(name+"-"+src, func(t *testing.T) {
				m, err := Load(filepath.Join(modelsDir, name+"-"+src), WithWeightDType("q8"))
				if err != nil {
					t.Fatal(err)
				}
				defer m.Close()
				for i, s := range m.Specs() {
					want := "Float32"
					if len(s.Shape) == 2 && s.Shape[1]%kernels.Q8Values == 0 {
						want = "Uint8"
					}
					if got := m.Weights()[i].DType().String(); got != want {
						t.Errorf("%s %v kept as %s, want %s", s.Name, s.Shape, got, want)
					}
				}
				want := ref.ByDType[src]
				logits, err := m.Logits(ref.PromptIDs)
				if err != nil {
					t.Fatal(err)
				}
				m.mu.Lock()
				dec := m.newDecoder()
				worst, worstDec, worstPath := 0.0, 0.0, 0.0
				for i, id := range ref.PromptIDs {
					got, err := dec.feed([]int{id})
					if err != nil {
						t.Fatal(err)
					}
					worst = max(worst, relErr(logits[i], want.PromptLogits[i]))
					worstDec = max(worstDec, relErr(got, want.PromptLogits[i]))
					full := make([]float64, len(got))
					for j, v := range logits[i] {
						full[j] = float64(v)
					}
					worstPath = max(worstPath, relErr(got, full))
				}
				dec.free()
				m.mu.Unlock()
				if tol := q8Tolerance[name]; worst > tol || worstDec > tol || worst == 0 {
					t.Errorf("relative error vs the float64 reference: full forward %.3g, decoding %.3g; want in (0, %g]", worst, worstDec, tol)
				}
				// Both paths multiply by the same dequantized values in float32.
				if worstPath > 1e-5 {
					t.Errorf("decoding vs full forward: relative error %.3g > 1e-5", worstPath)
				}

				// Greedy agreement: free-running until the first difference, and teacher-forced
				// (the best token at each step of the reference's path).
				m.EOS = nil
				res, err := m.Generate(context.Background(), llm.Request{Prompt: ref.PromptIDs, MaxTokens: len(want.GreedyIDs)}, func(llm.Token) error { return nil })
				if err != nil {
					t.Fatal(err)
				}
				prefix := 0
				for prefix < len(res.IDs) && res.IDs[prefix] == want.GreedyIDs[prefix] {
					prefix++
				}
				path := append(slices.Clone(ref.PromptIDs), want.GreedyIDs[:len(want.GreedyIDs)-1]...)
				all, err := m.Logits(path)
				if err != nil {
					t.Fatal(err)
				}
				forced := 0
				for i, id := range want.GreedyIDs {
					row := all[len(ref.PromptIDs)-1+i]
					if slices.Index(row, slices.Max(row)) == id {
						forced++
					}
				}
				t.Logf("logits vs float64 reference: full forward %.3g, decoding %.3g; greedy ids: first %d of %d agree, %d of %d teacher-forced",
					worst, worstDec, prefix, len(want.GreedyIDs), forced, len(want.GreedyIDs))
				if prefix < 8 || forced < 20 {
					t.Errorf("greedy agreement with the reference: first %d agree (want >= 8), %d of %d teacher-forced (want >= 20)", prefix, forced, len(want.GreedyIDs))
				}
			})
		}
	}
}

// TestQ8ComputesDequantizedModel checks that q8 computes exactly the model its blocks stand
// for: an F32 checkpoint of the dequantized values, run in f32, gives the same logits.
func TestQ8ComputesDequantizedModel(t *testing.T) {
	ref := readReference(t, "qwen3-tiny")
	dir := copyModel(t, "qwen3-tiny-f32")
	rewrite(t, dir, func(ts []safetensors.WriteTensor) []safetensors.WriteTensor {
		for _, x := range ts {
			if len(x.Shape) != 2 {
				continue
			}
			in := x.Shape[1]
			row, q := make([]float32, in), make([]byte, kernels.Q8RowBytes(in))
			for r := range x.Shape[0] {
				at := x.Data[4*r*in : 4*(r+1)*in]
				for c := range row {
					row[c] = math.Float32frombits(binary.LittleEndian.Uint32(at[4*c:]))
				}
				if err := kernels.QuantizeQ8(q, row); err != nil {
					t.Fatal(err)
				}
				for c := range row {
					blk := q[c/kernels.Q8Values*kernels.Q8Bytes:]
					v := safetensors.F16ToFloat32(binary.LittleEndian.Uint16(blk)) * float32(int8(blk[2+c%kernels.Q8Values]))
					binary.LittleEndian.PutUint32(at[4*c:], math.Float32bits(v))
				}
			}
		}
		return ts
	})
	for _, prompt := range [][]int{ref.PromptIDs, ref.PromptIDs[:1]} {
		var got [2][][]float32
		for i, dt := range []string{"f32", "q8"} {
			m, err := Load(dir, WithWeightDType(dt))
			if err != nil {
				t.Fatal(err)
			}
			if got[i], err = m.Logits(prompt); err != nil {
				t.Fatal(err)
			}
			m.Close()
		}
		for i := range got[0] {
			want := make([]float64, len(got[0][i]))
			for j, v := range got[0][i] {
				want[j] = float64(v)
			}
			if e := relErr(got[1][i], want); e > 1e-5 {
				t.Errorf("%d-token prompt, position %d: q8 vs f32 of the dequantized weights, relative error %.3g", len(prompt), i, e)
			}
		}
	}
}

// A weight Q8_0 cannot hold (its block's scale would overflow float16) is refused at load,
// naming the file, the tensor and the row, rather than quantized into garbage.
func TestQ8RefusesUnrepresentableWeight(t *testing.T) {
	dir := copyModel(t, "qwen3-tiny-f32")
	rewrite(t, dir, func(ts []safetensors.WriteTensor) []safetensors.WriteTensor {
		for _, x := range ts {
			if x.Name == "model.layers.1.mlp.up_proj.weight" {
				binary.LittleEndian.PutUint32(x.Data[4*(3*x.Shape[1]+40):], math.Float32bits(1e7))
			}
		}
		return ts
	})
	m, err := Load(dir, WithWeightDType("q8"))
	if err == nil {
		m.Close()
		t.Fatal("Load q8 accepted a weight of 1e7")
	}
	for _, want := range []string{filepath.Join(dir, "model.safetensors"), "model.layers.1.mlp.up_proj.weight", "row 3", "block 1"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not mention %q", err, want)
		}
	}
}
