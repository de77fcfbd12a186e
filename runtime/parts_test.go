package runtime

import (
	"encoding/binary"
	"encoding/json"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"

	"github.com/gomlx/gomlx/core/tensors"
	"github.com/infty-dev/infty/runtime/arch"
	"github.com/infty-dev/infty/runtime/backend"
	"github.com/infty-dev/infty/runtime/safetensors"
)

// writeWideDownModel writes a random one-layer Qwen2 checkpoint whose MLP down projection
// (512×1024) is wider than tall and too big for the cache, so that Load stores it split along
// its contraction (kernels.DecodeShape), and returns its folder and weights as [out, in]
// Float32 tensors in the order of its specs.
func writeWideDownModel(t *testing.T) (string, []*tensors.Tensor) {
	t.Helper()
	dir := t.TempDir()
	config := map[string]any{
		"architectures": []string{"Qwen2ForCausalLM"}, "model_type": "qwen2", "hidden_size": 512,
		"intermediate_size": 1024, "num_attention_heads": 8, "num_key_value_heads": 2,
		"num_hidden_layers": 1, "vocab_size": 256, "max_position_embeddings": 256,
		"rms_norm_eps": 1e-6, "rope_theta": 10000.0, "tie_word_embeddings": false,
		"torch_dtype": "float32", "bos_token_id": 1, "eos_token_id": 2,
	}
	data, err := json.Marshal(config)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "config.json"), data, 0o644); err != nil {
		t.Fatal(err)
	}
	_, def, err := arch.Read(dir)
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(11, 12))
	var written []safetensors.WriteTensor
	var plain []*tensors.Tensor
	for _, s := range def.Specs() {
		n := 1
		for _, d := range s.Shape {
			n *= d
		}
		v := make([]float32, n)
		raw := make([]byte, 4*n)
		for i := range v {
			v[i] = float32(rng.NormFloat64() * 0.05)
			if len(s.Shape) == 1 { // norms
				v[i] += 1
			}
			binary.LittleEndian.PutUint32(raw[4*i:], math.Float32bits(v[i]))
		}
		written = append(written, safetensors.WriteTensor{Name: s.Name, DType: "F32", Shape: s.Shape, Data: raw})
		plain = append(plain, tensors.FromFlatDataAndDimensions(v, s.Shape...))
	}
	if err := safetensors.Write(filepath.Join(dir, safetensors.SingleFileName), written, nil); err != nil {
		t.Fatal(err)
	}
	return dir, plain
}

// TestContractionPartsMatchPlainWeights loads a model whose down projection DecodeShape splits
// along its contraction (with Float32 weights; bf16 ones keep row blocks), and checks that it computes what the same weights kept as plain
// [out, in] matrices (FromWeights) compute: the full forward pass (more rows than decoding
// multiplies block-wise) and token-by-token decoding; and with Float32 weights, batched
// decoding against single streams. A part laid out or summed wrong moves the logits by far more
// than the 1e-5 allowed; bf16 weights round them by ~1e-2, and get 5e-2.
func TestContractionPartsMatchPlainWeights(t *testing.T) {
	dir, plain := writeWideDownModel(t)
	be, err := backend.Open("go")
	if err != nil {
		t.Fatal(err)
	}
	cfg, _, err := arch.Read(dir)
	if err != nil {
		t.Fatal(err)
	}
	ref, err := FromWeights(be, dir, cfg, plain)
	if err != nil {
		t.Fatal(err)
	}
	defer ref.Close()
	prompt := make([]int, 40)
	for i := range prompt {
		prompt[i] = (i*37 + 5) % cfg.Vocab
	}
	want, err := ref.Logits(prompt)
	if err != nil {
		t.Fatal(err)
	}
	for _, dt := range []string{"f32", "bf16"} {
		t.Run(dt, func(t *testing.T) {
			tol := map[string]float64{"f32": 1e-5, "bf16": 5e-2}[dt]
			m, err := Load(dir, WithBackend("go"), WithWeightDType(dt))
			if err != nil {
				t.Fatal(err)
			}
			defer m.Close()
			split := 0
			for i, s := range m.Specs() {
				if m.Weights()[i].Rank() == 4 {
					split++
					if s.Name != "model.layers.0.mlp.down_proj.weight" {
						t.Errorf("%s stored split: %s", s.Name, m.Weights()[i].Shape())
					}
				}
			}
			if want := map[string]int{"f32": 1, "bf16": 0}[dt]; split != want {
				t.Fatalf("%d weights stored split along their contraction, want %d", split, want)
			}
			got, err := m.Logits(prompt)
			if err != nil {
				t.Fatal(err)
			}
			m.mu.Lock()
			dec := m.newDecoder()
			worst, worstDec := 0.0, 0.0
			for i := range prompt {
				step, err := dec.feed(prompt[i : i+1])
				if err != nil {
					t.Fatal(err)
				}
				w := make([]float64, len(want[i]))
				for j, v := range want[i] {
					w[j] = float64(v)
				}
				worst, worstDec = max(worst, relErr(got[i], w)), max(worstDec, relErr(step, w))
			}
			dec.free()
			m.mu.Unlock()
			if worst > tol || worstDec > tol {
				t.Errorf("against plain weights: full forward %.3g, decoding %.3g; want ≤ %g", worst, worstDec, tol)
			}
			if dt != "f32" {
				// bf16 weights round x to bfloat16 up to MaxBlockRows rows and widen the
				// weight past that, so their batches match single streams only to ~1e-3.
				return
			}
			noEOS(m, func() {
				reqs := testRequests(cfg.Vocab, 6, 0)
				batchedMatchesAlone(t, m, reqs)
				if st := m.lanes.takeStats(); st.PeakRows < 2 {
					t.Errorf("at most %d sequences shared a step: not batched", st.PeakRows)
				}
			})
		})
	}
}
