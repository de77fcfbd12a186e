package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestBackendCmdGo(t *testing.T) {
	t.Setenv("INFTY_BACKEND", "")
	out, _, err := runHubCLI(t, "backend", "--open")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out, "opened in") || !strings.Contains(out, "go · CPU") {
		t.Errorf("output:\n%s", out)
	}
	if _, _, err := runHubCLI(t, "backend", "--backend", "quantum"); err == nil || !strings.Contains(err.Error(), `unknown backend "quantum"`) {
		t.Errorf("bad spec error = %v", err)
	}
}

func TestBackendCmdCUDAShowsDiscovery(t *testing.T) {
	sp := filepath.Join(t.TempDir(), "lib", "python3.12", "site-packages")
	plugin := filepath.Join(sp, "jax_plugins", "xla_cuda13", "xla_cuda_plugin.so")
	lib := filepath.Join(sp, "nvidia", "cu13", "lib")
	for _, d := range []string{filepath.Dir(plugin), lib} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(plugin, []byte("fake"), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Setenv("INFTY_PJRT_PLUGIN", plugin)
	t.Setenv("LD_LIBRARY_PATH", "/somewhere")
	out, _, err := runHubCLI(t, "backend", "--backend", "cuda")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"CUDA plugin: " + plugin, "nvidia library folders: " + lib, "not on LD_LIBRARY_PATH: " + lib} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	out, _, err = runHubCLI(t, "backend", "env")
	if err != nil {
		t.Fatal(err)
	}
	if want := "export LD_LIBRARY_PATH='" + lib + ":/somewhere'"; !strings.Contains(out, want) {
		t.Errorf("env output lacks %q:\n%s", want, out)
	}
	// The fake plugin never opens: no GPU here, or it is not a library.
	t.Setenv("XLA_FLAGS", "")
	t.Setenv("GOPJRT_CUDA_CHECKS", "")
	if _, _, err := runHubCLI(t, "backend", "--backend", "cuda", "--open"); err == nil {
		t.Error("a fake plugin opened")
	}
}

func TestBackendBench(t *testing.T) {
	out, _, err := runHubCLI(t, "backend", "bench", "--backend", "go", "--model", "testdata/models/qwen2-tiny-f32",
		"--prompt", "8", "--new", "4", "--runs", "1")
	if err != nil {
		t.Fatal(err)
	}
	var r struct {
		Backend      string
		Prefill      float64 `json:"prefill_tok_s"`
		Decode       float64 `json:"decode_tok_s"`
		PromptTokens int     `json:"prompt_tokens"`
	}
	if err := json.Unmarshal([]byte(out), &r); err != nil {
		t.Fatalf("%v in %q", err, out)
	}
	if !(r.Prefill > 0) || !(r.Decode > 0) || r.PromptTokens != 8 || !strings.HasPrefix(r.Backend, "go") {
		t.Errorf("bench result %+v", r)
	}
	if _, _, err := runHubCLI(t, "backend", "bench", "--model", "testdata/models/qwen2-tiny-f32", "--new", "1"); err == nil {
		t.Error("--new 1 accepted")
	}
}
