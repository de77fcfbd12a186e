package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/infty-dev/infty/app"
	"github.com/infty-dev/infty/runtime/hub/hubtest"
)

// hubEnv points every HF_* variable at a fake hub and a fresh cache.
func hubEnv(t *testing.T, h *hubtest.Hub) string {
	home := t.TempDir()
	t.Setenv("HF_HOME", home)
	t.Setenv("HF_HUB_CACHE", "")
	t.Setenv("HUGGINGFACE_HUB_CACHE", "")
	t.Setenv("HF_ENDPOINT", h.URL())
	t.Setenv("HF_TOKEN", "")
	t.Setenv("HUGGING_FACE_HUB_TOKEN", "")
	t.Setenv("HF_TOKEN_PATH", "")
	t.Setenv("HF_HUB_OFFLINE", "")
	t.Setenv("TRANSFORMERS_OFFLINE", "")
	return filepath.Join(home, "hub")
}

func runHubCLI(t *testing.T, args ...string) (stdout, stderr string, err error) {
	t.Helper()
	root := newRootCmd()
	var out, errb bytes.Buffer
	root.SetOut(&out)
	root.SetErr(&errb)
	root.SetArgs(args)
	err = root.ExecuteContext(context.Background())
	return out.String(), errb.String(), err
}

func TestPullAndModelsCommands(t *testing.T) {
	h := hubtest.New(t)
	r := h.AddRepo("acme/tiny", hubtest.ModelFiles(t, filepath.Join("testdata", "models", "qwen2-tiny-bf16")))
	cache := hubEnv(t, h)

	out, errOut, err := runHubCLI(t, "pull", "acme/tiny")
	if err != nil {
		t.Fatalf("pull: %v\n%s", err, errOut)
	}
	snap := filepath.Join(cache, "models--acme--tiny", "snapshots", r.Commit)
	if !strings.Contains(out, "commit "+r.Commit) || !strings.Contains(out, snap) {
		t.Errorf("pull output %q lacks the commit and snapshot path", out)
	}
	// Not a terminal: one plain line per file, no carriage returns.
	if strings.Contains(errOut, "\r") || !strings.Contains(errOut, "model-00001-of-00002.safetensors") ||
		!strings.Contains(errOut, "downloaded") || strings.Count(errOut, "\n") != 7 {
		t.Errorf("progress on a pipe:\n%s", errOut)
	}
	ref, _ := os.ReadFile(filepath.Join(cache, "models--acme--tiny", "refs", "main"))
	if string(ref) != r.Commit {
		t.Errorf("refs/main = %q", ref)
	}
	for _, f := range []string{"config.json", "model-00002-of-00002.safetensors"} {
		link, err := os.Readlink(filepath.Join(snap, f))
		if err != nil || link != "../../blobs/"+r.ETag(f) {
			t.Errorf("%s -> %q, %v", f, link, err)
		}
	}
	_, errOut, err = runHubCLI(t, "pull", "acme/tiny")
	if err != nil || !strings.Contains(errOut, "cached") || strings.Contains(errOut, "downloaded") {
		t.Errorf("second pull: %v\n%s", err, errOut)
	}

	out, _, err = runHubCLI(t, "models")
	if err != nil || !strings.Contains(out, "acme/tiny") || !strings.Contains(out, "main") ||
		!strings.Contains(out, r.Commit[:12]) || !strings.Contains(out, "complete") || !strings.Contains(out, "KiB") {
		t.Errorf("models: %v\n%s", err, out)
	}

	_, _, err = runHubCLI(t, "pull", "acme/nope")
	if err == nil || !strings.Contains(err.Error(), "acme/nope not found") {
		t.Errorf("missing repo: %v", err)
	}

	// Offline, a --model repo id resolves from the cache without a request.
	t.Setenv("HF_HUB_OFFLINE", "1")
	before := h.Requests()
	dir, err := app.Resolve(context.Background(), "acme/tiny", true)
	if err != nil || dir != snap {
		t.Errorf("offline resolve: %s %v", dir, err)
	}
	if _, err := app.Resolve(context.Background(), "acme/other", true); err == nil ||
		!strings.Contains(err.Error(), "HF_HUB_OFFLINE=1") || !strings.Contains(err.Error(), "infty pull acme/other") {
		t.Errorf("offline miss: %v", err)
	}
	if _, _, err := runHubCLI(t, "pull", "acme/tiny"); err == nil || !strings.Contains(err.Error(), "HF_HUB_OFFLINE=1") {
		t.Errorf("offline pull: %v", err)
	}
	if n := h.Requests() - before; n != 0 {
		t.Errorf("%d requests while offline", n)
	}
}

