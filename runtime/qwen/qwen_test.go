package qwen_test

import (
	"math"
	"path/filepath"
	"strings"
	"testing"

	. "github.com/gomlx/gomlx/core/graph"
	"github.com/gomlx/gomlx/core/tensors"
	"github.com/infty-dev/infty/runtime"
	"github.com/infty-dev/infty/runtime/arch"
	_ "github.com/infty-dev/infty/runtime/qwen"
)

func TestParseConfig(t *testing.T) {
	cfg, m, err := arch.Parse([]byte(`{"architectures":["Qwen2ForCausalLM"],"hidden_size":64,"intermediate_size":8,
		"num_hidden_layers":1,"num_attention_heads":4,"vocab_size":10,"eos_token_id":[3,4]}`))
	if err != nil {
		t.Fatal(err)
	}
	if cfg.HeadDim != 16 || cfg.KVHeads != 4 || !cfg.TieEmbeddings || cfg.RopeTheta != 10000 || len(cfg.EOS) != 2 {
		t.Errorf("defaults not applied: %+v", cfg)
	}
	names := map[string]bool{}
	for _, s := range m.Specs() {
		names[s.Name] = true
	}
	if !names["model.layers.0.self_attn.q_proj.bias"] || names["model.layers.0.self_attn.q_norm.weight"] || names["lm_head.weight"] {
		t.Errorf("Qwen2 specs: want q/k/v biases, no q/k norms, a tied head; got %v", names)
	}
	for _, tc := range []struct{ json, want string }{
		{`{"architectures":["LlamaForCausalLM"]}`, "LlamaForCausalLM"},
		{`{"architectures":["Qwen3ForCausalLM"],"hidden_size":64}`, "intermediate_size"},
		{`{"architectures":["Qwen3ForCausalLM"],"hidden_size":64,"intermediate_size":8,"num_hidden_layers":1,
		   "num_attention_heads":4,"num_key_value_heads":3,"vocab_size":10}`, "num_key_value_heads"},
		{`{"architectures":["Qwen2ForCausalLM"],"hidden_size":64,"intermediate_size":8,"num_hidden_layers":1,
		   "num_attention_heads":4,"vocab_size":10,"eos_token_id":"x"}`, "eos_token_id"},
		{`{"architectures":["Qwen2ForCausalLM"],"hidden_size":64,"intermediate_size":8,"num_hidden_layers":1,
		   "num_attention_heads":4,"vocab_size":10,"rope_scaling":{"type":"yarn"}}`, "rope_scaling"},
	} {
		if _, _, err := arch.Parse([]byte(tc.json)); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: error %v, want one mentioning %q", tc.json, err, tc.want)
		}
	}
}

// TestForwardBatchAndGradient runs Forward the way a trainer would: a batch of two rows (the
// second a right-padded prefix of the first), weights as graph inputs, and the gradient of a
// loss with respect to every weight.
func TestForwardBatchAndGradient(t *testing.T) {
	m, err := runtime.Load(filepath.Join("..", "..", "testdata", "models", "qwen3-tiny-f32"))
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	cfg, nw := m.Config, len(m.Weights())
	specs := m.Specs()
	ids := [][]int32{{5, 9, 200, 31, 7, 44}, {5, 9, 200, 0, 0, 0}}
	pos := [][]int32{{0, 1, 2, 3, 4, 5}, {0, 1, 2, 3, 4, 5}}
	exec, err := NewExec(m.Backend(), func(inputs []*Node) []*Node {
		w, err := arch.Bind(specs, inputs[:nw])
		if err != nil {
			panic(err)
		}
		logits := m.Arch().Forward(w, inputs[nw], inputs[nw+1])
		loss := ReduceAllSum(Square(logits))
		return append([]*Node{logits}, Gradient(loss, inputs[:nw]...)...)
	})
	if err != nil {
		t.Fatal(err)
	}
	args := []any{}
	for _, w := range m.Weights() {
		args = append(args, w)
	}
	out, err := exec.Call(append(args, tensors.FromValue(ids), tensors.FromValue(pos))...)
	if err != nil {
		t.Fatal(err)
	}
	logits := tensors.MustCopyFlatData[float32](out[0])
	v := cfg.Vocab
	for p := range 3 { // the shared prefix: right padding must not change it
		for j := range v {
			a, b := logits[p*v+j], logits[(6+p)*v+j]
			if math.Abs(float64(a-b)) > 1e-4 {
				t.Fatalf("position %d: rows differ (%v vs %v)", p, a, b)
			}
		}
	}
	for i, g := range out[1:] {
		flat := tensors.MustCopyFlatData[float32](g)
		norm := 0.0
		for _, x := range flat {
			norm += float64(x) * float64(x)
		}
		if math.IsNaN(norm) || norm == 0 {
			t.Errorf("gradient of %s: squared norm %v", specs[i].Name, norm)
		}
	}
}
