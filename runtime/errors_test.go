package runtime

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/infty-dev/infty/runtime/hub"
	"github.com/infty-dev/infty/runtime/safetensors"
)

// copyModel copies a fixture folder into a temporary one the test may damage.
func copyModel(t *testing.T, name string) string {
	t.Helper()
	dst := t.TempDir()
	entries, err := os.ReadDir(filepath.Join(modelsDir, name))
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		data, err := os.ReadFile(filepath.Join(modelsDir, name, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dst, e.Name()), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dst
}

// rewrite rewrites DIR/model.safetensors after edit changes its tensor list.
func rewrite(t *testing.T, dir string, edit func([]safetensors.WriteTensor) []safetensors.WriteTensor) {
	t.Helper()
	path := filepath.Join(dir, "model.safetensors")
	f, err := safetensors.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	var ts []safetensors.WriteTensor
	for _, x := range f.Tensors() {
		ts = append(ts, safetensors.WriteTensor{Name: x.Name, DType: x.DType, Shape: x.Shape, Data: append([]byte(nil), x.Data...)})
	}
	f.Close()
	if err := safetensors.Write(path, edit(ts), nil); err != nil {
		t.Fatal(err)
	}
}

func expectLoadError(t *testing.T, dir string, wants ...string) {
	t.Helper()
	m, err := Load(dir)
	if err == nil {
		m.Close()
		t.Fatalf("Load succeeded, want an error mentioning %q", wants)
	}
	t.Log(err)
	for _, w := range wants {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("error %q does not mention %q", err, w)
		}
	}
}

func TestLoadErrors(t *testing.T) {
	t.Run("missing tensor", func(t *testing.T) {
		dir := copyModel(t, "qwen3-tiny-f32")
		rewrite(t, dir, func(ts []safetensors.WriteTensor) []safetensors.WriteTensor {
			var out []safetensors.WriteTensor
			for _, x := range ts {
				if x.Name != "model.layers.1.self_attn.k_norm.weight" {
					out = append(out, x)
				}
			}
			return out
		})
		expectLoadError(t, dir, "model.safetensors", "missing tensor", "model.layers.1.self_attn.k_norm.weight")
	})
	t.Run("wrong shape", func(t *testing.T) {
		dir := copyModel(t, "qwen2-tiny-f32")
		rewrite(t, dir, func(ts []safetensors.WriteTensor) []safetensors.WriteTensor {
			for i, x := range ts {
				if x.Name == "model.layers.0.mlp.up_proj.weight" {
					ts[i].Shape = []int{x.Shape[1], x.Shape[0]}
				}
			}
			return ts
		})
		expectLoadError(t, dir, "model.safetensors", "model.layers.0.mlp.up_proj.weight", "[64 176]", "[176 64]")
	})
	t.Run("unexpected tensor", func(t *testing.T) {
		dir := copyModel(t, "qwen2-tiny-f32")
		rewrite(t, dir, func(ts []safetensors.WriteTensor) []safetensors.WriteTensor {
			return append(ts, safetensors.WriteTensor{Name: "model.layers.2.mlp.up_proj.weight", DType: "F32", Shape: []int{1}, Data: make([]byte, 4)})
		})
		expectLoadError(t, dir, "model.safetensors", "unexpected tensor", "model.layers.2.mlp.up_proj.weight")
	})
	t.Run("unsupported dtype", func(t *testing.T) {
		dir := copyModel(t, "qwen2-tiny-f32")
		rewrite(t, dir, func(ts []safetensors.WriteTensor) []safetensors.WriteTensor {
			for i, x := range ts {
				if x.Name == "model.norm.weight" {
					ts[i].DType = "I32"
				}
			}
			return ts
		})
		expectLoadError(t, dir, "model.safetensors", "model.norm.weight")
	})
	t.Run("unknown architecture", func(t *testing.T) {
		dir := copyModel(t, "qwen2-tiny-f32")
		cfg, _ := os.ReadFile(filepath.Join(dir, "config.json"))
		cfg = []byte(strings.Replace(string(cfg), "Qwen2ForCausalLM", "LlamaForCausalLM", 1))
		os.WriteFile(filepath.Join(dir, "config.json"), cfg, 0o644)
		expectLoadError(t, dir, "config.json", "LlamaForCausalLM")
	})
	t.Run("broken config", func(t *testing.T) {
		dir := copyModel(t, "qwen2-tiny-f32")
		os.WriteFile(filepath.Join(dir, "config.json"), []byte(`{"architectures": ["Qwen2ForCausalLM"], `), 0o644)
		expectLoadError(t, dir, "config.json")
	})
	t.Run("no config", func(t *testing.T) {
		dir := copyModel(t, "qwen2-tiny-f32")
		os.Remove(filepath.Join(dir, "config.json"))
		expectLoadError(t, dir, "config.json")
	})
	t.Run("no weights", func(t *testing.T) {
		dir := copyModel(t, "qwen2-tiny-f32")
		os.Remove(filepath.Join(dir, "model.safetensors"))
		expectLoadError(t, dir, "model.safetensors")
	})
	t.Run("truncated", func(t *testing.T) {
		dir := copyModel(t, "qwen3-tiny-f32")
		path := filepath.Join(dir, "model.safetensors")
		info, _ := os.Stat(path)
		os.Truncate(path, info.Size()-100)
		expectLoadError(t, dir, "model.safetensors")
	})
	t.Run("truncated shard", func(t *testing.T) {
		dir := copyModel(t, "qwen3-tiny-bf16")
		path := filepath.Join(dir, "model-00002-of-00002.safetensors")
		info, _ := os.Stat(path)
		os.Truncate(path, info.Size()-2)
		expectLoadError(t, dir, "model-00002-of-00002.safetensors")
	})
	t.Run("header offsets past the end", func(t *testing.T) {
		dir := copyModel(t, "qwen2-tiny-f32")
		path := filepath.Join(dir, "model.safetensors")
		data, _ := os.ReadFile(path)
		n := binary.LittleEndian.Uint64(data[:8])
		var header map[string]json.RawMessage
		if err := json.Unmarshal(data[8:8+n], &header); err != nil {
			t.Fatal(err)
		}
		// Move one tensor's end offset far past the data region.
		var entry map[string]any
		json.Unmarshal(header["model.norm.weight"], &entry)
		offsets := entry["data_offsets"].([]any)
		entry["data_offsets"] = []any{offsets[0], offsets[1].(float64) + 1<<20}
		header["model.norm.weight"], _ = json.Marshal(entry)
		patched, _ := json.Marshal(header)
		out := binary.LittleEndian.AppendUint64(nil, uint64(len(patched)))
		data = append(append(out, patched...), data[8+n:]...)
		os.WriteFile(path, data, 0o644)
		expectLoadError(t, dir, "model.safetensors")
	})
	t.Run("not a folder", func(t *testing.T) {
		expectLoadError(t, filepath.Join(modelsDir, "qwen2-tiny.reference.json"), "qwen2-tiny.reference.json")
		expectLoadError(t, filepath.Join(t.TempDir(), "nope"), "nope")
	})
}

