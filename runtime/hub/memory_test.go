package hub

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
)

func tinyDir(name string) string { return filepath.Join("..", "..", "testdata", "models", name) }

func TestEstimateMemoryTinyModels(t *testing.T) {
	// The F32 checkpoint is one file: its data section is exactly params × 4 bytes, a count
	// independent of how EstimateMemory adds up the headers.
	f32 := filepath.Join(tinyDir("qwen2-tiny-f32"), "model.safetensors")
	raw, err := os.ReadFile(f32)
	if err != nil {
		t.Fatal(err)
	}
	params := (int64(len(raw)) - 8 - int64(binary.LittleEndian.Uint64(raw))) / 4

	for _, name := range []string{"qwen2-tiny-f32", "qwen2-tiny-bf16"} {
		e, err := EstimateMemory(tinyDir(name), MemoryOptions{DType: "F32", ContextLen: 256})
		if err != nil {
			t.Fatal(err)
		}
		// qwen2-tiny: 2 layers, 2 KV heads, head_dim 16.
		if e.Params != params || e.Weights != params*4 || e.KVCache != 2*2*2*16*256*4 {
			t.Errorf("%s: params %d weights %d kv %d; want %d, %d, %d", name, e.Params, e.Weights, e.KVCache, params, params*4, 2*2*2*16*256*4)
		}
		if e.Total != e.Weights+e.KVCache+e.Activations+e.Overhead || e.Activations <= 0 {
			t.Errorf("%s: breakdown does not add up: %+v", name, e)
		}
	}
	bf, err := EstimateMemory(tinyDir("qwen2-tiny-bf16"), MemoryOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if bf.Weights != params*2 || bf.DType != "stored BF16" || bf.KVDType != "F32" || bf.ContextLen != 512 {
		t.Errorf("as stored: %+v (max_position_embeddings 512 caps the default context)", bf)
	}
	// Doubling the context doubles the KV cache.
	a, _ := EstimateMemory(tinyDir("qwen3-tiny-f32"), MemoryOptions{DType: "BF16", ContextLen: 100})
	b, _ := EstimateMemory(tinyDir("qwen3-tiny-f32"), MemoryOptions{DType: "BF16", ContextLen: 200})
	if b.KVCache != 2*a.KVCache || a.KVCache != 2*2*2*32*100*2 {
		t.Errorf("KV cache %d → %d", a.KVCache, b.KVCache)
	}
	if _, err := EstimateMemory(tinyDir("qwen3-tiny-f32"), MemoryOptions{DType: "F7"}); err == nil {
		t.Error("unknown dtype accepted")
	}
}

func TestEstimateMemoryRejectsBadFiles(t *testing.T) {
	dir := t.TempDir()
	cfg, _ := os.ReadFile(filepath.Join(tinyDir("qwen2-tiny-f32"), "config.json"))
	os.WriteFile(filepath.Join(dir, "config.json"), cfg, 0o644)
	if _, err := EstimateMemory(dir, MemoryOptions{}); err == nil || !strings.Contains(err.Error(), "no safetensors") {
		t.Errorf("no weights: %v", err)
	}
	raw, _ := os.ReadFile(filepath.Join(tinyDir("qwen2-tiny-f32"), "model.safetensors"))
	os.WriteFile(filepath.Join(dir, "model.safetensors"), raw[:len(raw)/2], 0o644)
	if _, err := EstimateMemory(dir, MemoryOptions{}); err == nil || !strings.Contains(err.Error(), "model.safetensors: tensor") {
		t.Errorf("truncated weights: %v", err)
	}
	os.WriteFile(filepath.Join(dir, "model.safetensors"), []byte{1, 2, 3}, 0o644)
	if _, err := EstimateMemory(dir, MemoryOptions{}); err == nil || !strings.Contains(err.Error(), "too short for a safetensors header") {
		t.Errorf("garbage weights: %v", err)
	}
}

func TestCheckFits(t *testing.T) {
	e, err := EstimateMemory(tinyDir("qwen2-tiny-f32"), MemoryOptions{DType: "F32"})
	if err != nil {
		t.Fatal(err)
	}
	if err := CheckFitsIn(e, e.Total, "test"); err != nil {
		t.Errorf("exact fit refused: %v", err)
	}
	err = CheckFitsIn(e, e.Total-1, "test memory")
	if !errors.Is(err, ErrWontFit) || !strings.Contains(err.Error(), "needs about") || !strings.Contains(err.Error(), "test memory") {
		t.Errorf("no-fit: %v", err)
	}
	meminfo := filepath.Join(t.TempDir(), "meminfo")
	os.WriteFile(meminfo, []byte("MemTotal:       16000000 kB\nMemFree:  100 kB\nMemAvailable:    8000000 kB\n"), 0o644)
	if n, err := memAvailable(meminfo); err != nil || n != 8000000*1024 {
		t.Errorf("memAvailable = %d, %v", n, err)
	}
	if n, src, err := AvailableMemory(); err == nil && (n <= 0 || src == "") {
		t.Errorf("AvailableMemory = %d %q", n, src)
	}
	if got := FormatBytes(1536 << 20); got != "1.5 GiB" {
		t.Errorf("FormatBytes = %s", got)
	}
}

// writeSparseSafetensors writes a safetensors file whose header lists tensors of the given
// shapes (BF16) and whose data section is a hole: full size on paper, no disk used.
func writeSparseSafetensors(t *testing.T, path string, shapes map[string][]int64) {
	t.Helper()
	hdr := map[string]any{}
	var off int64
	names := make([]string, 0, len(shapes))
	for n := range shapes {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		size := int64(2)
		for _, d := range shapes[n] {
			size *= d
		}
		hdr[n] = map[string]any{"dtype": "BF16", "shape": shapes[n], "data_offsets": []int64{off, off + size}}
		off += size
	}
	b, _ := json.Marshal(hdr)
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	binary.Write(f, binary.LittleEndian, uint64(len(b)))
	f.Write(b)
	if err := f.Truncate(8 + int64(len(b)) + off); err != nil {
		t.Fatal(err)
	}
	f.Close()
}

// DeepSeek-R1-Distill-Qwen-1.5B's shapes (Qwen2: hidden 1536, 28 layers, 12 heads, 2 KV heads,
// intermediate 8960, vocab 151936, untied lm_head): 1,777,088,000 parameters, as published.
func TestEstimateMemoryDeepSeek1p5B(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "config.json"), []byte(`{"architectures":["Qwen2ForCausalLM"],
		"hidden_size":1536,"intermediate_size":8960,"num_hidden_layers":28,"num_attention_heads":12,
		"num_key_value_heads":2,"vocab_size":151936,"max_position_embeddings":131072,"torch_dtype":"bfloat16"}`), 0o644)
	shapes := map[string][]int64{
		"model.embed_tokens.weight": {151936, 1536}, "lm_head.weight": {151936, 1536}, "model.norm.weight": {1536},
	}
	for l := range 28 {
		p := fmt.Sprintf("model.layers.%d.", l)
		for k, s := range map[string][]int64{
			"self_attn.q_proj.weight": {1536, 1536}, "self_attn.q_proj.bias": {1536},
			"self_attn.k_proj.weight": {256, 1536}, "self_attn.k_proj.bias": {256},
			"self_attn.v_proj.weight": {256, 1536}, "self_attn.v_proj.bias": {256},
			"self_attn.o_proj.weight": {1536, 1536},
			"mlp.gate_proj.weight":    {8960, 1536}, "mlp.up_proj.weight": {8960, 1536}, "mlp.down_proj.weight": {1536, 8960},
			"input_layernorm.weight": {1536}, "post_attention_layernorm.weight": {1536},
		} {
			shapes[p+k] = s
		}
	}
	writeSparseSafetensors(t, filepath.Join(dir, "model.safetensors"), shapes)
	e, err := EstimateMemory(dir, MemoryOptions{DType: "F32", ContextLen: 4096})
	if err != nil {
		t.Fatal(err)
	}
	if e.Params != 1_777_088_000 || e.Weights != 4*1_777_088_000 || e.KVCache != 2*28*2*128*4096*4 {
		t.Errorf("params %d weights %d kv %d", e.Params, e.Weights, e.KVCache)
	}
	t.Logf("DeepSeek-R1-Distill-Qwen-1.5B on the pure-Go backend: %s", e)
	bf, _ := EstimateMemory(dir, MemoryOptions{DType: "BF16", ContextLen: 4096})
	t.Logf("same, weights and KV cache in BF16: %s", bf)
	if err := CheckFitsIn(e, 4<<30, "a 4 GiB machine"); !errors.Is(err, ErrWontFit) {
		t.Errorf("1.5B in F32 fits in 4 GiB? %v", err)
	} else {
		t.Logf("refusal: %v", err)
	}
}

