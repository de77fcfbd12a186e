//go:build unix

package hub

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/infty-dev/infty/runtime/hub/hubtest"
)

// A planted link where the cache writes a partial download must be refused, not written
// through: the file it names keeps its content.
func TestPullRefusesPlantedSymlinks(t *testing.T) {
	for _, where := range []string{"incomplete", "blob", "lock"} {
		t.Run(where, func(t *testing.T) {
			h := hubtest.New(t)
			r, _ := shardedRepo(t, h, "acme/tiny")
			cache := t.TempDir()
			victim := filepath.Join(t.TempDir(), "victim")
			os.WriteFile(victim, []byte("precious"), 0o644)
			etag := hubtest.SHA256Hex(r.Files["model-00002-of-00002.safetensors"])
			rc := repoCache{cacheDir: cache, repo: "acme/tiny"}
			link := map[string]string{"incomplete": rc.blob(etag) + ".incomplete", "blob": rc.blob(etag), "lock": rc.lock(etag)}[where]
			os.MkdirAll(filepath.Dir(link), 0o755)
			if where == "blob" {
				// Same size as the shard, so only the link itself gives it away.
				os.WriteFile(victim, make([]byte, len(r.Files["model-00002-of-00002.safetensors"])), 0o644)
			}
			if err := os.Symlink(victim, link); err != nil {
				t.Fatal(err)
			}
			before, _ := os.ReadFile(victim)
			_, err := testClient(h, cache, "").Pull(context.Background(), "acme/tiny", "main")
			if err == nil || !strings.Contains(err.Error(), link) || !strings.Contains(err.Error(), "symbolic link") {
				t.Errorf("err = %v, want a refusal naming %s", err, link)
			}
			if after, _ := os.ReadFile(victim); string(after) != string(before) {
				t.Errorf("the link's target was written: %d bytes now", len(after))
			}
		})
	}
}

// refs/main is read with a small bound and quoted only in part: one pointing at a secret does
// not print it, and a FIFO there does not hang.
func TestResolveRefuseOddRefs(t *testing.T) {
	cfg := Config{CacheDir: t.TempDir(), Offline: true}
	rc := repoCache{cacheDir: cfg.CacheDir, repo: "acme/tiny"}
	os.MkdirAll(filepath.Join(rc.root(), "refs"), 0o755)
	secret := filepath.Join(t.TempDir(), "passwd")
	os.WriteFile(secret, []byte("root:x:0:0:root:/root:/bin/bash\ndaemon:x:1:1:daemon:/usr/sbin:/usr/sbin/nologin\nsecret-line\n"), 0o644)
	if err := os.Symlink(secret, rc.ref("main")); err != nil {
		t.Fatal(err)
	}
	_, err := Resolve(context.Background(), "acme/tiny", ResolveOptions{Config: &cfg})
	if err == nil || !strings.Contains(err.Error(), "not a commit hash") || strings.Contains(err.Error(), "secret-line") || strings.Contains(err.Error(), "nologin") {
		t.Errorf("ref to a secret: %v", err)
	}
	os.Remove(rc.ref("main"))
	if err := syscall.Mkfifo(rc.ref("main"), 0o644); err != nil {
		t.Skip(err)
	}
	if _, err := Resolve(context.Background(), "acme/tiny", ResolveOptions{Config: &cfg}); err == nil || !strings.Contains(err.Error(), "named pipe") {
		t.Errorf("FIFO ref: %v", err)
	}
	os.Remove(rc.ref("main"))
	os.WriteFile(rc.ref("main"), nil, 0o644)
	os.Truncate(rc.ref("main"), 1<<30) // sparse: costs no disk
	if _, err := Resolve(context.Background(), "acme/tiny", ResolveOptions{Config: &cfg}); err == nil || !strings.Contains(err.Error(), "larger than") {
		t.Errorf("huge ref: %v", err)
	}
}

// The memory estimate checks a file's type before it reads: a FIFO named model.safetensors
// fails at once, and so does a device or an oversized file in place of config.json.
func TestEstimateMemoryRefusesOddFiles(t *testing.T) {
	dir := t.TempDir()
	cfg, _ := os.ReadFile(filepath.Join(tinyDir("qwen2-tiny-f32"), "config.json"))
	os.WriteFile(filepath.Join(dir, "config.json"), cfg, 0o644)
	if err := syscall.Mkfifo(filepath.Join(dir, "model.safetensors"), 0o644); err != nil {
		t.Skip(err)
	}
	if _, err := EstimateMemory(dir, MemoryOptions{}); err == nil || !strings.Contains(err.Error(), "named pipe") {
		t.Errorf("FIFO weights: %v", err)
	}
	os.Remove(filepath.Join(dir, "config.json"))
	os.Symlink("/dev/zero", filepath.Join(dir, "config.json"))
	if _, err := EstimateMemory(dir, MemoryOptions{}); err == nil || !strings.Contains(err.Error(), "not a regular file") {
		t.Errorf("/dev/zero config: %v", err)
	}
	os.Remove(filepath.Join(dir, "config.json"))
	os.WriteFile(filepath.Join(dir, "config.json"), nil, 0o644)
	os.Truncate(filepath.Join(dir, "config.json"), 1<<30)
	if _, err := EstimateMemory(dir, MemoryOptions{}); err == nil || !strings.Contains(err.Error(), "larger than") {
		t.Errorf("huge config: %v", err)
	}
}
