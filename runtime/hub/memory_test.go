package hub

import (
	"encoding/binary"
	"errors"
	"os"
	"path/filepath"
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
	if _, err := EstimateMemory(dir, MemoryOptions{}); err == nil || !strings.Contains(err.Error(), "not a safetensors file") {
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