// A config.json whose sizes wrap int64 in the estimate, or that claims more than the weights
// hold, is refused naming the file instead of passing the fit check with a wrapped total.
func TestEstimateMemoryRefusesOverflowingConfig(t *testing.T) {
	base, _ := os.ReadFile(filepath.Join(tinyDir("qwen2-tiny-f32"), "config.json"))
	weights, _ := os.ReadFile(filepath.Join(tinyDir("qwen2-tiny-f32"), "model.safetensors"))
	for _, c := range []struct {
		field string
		value int64
		want  string
	}{
		{"num_hidden_layers", 300000000000000000, "the weights hold only 2 layers"},
		{"vocab_size", 1 << 40, "model.embed_tokens.weight is 512 × 64"},
		{"intermediate_size", 1 << 62, "overflow the memory estimate"},
		{"head_dim", 1 << 60, "overflow the memory estimate"},
		{"max_position_embeddings", -5, "must not be negative"},
	} {
		var m map[string]any
		json.Unmarshal(base, &m)
		m[c.field] = c.value
		b, _ := json.Marshal(m)
		dir := t.TempDir()
		os.WriteFile(filepath.Join(dir, "config.json"), b, 0o644)
		os.WriteFile(filepath.Join(dir, "model.safetensors"), weights, 0o644)
		if e, err := EstimateMemory(dir, MemoryOptions{DType: "F32"}); err == nil || !strings.Contains(err.Error(), "config.json") || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s=%d: total %d, err %v; want %q", c.field, c.value, e.Total, err, c.want)
		}
	}
	if _, err := EstimateMemory(tinyDir("qwen2-tiny-f32"), MemoryOptions{DType: "F32", ContextLen: 1 << 60, Batch: 1 << 20}); err == nil || !strings.Contains(err.Error(), "overflow") {
		t.Errorf("huge context: %v", err)
	}
}
