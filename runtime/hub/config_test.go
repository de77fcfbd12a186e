package hub

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestConfigFromEnv(t *testing.T) {
	home := t.TempDir()
	for _, k := range []string{"HF_HUB_CACHE", "HUGGINGFACE_HUB_CACHE", "HF_ENDPOINT", "HF_TOKEN",
		"HUGGING_FACE_HUB_TOKEN", "HF_TOKEN_PATH", "HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE", "XDG_CACHE_HOME"} {
		t.Setenv(k, "")
	}
	t.Setenv("HF_HOME", home)
	if err := os.WriteFile(filepath.Join(home, "token"), []byte("hf_fromfile\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	c := ConfigFromEnv()
	want := Config{CacheDir: filepath.Join(home, "hub"), Endpoint: DefaultEndpoint, Token: "hf_fromfile"}
	if c != want {
		t.Errorf("got %+v, want %+v", c, want)
	}
	t.Setenv("HF_HUB_CACHE", "/x/cache")
	t.Setenv("HF_ENDPOINT", "http://127.0.0.1:9/")
	t.Setenv("HF_TOKEN", "hf_env")
	t.Setenv("HF_HUB_OFFLINE", "yes")
	c = ConfigFromEnv()
	want = Config{CacheDir: "/x/cache", Endpoint: "http://127.0.0.1:9", Token: "hf_env", Offline: true}
	if c != want {
		t.Errorf("got %+v, want %+v", c, want)
	}
	for v, off := range map[string]bool{"1": true, "ON": true, "true": true, "0": false, "no": false, "": false} {
		t.Setenv("HF_HUB_OFFLINE", v)
		if ConfigFromEnv().Offline != off {
			t.Errorf("HF_HUB_OFFLINE=%q: offline %v", v, !off)
		}
	}
	t.Setenv("HF_HOME", "")
	t.Setenv("HF_HUB_CACHE", "")
	t.Setenv("XDG_CACHE_HOME", "/xdg")
	if got := ConfigFromEnv().CacheDir; got != "/xdg/huggingface/hub" {
		t.Errorf("XDG default cache %s", got)
	}
}

func TestNamingMatchesHuggingfaceHub(t *testing.T) {
	for in, want := range map[string]string{`"abc123"`: "abc123", `W/"abc123"`: "abc123", "abc123": "abc123", ` "x" `: "x"} {
		if got := NormalizeETag(in); got != want {
			t.Errorf("NormalizeETag(%q) = %q, want %q", in, got, want)
		}
	}
	if got := RepoFolderName("deepseek-ai/DeepSeek-R1-Distill-Qwen-1.5B"); got != "models--deepseek-ai--DeepSeek-R1-Distill-Qwen-1.5B" {
		t.Errorf("RepoFolderName = %s", got)
	}
	rc := repoCache{cacheDir: "/c", repo: "a/b"}
	if rc.lock("e") != "/c/.locks/models--a--b/e.lock" || rc.blob("e") != "/c/models--a--b/blobs/e" || rc.ref("main") != "/c/models--a--b/refs/main" {
		t.Errorf("paths %s %s %s", rc.lock("e"), rc.blob("e"), rc.ref("main"))
	}
}

func TestParseRepoID(t *testing.T) {
	good := map[string][2]string{
		"deepseek-ai/DeepSeek-R1-Distill-Qwen-1.5B": {"deepseek-ai/DeepSeek-R1-Distill-Qwen-1.5B", "main"},
		"Qwen/Qwen3-0.6B@v1.0":                      {"Qwen/Qwen3-0.6B", "v1.0"},
		"a/b@refs/pr/1":                             {"a/b", "refs/pr/1"},
	}
	for in, want := range good {
		repo, rev, err := ParseRepoID(in)
		if err != nil || repo != want[0] || rev != want[1] {
			t.Errorf("ParseRepoID(%q) = %q %q %v", in, repo, rev, err)
		}
	}
	for _, bad := range []string{"noslash", "a/b/c", "a--x/b", "../b", "a/..", "a/b@", "a/b@../../x", "/a"} {
		if _, _, err := ParseRepoID(bad); err == nil {
			t.Errorf("ParseRepoID(%q) accepted", bad)
		}
	}
}

func TestResolveFoldersAndCachePaths(t *testing.T) {
	ctx := context.Background()
	cfg := Config{CacheDir: t.TempDir(), Offline: true}
	opts := ResolveOptions{Config: &cfg}
	model, _ := filepath.Abs(filepath.Join("..", "..", "testdata", "models", "qwen2-tiny-bf16"))
	if dir, err := Resolve(ctx, filepath.Join("..", "..", "testdata", "models", "qwen2-tiny-bf16"), opts); err != nil || dir != model {
		t.Errorf("local folder: %s %v", dir, err)
	}
	if _, err := Resolve(ctx, "./no/such/model", opts); err == nil || !strings.Contains(err.Error(), "does not exist") {
		t.Errorf("missing folder: %v", err)
	}
	empty := t.TempDir()
	if _, err := Resolve(ctx, empty, opts); err == nil || !strings.Contains(err.Error(), "is not a Hugging Face model folder: it has no config.json") {
		t.Errorf("empty folder: %v", err)
	}
	if _, err := Resolve(ctx, "not a model", opts); err == nil || !strings.Contains(err.Error(), "ORG/NAME") {
		t.Errorf("bad name: %v", err)
	}

	// A hand-built cache entry in the huggingface_hub layout resolves by repo id and by the path
	// of its repo folder; breaking a shard's blob makes it incomplete.
	commit := strings.Repeat("ab", 20)
	rc := repoCache{cacheDir: cfg.CacheDir, repo: "acme/tiny"}
	for _, f := range []string{"config.json", "tokenizer.json", "model.safetensors.index.json",
		"model-00001-of-00002.safetensors", "model-00002-of-00002.safetensors"} {
		b, err := os.ReadFile(filepath.Join(model, f))
		if err != nil {
			t.Fatal(err)
		}
		blob := rc.blob("etag-" + f)
		os.MkdirAll(filepath.Dir(blob), 0o755)
		if err := os.WriteFile(blob, b, 0o644); err != nil {
			t.Fatal(err)
		}
		if err := linkPointer(filepath.Join(rc.snapshot(commit), f), blob); err != nil {
			t.Fatal(err)
		}
	}
	if err := rc.writeRef("main", commit); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"acme/tiny", rc.root(), "acme/tiny@" + commit} {
		if dir, err := Resolve(ctx, name, opts); err != nil || dir != rc.snapshot(commit) {
			t.Errorf("Resolve(%s) = %s, %v", name, dir, err)
		}
	}
	list, err := ListCached(cfg.CacheDir)
	if err != nil || len(list) != 1 || list[0].Repo != "acme/tiny" || list[0].Commit != commit ||
		strings.Join(list[0].Refs, ",") != "main" || !list[0].Complete {
		t.Errorf("ListCached = %+v, %v", list, err)
	}
	os.Remove(rc.blob("etag-model-00002-of-00002.safetensors"))
	_, err = Resolve(ctx, "acme/tiny", opts)
	if !errors.Is(err, ErrOffline) || !strings.Contains(err.Error(), "lacks model-00002-of-00002.safetensors") {
		t.Errorf("dangling shard: %v", err)
	}
	list, _ = ListCached(cfg.CacheDir)
	if len(list) != 1 || list[0].Complete || strings.Join(list[0].Missing, ",") != "model-00002-of-00002.safetensors" {
		t.Errorf("ListCached after breaking a shard: %+v", list)
	}
	if list, err := ListCached(filepath.Join(cfg.CacheDir, "nope")); err != nil || len(list) != 0 {
		t.Errorf("missing cache: %v %v", list, err)
	}
}