func TestModelsCommandEmptyCache(t *testing.T) {
	cache := hubEnv(t, hubtest.New(t))
	out, _, err := runHubCLI(t, "models")
	if err != nil || !strings.Contains(out, "no models in the cache at "+cache) {
		t.Errorf("%v %q", err, out)
	}
}

// The command-line contract: after `infty pull ORG/NAME`, `HF_HUB_OFFLINE=1 infty generate
// --model ORG/NAME` loads from the cache and generates what the model folder itself generates.
func TestGenerateOfflineFromPulledRepo(t *testing.T) {
	h := hubtest.New(t)
	folder := filepath.Join("testdata", "models", "qwen2-tiny-bf16")
	h.AddRepo("acme/tiny", hubtest.ModelFiles(t, folder))
	hubEnv(t, h)
	if _, errOut, err := runHubCLI(t, "pull", "-q", "acme/tiny"); err != nil {
		t.Fatalf("pull: %v\n%s", err, errOut)
	}
	t.Setenv("HF_HUB_OFFLINE", "1")
	before := h.Requests()
	args := []string{"--ids", "3,17,42,99", "--max-tokens", "6"}
	fromRepo, errOut, err := runHubCLI(t, append([]string{"generate", "--model", "acme/tiny"}, args...)...)
	if err != nil {
		t.Fatalf("generate --model acme/tiny offline: %v\n%s", err, errOut)
	}
	fromFolder, errOut, err := runHubCLI(t, append([]string{"generate", "--model", folder}, args...)...)
	if err != nil {
		t.Fatalf("generate --model %s: %v\n%s", folder, err, errOut)
	}
	if !strings.Contains(fromRepo, `"ids":[`) || fromRepo != fromFolder {
		t.Errorf("generate from the cache printed %q, from the folder %q", fromRepo, fromFolder)
	}
	if n := h.Requests() - before; n != 0 {
		t.Errorf("%d requests while offline", n)
	}
	_, _, err = runHubCLI(t, "generate", "--model", "acme/absent", "--ids", "1")
	if err == nil || !strings.Contains(err.Error(), "infty pull acme/absent") {
		t.Errorf("generate with a model not in the cache: %v", err)
	}
}

// `infty pull --verify` rehashes what is cached and says what it repaired; a bad
// --stall-timeout is refused naming the flag.
func TestPullVerifyAndStallTimeoutFlags(t *testing.T) {
	h := hubtest.New(t)
	r := h.AddRepo("acme/tiny", hubtest.ModelFiles(t, filepath.Join("testdata", "models", "qwen2-tiny-bf16")))
	cache := hubEnv(t, h)
	if _, errOut, err := runHubCLI(t, "pull", "-q", "acme/tiny"); err != nil {
		t.Fatalf("pull: %v\n%s", err, errOut)
	}
	blob := filepath.Join(cache, "models--acme--tiny", "blobs", r.ETag("model-00001-of-00002.safetensors"))
	b, _ := os.ReadFile(blob)
	b[len(b)/2] ^= 1
	os.WriteFile(blob, b, 0o644)
	out, errOut, err := runHubCLI(t, "pull", "--verify", "--stall-timeout", "30s", "acme/tiny")
	if err != nil || !strings.Contains(out, "corrupt and downloaded again: model-00001-of-00002.safetensors") {
		t.Errorf("pull --verify: %v\n%s%s", err, out, errOut)
	}
	if fixed, _ := os.ReadFile(blob); !bytes.Equal(fixed, r.Files["model-00001-of-00002.safetensors"]) {
		t.Error("the corrupt blob was not repaired")
	}
	if _, _, err := runHubCLI(t, "pull", "--stall-timeout", "soon", "acme/tiny"); err == nil || !strings.Contains(err.Error(), "--stall-timeout") {
		t.Errorf("bad --stall-timeout: %v", err)
	}
}
