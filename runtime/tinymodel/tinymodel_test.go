package tinymodel

import (
	"bytes"
	"encoding/json"
	"io/fs"
	"os"
	"path/filepath"
	"testing"
)

func TestEmbeddedModelsAreCompleteFolders(t *testing.T) {
	for _, name := range []string{Iterative, Vanilla} {
		sub, err := FS(name)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		for _, f := range []string{"config.json", "model.safetensors", "tokenizer.json", "tokenizer_config.json"} {
			if _, err := fs.Stat(sub, f); err != nil {
				t.Errorf("%s lacks %s", name, f)
			}
		}
		raw, _ := fs.ReadFile(sub, "config.json")
		var cfg struct {
			MaxPositions int    `json:"max_position_embeddings"`
			DType        string `json:"torch_dtype"`
		}
		if err := json.Unmarshal(raw, &cfg); err != nil || cfg.MaxPositions != ContextLength {
			t.Errorf("%s: config.json window %d (want %d), %v", name, cfg.MaxPositions, ContextLength, err)
		}
		// The tokenizer shipped is the recipe's, byte for byte.
		got, _ := fs.ReadFile(sub, "tokenizer.json")
		want, _ := os.ReadFile("recipe/tokenizer.json")
		if !bytes.Equal(got, want) {
			t.Errorf("%s: tokenizer.json is not the recipe's", name)
		}
	}
	if _, err := FS("nope"); err == nil {
		t.Error("unknown model name accepted")
	}
}

func TestDirWritesOnceByHash(t *testing.T) {
	root := t.TempDir()
	dir, err := DirIn(root, Iterative)
	if err != nil {
		t.Fatal(err)
	}
	hash, _ := Hash(Iterative)
	if filepath.Base(dir) != "tiny-model-"+hash {
		t.Fatalf("folder %s not keyed by hash %s", dir, hash)
	}
	sub, _ := FS(Iterative)
	names, _ := modelFiles(sub)
	for _, n := range names {
		want, _ := fs.ReadFile(sub, n)
		got, err := os.ReadFile(filepath.Join(dir, n))
		if err != nil || !bytes.Equal(got, want) {
			t.Fatalf("%s differs from the embedded file", n)
		}
	}
	// A second call reuses the folder.
	marker := filepath.Join(dir, "marker")
	os.WriteFile(marker, nil, 0o644)
	again, err := DirIn(root, Iterative)
	if err != nil || again != dir {
		t.Fatalf("second call: %s, %v", again, err)
	}
	if _, err := os.Stat(marker); err != nil {
		t.Fatal("the cached folder was rewritten")
	}
	// No temporary folders are left behind.
	entries, _ := os.ReadDir(root)
	if len(entries) != 1 {
		t.Fatalf("cache root holds %d entries, want 1", len(entries))
	}
	// The two models never share a folder.
	v, err := DirIn(root, Vanilla)
	if err != nil || v == dir {
		t.Fatalf("vanilla folder %s, %v", v, err)
	}
}