// A model larger than the memory at hand is refused before any weight is read, with the
// estimate in the message; bf16 weights halve what is asked for, q8 ones take 34 bytes per 32.
func TestLoadRefusesModelThatDoesNotFit(t *testing.T) {
	var asked []int64
	budget := int64(0)
	old := memoryCheck
	t.Cleanup(func() { memoryCheck = old })
	memoryCheck = func(e hub.MemoryEstimate) error {
		asked = append(asked, e.Weights)
		return hub.CheckFitsIn(e, budget, "test budget")
	}
	dir := filepath.Join(modelsDir, "qwen2-tiny-f32")
	_, err := Load(dir)
	if !errors.Is(err, hub.ErrWontFit) || !strings.Contains(err.Error(), filepath.Base(dir)) || !strings.Contains(err.Error(), "test budget") {
		t.Fatalf("Load with no memory: %v", err)
	}
	if _, err := Load(dir, WithWeightDType("bf16")); !errors.Is(err, hub.ErrWontFit) {
		t.Fatalf("Load bf16 with no memory: %v", err)
	}
	if _, err := Load(dir, WithWeightDType("q8")); !errors.Is(err, hub.ErrWontFit) {
		t.Fatalf("Load q8 with no memory: %v", err)
	}
	if len(asked) != 3 || asked[1]*2 != asked[0] || asked[2] != asked[0]/4/32*34 {
		t.Errorf("weights estimated as %v bytes for f32, bf16, q8; want bf16 half of f32 and q8 34/128 of it", asked)
	}
	budget = 1 << 40
	m, err := Load(dir)
	if err != nil {
		t.Fatalf("Load with room: %v", err)
	}
	m.Close()
}

// A tokenizer with ids past the model's vocab_size would index outside the embedding: Open
// refuses it, naming the folder and both sizes.
func TestOpenRefusesTokenizerBeyondVocab(t *testing.T) {
	dir := copyModel(t, "qwen2-tiny-f32")
	path := filepath.Join(dir, "tokenizer.json")
	raw, _ := os.ReadFile(path)
	var tok map[string]any
	if err := json.Unmarshal(raw, &tok); err != nil {
		t.Fatal(err)
	}
	tok["added_tokens"] = append(tok["added_tokens"].([]any), map[string]any{"id": 600, "content": "<|extra|>", "special": true})
	raw, _ = json.Marshal(tok)
	os.WriteFile(path, raw, 0o644)
	_, err := Open(dir, "tiny")
	if err == nil || !strings.Contains(err.Error(), "up to 600, beyond the model's vocab_size 512") {
		t.Errorf("err = %v", err)
	}
}
