package hub

import (
	"bytes"
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/infty-dev/infty/runtime/hub/hubtest"
)

func repoFiles(t *testing.T, name string) map[string][]byte {
	return hubtest.ModelFiles(t, filepath.Join("..", "..", "testdata", "models", name))
}

func testClient(h *hubtest.Hub, cache, token string) *Client {
	c := NewClient(Config{CacheDir: cache, Endpoint: h.URL(), Token: token})
	c.Retries, c.RetryWait, c.StallTimeout = 3, time.Millisecond, 10*time.Second
	return c
}

// shardedRepo is the BF16 tiny Qwen2 (index + two shards) plus files a pull must skip,
// among them a .safetensors file that the index does not name.
func shardedRepo(t *testing.T, h *hubtest.Hub, id string) (*hubtest.Repo, []string) {
	files := repoFiles(t, "qwen2-tiny-bf16")
	files["extra.safetensors"] = bytes.Repeat([]byte{9}, 300)
	r := h.AddRepo(id, files)
	return r, []string{"config.json", "generation_config.json", "model-00001-of-00002.safetensors",
		"model-00002-of-00002.safetensors", "model.safetensors.index.json", "tokenizer.json", "tokenizer_config.json"}
}

// checkCache asserts the huggingface_hub layout for a pulled repo: refs/main holds the commit
// (no newline), the snapshot holds exactly want, each a relative symlink ../../blobs/<etag>
// whose content is the repo's, LFS blobs named by sha256 and others by git blob sha1, and no
// partial file anywhere in blobs/.
func checkCache(t *testing.T, cache, id string, r *hubtest.Repo, want []string) {
	t.Helper()
	root := filepath.Join(cache, "models--"+strings.ReplaceAll(id, "/", "--"))
	ref, err := os.ReadFile(filepath.Join(root, "refs", "main"))
	if err != nil || string(ref) != r.Commit {
		t.Fatalf("refs/main = %q, %v; want %q", ref, err, r.Commit)
	}
	snap := filepath.Join(root, "snapshots", r.Commit)
	var got []string
	filepath.Walk(snap, func(p string, fi os.FileInfo, err error) error {
		if err == nil && !fi.IsDir() {
			rel, _ := filepath.Rel(snap, p)
			got = append(got, filepath.ToSlash(rel))
		}
		return nil
	})
	sort.Strings(got)
	sort.Strings(want)
	if strings.Join(got, ",") != strings.Join(want, ",") {
		t.Fatalf("snapshot files\n got %v\nwant %v", got, want)
	}
	for _, f := range want {
		p := filepath.Join(snap, f)
		link, err := os.Readlink(p)
		if err != nil {
			t.Fatalf("%s is not a symlink: %v", f, err)
		}
		etag := hubtest.GitBlobSHA(r.Files[f])
		if r.LFS[f] {
			etag = hubtest.SHA256Hex(r.Files[f])
		}
		if wantLink := "../../blobs/" + etag; link != wantLink {
			t.Errorf("%s -> %s, want %s", f, link, wantLink)
		}
		b, err := os.ReadFile(p)
		if err != nil || !bytes.Equal(b, r.Files[f]) {
			t.Errorf("%s: content differs from the repo's (%d bytes, %v)", f, len(b), err)
		}
	}
	blobs, _ := os.ReadDir(filepath.Join(root, "blobs"))
	for _, b := range blobs {
		if strings.Contains(b.Name(), ".") {
			t.Errorf("stray file in blobs: %s", b.Name())
		}
	}
	if len(blobs) != len(want) {
		t.Errorf("%d blobs, want %d", len(blobs), len(want))
	}
}

func TestPullFresh(t *testing.T) {
	h := hubtest.New(t)
	r, want := shardedRepo(t, h, "acme/tiny")
	cache := t.TempDir()
	c := testClient(h, cache, "hf_secret")
	var events []Progress
	c.Progress = func(p Progress) { events = append(events, p) }
	snap, err := c.Pull(context.Background(), "acme/tiny", "main")
	if err != nil {
		t.Fatal(err)
	}
	checkCache(t, cache, "acme/tiny", r, want)
	if snap.Commit != r.Commit || snap.Dir != filepath.Join(cache, "models--acme--tiny", "snapshots", r.Commit) {
		t.Errorf("snapshot %+v", snap)
	}
	var total int64
	for _, f := range want {
		total += int64(len(r.Files[f]))
	}
	last := events[len(events)-1]
	if snap.Size != total || last.Done != total || last.Total != total {
		t.Errorf("size %d, last progress %d/%d; want %d", snap.Size, last.Done, last.Total, total)
	}
	// The token goes to the hub as a bearer token and never to the CDN; every CDN request is
	// for an LFS file, every hub request for a listing or a resolve.
	cdnGets := 0
	for _, q := range h.Log() {
		switch {
		case q.CDN && q.Auth != "":
			t.Errorf("token sent to the CDN: %+v", q)
		case !q.CDN && q.Auth != "Bearer hf_secret":
			t.Errorf("hub request without the bearer token: %+v", q)
		case q.CDN:
			cdnGets++
		}
		if strings.Contains(q.Path, "README") || strings.Contains(q.Path, "pytorch_model") ||
			strings.Contains(q.Path, "onnx") || strings.Contains(q.Path, "extra") {
			t.Errorf("fetched a file the model does not need: %s %s", q.Method, q.Path)
		}
	}
	if cdnGets != 2 {
		t.Errorf("%d CDN requests, want 2 (one per shard)", cdnGets)
	}

	// A second pull finds everything in place and downloads nothing.
	h.ResetLog()
	if _, err := c.Pull(context.Background(), "acme/tiny", "main"); err != nil {
		t.Fatal(err)
	}
	for _, q := range h.Log() {
		if q.Method == "GET" && !strings.HasPrefix(q.Path, "/api/") {
			t.Errorf("second pull downloaded %s", q.Path)
		}
	}
	checkCache(t, cache, "acme/tiny", r, want)
}

func TestPullSingleSafetensorsSkipsOthers(t *testing.T) {
	h := hubtest.New(t)
	files := repoFiles(t, "qwen3-tiny-f32")
	files["consolidated.safetensors"] = bytes.Repeat([]byte{1}, 100)
	r := h.AddRepo("acme/single", files)
	cache := t.TempDir()
	if _, err := testClient(h, cache, "").Pull(context.Background(), "acme/single", "main"); err != nil {
		t.Fatal(err)
	}
	checkCache(t, cache, "acme/single", r, []string{"config.json", "generation_config.json",
		"model.safetensors", "tokenizer.json", "tokenizer_config.json"})
}

func TestPullResumesAfterCutWithinOnePull(t *testing.T) {
	h := hubtest.New(t)
	r, want := shardedRepo(t, h, "acme/tiny")
	const shard = "model-00001-of-00002.safetensors"
	h.CutAfter(shard, 50000, 1)
	cache := t.TempDir()
	retries := 0
	c := testClient(h, cache, "")
	c.Progress = func(p Progress) {
		if p.Phase == PhaseRetry {
			retries++
		}
	}
	if _, err := c.Pull(context.Background(), "acme/tiny", "main"); err != nil {
		t.Fatal(err)
	}
	checkCache(t, cache, "acme/tiny", r, want)
	var ranges []string
	for _, q := range h.Log() {
		if q.CDN && strings.HasSuffix(q.Path, hubtest.SHA256Hex(r.Files[shard])) {
			ranges = append(ranges, q.Range)
		}
	}
	if strings.Join(ranges, "|") != "|bytes=50000-" || retries != 1 {
		t.Errorf("shard requests with Range %q and %d retries; want a full GET then bytes=50000-", ranges, retries)
	}
}

func TestPullResumesAcrossRuns(t *testing.T) {
	h := hubtest.New(t)
	r, want := shardedRepo(t, h, "acme/tiny")
	const shard = "model-00001-of-00002.safetensors"
	h.CutAfter(shard, 40000, 1)
	cache := t.TempDir()
	c := testClient(h, cache, "")
	c.Retries = 0
	_, err := c.Pull(context.Background(), "acme/tiny", "main")
	if err == nil || !strings.Contains(err.Error(), shard) || !strings.Contains(err.Error(), "cut at byte 40000") {
		t.Fatalf("want an error naming the cut shard, got %v", err)
	}
	root := filepath.Join(cache, "models--acme--tiny")
	blob := filepath.Join(root, "blobs", hubtest.SHA256Hex(r.Files[shard]))
	if fi, err := os.Stat(blob + ".incomplete"); err != nil || fi.Size() != 40000 {
		t.Fatalf("incomplete file: %v %v", fi, err)
	}
	if _, err := os.Stat(blob); !os.IsNotExist(err) {
		t.Fatalf("a blob exists after a failed download: %v", err)
	}
	if _, err := os.Lstat(filepath.Join(root, "snapshots", r.Commit, shard)); !os.IsNotExist(err) {
		t.Fatalf("snapshot points at a file that is not complete")
	}
	if _, err := os.Stat(filepath.Join(root, "refs", "main")); !os.IsNotExist(err) {
		t.Fatalf("refs/main written by a failed pull")
	}
	cfg := Config{CacheDir: cache, Offline: true}
	if _, err := Resolve(context.Background(), "acme/tiny", ResolveOptions{Config: &cfg}); !errors.Is(err, ErrOffline) {
		t.Fatalf("Resolve of a half-pulled model: %v", err)
	}

	h.ResetLog()
	if _, err := testClient(h, cache, "").Pull(context.Background(), "acme/tiny", "main"); err != nil {
		t.Fatal(err)
	}
	checkCache(t, cache, "acme/tiny", r, want)
	found := false
	for _, q := range h.Log() {
		if q.CDN && strings.HasSuffix(q.Path, hubtest.SHA256Hex(r.Files[shard])) {
			found = true
			if q.Range != "bytes=40000-" {
				t.Errorf("second run asked for Range %q, want bytes=40000-", q.Range)
			}
		}
	}
	if !found {
		t.Error("second run did not fetch the rest of the shard")
	}
}

func TestPullRejectsShortBody(t *testing.T) {
	h := hubtest.New(t)
	r, _ := shardedRepo(t, h, "acme/tiny")
	const shard = "model-00002-of-00002.safetensors"
	h.Short(shard, 1000)
	cache := t.TempDir()
	c := testClient(h, cache, "")
	c.Retries = 1
	_, err := c.Pull(context.Background(), "acme/tiny", "main")
	if err == nil || !strings.Contains(err.Error(), shard) || !strings.Contains(err.Error(), "shorter than announced") {
		t.Fatalf("want a short-body error naming %s, got %v", shard, err)
	}
	root := filepath.Join(cache, "models--acme--tiny")
	if _, err := os.Stat(filepath.Join(root, "blobs", hubtest.SHA256Hex(r.Files[shard]))); !os.IsNotExist(err) {
		t.Fatal("a short blob was moved into place")
	}
	if _, err := os.Lstat(filepath.Join(root, "snapshots", r.Commit, shard)); !os.IsNotExist(err) {
		t.Fatal("the snapshot points at a short file")
	}
}

func TestPullRejectsWrongSHA256(t *testing.T) {
	h := hubtest.New(t)
	r, _ := shardedRepo(t, h, "acme/tiny")
	const shard = "model-00001-of-00002.safetensors"
	h.Corrupt(shard)
	cache := t.TempDir()
	_, err := testClient(h, cache, "").Pull(context.Background(), "acme/tiny", "main")
	if !errors.Is(err, ErrCorrupt) || !strings.Contains(err.Error(), "sha256") || !strings.Contains(err.Error(), shard) {
		t.Fatalf("want a sha256 error naming %s, got %v", shard, err)
	}
	blob := filepath.Join(cache, "models--acme--tiny", "blobs", hubtest.SHA256Hex(r.Files[shard]))
	for _, p := range []string{blob, blob + ".incomplete"} {
		if _, err := os.Stat(p); !os.IsNotExist(err) {
			t.Errorf("%s left behind after a hash mismatch", filepath.Base(p))
		}
	}
	// Corruption is not retried: one CDN request for the shard.
	n := 0
	for _, q := range h.Log() {
		if q.CDN && strings.HasSuffix(q.Path, hubtest.SHA256Hex(r.Files[shard])) {
			n++
		}
	}
	if n != 1 {
		t.Errorf("%d requests for the corrupt shard, want 1", n)
	}
}

func TestPullRepairsTruncatedBlob(t *testing.T) {
	h := hubtest.New(t)
	r, want := shardedRepo(t, h, "acme/tiny")
	cache := t.TempDir()
	c := testClient(h, cache, "")
	if _, err := c.Pull(context.Background(), "acme/tiny", "main"); err != nil {
		t.Fatal(err)
	}
	blob := filepath.Join(cache, "models--acme--tiny", "blobs", hubtest.SHA256Hex(r.Files["model-00002-of-00002.safetensors"]))
	if err := os.Truncate(blob, 10); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Pull(context.Background(), "acme/tiny", "main"); err != nil {
		t.Fatal(err)
	}
	checkCache(t, cache, "acme/tiny", r, want)
}

func TestPullErrors(t *testing.T) {
	h := hubtest.New(t)
	shardedRepo(t, h, "acme/tiny")
	g, _ := shardedRepo(t, h, "acme/gated")
	g.Gated = true
	d, _ := shardedRepo(t, h, "acme/denied")
	d.GatedDeny = true
	p, _ := shardedRepo(t, h, "acme/private")
	p.Private = true
	bad := repoFiles(t, "qwen2-tiny-bf16")
	delete(bad, "model-00002-of-00002.safetensors")
	h.AddRepo("acme/badindex", bad)
	noWeights := repoFiles(t, "qwen2-tiny-f32")
	delete(noWeights, "model.safetensors")
	h.AddRepo("acme/noweights", noWeights)

	cases := []struct {
		repo, rev, token string
		is               error
		says             []string
	}{
		{"acme/missing", "main", "", ErrRepoNotFound, []string{"acme/missing not found", "set HF_TOKEN"}},
		{"acme/missing", "main", "hf_secret", ErrRepoNotFound, []string{"acme/missing not found", "token cannot see it"}},
		{"acme/private", "main", "", ErrRepoNotFound, []string{"acme/private not found", "private or gated"}},
		{"acme/gated", "main", "", ErrGated, []string{"acme/gated is gated", "accept its terms at " + h.URL() + "/acme/gated", "HF_TOKEN"}},
		{"acme/denied", "main", "hf_secret", ErrGated, []string{"your token has no access"}},
		{"acme/tiny", "main", "hf_wrong", ErrUnauthorized, []string{"rejected the token"}},
		{"acme/tiny", "v9", "", ErrRevisionNotFound, []string{`revision "v9" not found in acme/tiny`}},
		{"acme/badindex", "main", "", nil, []string{"names shard model-00002-of-00002.safetensors, which the repo does not have"}},
		{"acme/noweights", "main", "", nil, []string{"lacks *.safetensors weights"}},
	}
	for _, tc := range cases {
		_, err := testClient(h, t.TempDir(), tc.token).Pull(context.Background(), tc.repo, tc.rev)
		if err == nil || (tc.is != nil && !errors.Is(err, tc.is)) {
			t.Errorf("%s@%s token %q: got %v, want %v", tc.repo, tc.rev, tc.token, err, tc.is)
			continue
		}
		for _, s := range tc.says {
			if !strings.Contains(err.Error(), s) {
				t.Errorf("%s@%s token %q: %q does not say %q", tc.repo, tc.rev, tc.token, err, s)
			}
		}
	}
	// A gated or private repo pulls once the token is good.
	for _, id := range []string{"acme/gated", "acme/private"} {
		if _, err := testClient(h, t.TempDir(), "hf_secret").Pull(context.Background(), id, "main"); err != nil {
			t.Errorf("%s with a token: %v", id, err)
		}
	}
	// A file the repo lacks is a 404 EntryNotFound, told apart from a missing repo.
	_, err := testClient(h, t.TempDir(), "").headFile(context.Background(), "acme/tiny", "main", "nope.json")
	if !errors.Is(err, ErrEntryNotFound) || !strings.Contains(err.Error(), "acme/tiny has no file nope.json") {
		t.Errorf("missing file: %v", err)
	}
}

func TestOfflineResolveMakesNoRequest(t *testing.T) {
	h := hubtest.New(t)
	shardedRepo(t, h, "acme/tiny")
	cache := t.TempDir()
	snap, err := testClient(h, cache, "").Pull(context.Background(), "acme/tiny", "main")
	if err != nil {
		t.Fatal(err)
	}
	before := h.Requests()
	for _, offline := range []bool{true, false} {
		cfg := Config{CacheDir: cache, Endpoint: h.URL(), Offline: offline}
		for _, name := range []string{"acme/tiny", "acme/tiny@main", "acme/tiny@" + snap.Commit} {
			dir, err := Resolve(context.Background(), name, ResolveOptions{Config: &cfg, Download: true})
			if err != nil || dir != snap.Dir {
				t.Errorf("Resolve(%s, offline=%v) = %s, %v; want %s", name, offline, dir, err, snap.Dir)
			}
		}
	}
	cfg := Config{CacheDir: cache, Endpoint: h.URL(), Offline: true}
	_, err = Resolve(context.Background(), "acme/other", ResolveOptions{Config: &cfg, Download: true})
	if !errors.Is(err, ErrOffline) || !strings.Contains(err.Error(), "HF_HUB_OFFLINE=1") ||
		!strings.Contains(err.Error(), "acme/other is not in the cache at "+cache) || !strings.Contains(err.Error(), "infty pull acme/other") {
		t.Errorf("offline miss: %v", err)
	}
	if _, err := NewClient(cfg).Pull(context.Background(), "acme/tiny", "main"); !errors.Is(err, ErrOffline) {
		t.Errorf("offline pull: %v", err)
	}
	if n := h.Requests() - before; n != 0 {
		t.Errorf("the server got %d requests while resolving from the cache", n)
	}
	// Online but without Download: a miss says how to get the model, and makes no request.
	cfg.Offline = false
	_, err = Resolve(context.Background(), "acme/other@v2", ResolveOptions{Config: &cfg})
	if !errors.Is(err, ErrNotCached) || !strings.Contains(err.Error(), "run `infty pull acme/other@v2`") {
		t.Errorf("online miss without download: %v", err)
	}
	if n := h.Requests() - before; n != 0 {
		t.Errorf("the server got %d requests", n)
	}
	// With Download the miss is pulled.
	h.AddRepo("acme/other", repoFiles(t, "qwen3-tiny-f32"))
	dir, err := Resolve(context.Background(), "acme/other", ResolveOptions{Config: &cfg, Download: true,
		Client: testClient(h, cache, "")})
	if err != nil || len(MissingFiles(dir)) != 0 {
		t.Errorf("Resolve with download: %s %v", dir, err)
	}
}

func TestConcurrentPullsGoroutines(t *testing.T) {
	h := hubtest.New(t)
	r, want := shardedRepo(t, h, "acme/tiny")
	h.SlowCDN(20 * time.Millisecond)
	cache := t.TempDir()
	var wg sync.WaitGroup
	errs := make([]error, 6)
	for i := range errs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, errs[i] = testClient(h, cache, "").Pull(context.Background(), "acme/tiny", "main")
		}()
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	checkCache(t, cache, "acme/tiny", r, want)
	checkOneDownloadPerBlob(t, h)
}

// checkOneDownloadPerBlob: the lock makes the later pullers find the finished blob instead of
// downloading it again.
func checkOneDownloadPerBlob(t *testing.T, h *hubtest.Hub) {
	t.Helper()
	per := map[string]int{}
	for _, q := range h.Log() {
		if q.CDN {
			per[q.Path]++
		}
	}
	for p, n := range per {
		if n != 1 {
			t.Errorf("%s downloaded %d times", p, n)
		}
	}
}

// TestConcurrentPullsProcesses runs pulls of one repo in separate processes (this test binary
// re-executed) into one cache: the flock on .locks/…/<etag>.lock keeps them from corrupting
// each other or downloading a blob twice.
func TestConcurrentPullsProcesses(t *testing.T) {
	h := hubtest.New(t)
	r, want := shardedRepo(t, h, "acme/tiny")
	h.SlowCDN(100 * time.Millisecond)
	cache := t.TempDir()
	var cmds []*exec.Cmd
	var outs []*bytes.Buffer
	for range 3 {
		cmd := exec.Command(os.Args[0], "-test.run=^TestHelperPullProcess$")
		cmd.Env = append(os.Environ(), "HUB_HELPER_CACHE="+cache, "HUB_HELPER_ENDPOINT="+h.URL())
		out := &bytes.Buffer{}
		cmd.Stdout, cmd.Stderr = out, out
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		cmds, outs = append(cmds, cmd), append(outs, out)
	}
	for i, cmd := range cmds {
		if err := cmd.Wait(); err != nil {
			t.Fatalf("pull process %d: %v\n%s", i, err, outs[i])
		}
		if !strings.Contains(outs[i].String(), "PULLED") {
			t.Fatalf("pull process %d did not run the helper:\n%s", i, outs[i])
		}
	}
	checkCache(t, cache, "acme/tiny", r, want)
	checkOneDownloadPerBlob(t, h)
}

func TestHelperPullProcess(t *testing.T) {
	cache := os.Getenv("HUB_HELPER_CACHE")
	if cache == "" {
		t.Skip("helper for TestConcurrentPullsProcesses")
	}
	c := NewClient(Config{CacheDir: cache, Endpoint: os.Getenv("HUB_HELPER_ENDPOINT")})
	c.RetryWait = time.Millisecond
	if _, err := c.Pull(context.Background(), "acme/tiny", "main"); err != nil {
		t.Fatal(err)
	}
	os.Stdout.WriteString("PULLED\n")
}

func TestLockExcludesAndHonoursContext(t *testing.T) {
	path := filepath.Join(t.TempDir(), "x.lock")
	unlock, err := lockFile(context.Background(), path, nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 150*time.Millisecond)
	defer cancel()
	waited := false
	if _, err := lockFile(ctx, path, func() { waited = true }); !errors.Is(err, context.DeadlineExceeded) || !waited {
		t.Fatalf("second lock while held: %v (waited %v)", err, waited)
	}
	unlock()
	unlock2, err := lockFile(context.Background(), path, nil)
	if err != nil {
		t.Fatal(err)
	}
	unlock2()
}

func TestPullDiscardsCorruptPartialFile(t *testing.T) {
	h := hubtest.New(t)
	r, want := shardedRepo(t, h, "acme/tiny")
	const shard = "model-00001-of-00002.safetensors"
	cache := t.TempDir()
	blob := filepath.Join(cache, "models--acme--tiny", "blobs", r.ETag(shard))
	os.MkdirAll(filepath.Dir(blob), 0o755)
	// A leftover .incomplete whose bytes are not the file's: resuming it completes the size,
	// and the sha256 check must catch it and throw it away.
	if err := os.WriteFile(blob+".incomplete", bytes.Repeat([]byte{0xAA}, 1000), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := testClient(h, cache, "").Pull(context.Background(), "acme/tiny", "main")
	if !errors.Is(err, ErrCorrupt) || !strings.Contains(err.Error(), shard) {
		t.Fatalf("want a sha256 error for %s, got %v", shard, err)
	}
	if _, err := os.Stat(blob + ".incomplete"); !os.IsNotExist(err) {
		t.Fatal("the corrupt partial file was kept")
	}
	if _, err := testClient(h, cache, "").Pull(context.Background(), "acme/tiny", "main"); err != nil {
		t.Fatal(err)
	}
	checkCache(t, cache, "acme/tiny", r, want)
}

func TestPullWhenServerIgnoresRange(t *testing.T) {
	h := hubtest.New(t)
	r, want := shardedRepo(t, h, "acme/tiny")
	const shard = "model-00001-of-00002.safetensors"
	h.IgnoreRange(true)
	cache := t.TempDir()
	blob := filepath.Join(cache, "models--acme--tiny", "blobs", r.ETag(shard))
	os.MkdirAll(filepath.Dir(blob), 0o755)
	if err := os.WriteFile(blob+".incomplete", r.Files[shard][:1000], 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := testClient(h, cache, "").Pull(context.Background(), "acme/tiny", "main"); err != nil {
		t.Fatal(err)
	}
	checkCache(t, cache, "acme/tiny", r, want)
}

func TestPullRetriesAStalledTransfer(t *testing.T) {
	h := hubtest.New(t)
	r, want := shardedRepo(t, h, "acme/tiny")
	const shard = "model-00002-of-00002.safetensors"
	h.Stall(shard, 1)
	cache := t.TempDir()
	c := testClient(h, cache, "")
	c.StallTimeout = 200 * time.Millisecond
	if _, err := c.Pull(context.Background(), "acme/tiny", "main"); err != nil {
		t.Fatal(err)
	}
	checkCache(t, cache, "acme/tiny", r, want)
	var ranges []string
	for _, q := range h.Log() {
		if q.CDN && strings.HasSuffix(q.Path, r.ETag(shard)) {
			ranges = append(ranges, q.Range)
		}
	}
	if len(ranges) != 2 || ranges[0] != "" || !strings.HasPrefix(ranges[1], "bytes=") {
		t.Errorf("requests for the stalled shard: %q", ranges)
	}
}

// Servers that are not huggingface.co but speak its protocol: LFS content on the hub's own host
// behind a relative redirect, a listing without "sha", commits that are not 40-hex.
func TestPullFromHubVariants(t *testing.T) {
	for _, v := range []string{"relative-cdn", "no-listing-sha", "short-commit"} {
		t.Run(v, func(t *testing.T) {
			h := hubtest.New(t)
			r, want := shardedRepo(t, h, "acme/tiny")
			switch v {
			case "relative-cdn":
				h.RelativeCDN = true
			case "no-listing-sha":
				h.NoListingSHA = true
			case "short-commit":
				r.Commit = "v1-" + r.Commit[:8]
			}
			cache := t.TempDir()
			snap, err := testClient(h, cache, "").Pull(context.Background(), "acme/tiny", "main")
			if err != nil {
				t.Fatal(err)
			}
			checkCache(t, cache, "acme/tiny", r, want)
			cfg := Config{CacheDir: cache, Offline: true}
			if dir, err := Resolve(context.Background(), "acme/tiny", ResolveOptions{Config: &cfg}); err != nil || dir != snap.Dir {
				t.Errorf("Resolve: %s %v", dir, err)
			}
			cdn := 0
			for _, q := range h.Log() {
				if q.CDN {
					cdn++
				}
			}
			if cdn != 2 {
				t.Errorf("%d CDN requests, want 2", cdn)
			}
		})
	}
}

// A listing or HEAD request that stalls or gets a 5xx is retried like a file transfer, so a
// silent hub no longer hangs a pull; one that keeps failing ends the pull with the cause.
func TestPullRetriesListingAndHead(t *testing.T) {
	for _, c := range []struct {
		name, what string
		faults     []int
	}{
		{"stalled listing", "listing", []int{hubtest.Stalled}},
		{"listing 503", "listing", []int{503, 500}},
		{"stalled HEAD", "head", []int{hubtest.Stalled}},
		{"HEAD 502", "head", []int{502}},
	} {
		t.Run(c.name, func(t *testing.T) {
			h := hubtest.New(t)
			r, want := shardedRepo(t, h, "acme/tiny")
			h.Fail(c.what, c.faults...)
			cache := t.TempDir()
			cl := testClient(h, cache, "")
			cl.StallTimeout = 200 * time.Millisecond
			if _, err := cl.Pull(context.Background(), "acme/tiny", "main"); err != nil {
				t.Fatal(err)
			}
			checkCache(t, cache, "acme/tiny", r, want)
		})
	}
	h := hubtest.New(t)
	shardedRepo(t, h, "acme/tiny")
	h.Fail("listing", hubtest.Stalled, hubtest.Stalled, hubtest.Stalled, hubtest.Stalled)
	cl := testClient(h, t.TempDir(), "")
	cl.StallTimeout = 100 * time.Millisecond
	if _, err := cl.Pull(context.Background(), "acme/tiny", "main"); err == nil || !strings.Contains(err.Error(), "no data received") {
		t.Errorf("a listing that always stalls: %v", err)
	}
	h.Fail("head", 404)
	h.ResetLog()
	_, err := cl.Pull(context.Background(), "acme/tiny", "main")
	heads := 0
	for _, q := range h.Log() {
		if q.Method == "HEAD" {
			heads++
		}
	}
	if !errors.Is(err, ErrEntryNotFound) || heads != 1 {
		t.Errorf("a 404 on HEAD must not be retried: %d HEAD requests, %v", heads, err)
	}
}

func TestParseStallTimeout(t *testing.T) {
	for in, want := range map[string]time.Duration{"90s": 90 * time.Second, "2m": 2 * time.Minute, "30": 30 * time.Second, "0.5": 500 * time.Millisecond} {
		if got, err := ParseStallTimeout(in); err != nil || got != want {
			t.Errorf("%q: %v %v", in, got, err)
		}
	}
	for _, in := range []string{"", "soon", "0", "-3s"} {
		if _, err := ParseStallTimeout(in); err == nil {
			t.Errorf("%q accepted", in)
		}
	}
	t.Setenv(StallTimeoutEnv, "7s")
	if c := NewClient(ConfigFromEnv()); c.StallTimeout != 7*time.Second {
		t.Errorf("%s=7s: StallTimeout %v", StallTimeoutEnv, c.StallTimeout)
	}
}

// A cached blob damaged without changing its size is trusted by a plain pull; with Verify the
// pull rehashes it (sha256 for LFS files, the git blob sha1 for the others), reports it and
// downloads it again.
func TestPullVerifyRepairsCorruptBlobs(t *testing.T) {
	h := hubtest.New(t)
	r, want := shardedRepo(t, h, "acme/tiny")
	cache := t.TempDir()
	c := testClient(h, cache, "")
	if _, err := c.Pull(context.Background(), "acme/tiny", "main"); err != nil {
		t.Fatal(err)
	}
	blobs := filepath.Join(cache, "models--acme--tiny", "blobs")
	for _, etag := range []string{r.ETag("model-00002-of-00002.safetensors"), r.ETag("config.json")} {
		b, err := os.ReadFile(filepath.Join(blobs, etag))
		if err != nil {
			t.Fatal(err)
		}
		b[len(b)/2] ^= 0xff
		os.WriteFile(filepath.Join(blobs, etag), b, 0o644)
	}
	snap, err := c.Pull(context.Background(), "acme/tiny", "main")
	if err != nil || len(snap.Repaired) != 0 {
		t.Fatalf("plain pull: %v, repaired %v", err, snap.Repaired)
	}
	c.Verify = true
	snap, err = c.Pull(context.Background(), "acme/tiny", "main")
	if err != nil {
		t.Fatal(err)
	}
	sort.Strings(snap.Repaired)
	if strings.Join(snap.Repaired, ",") != "config.json,model-00002-of-00002.safetensors" || len(snap.Verified) != len(want)-2 {
		t.Errorf("repaired %v, verified %v", snap.Repaired, snap.Verified)
	}
	checkCache(t, cache, "acme/tiny", r, want)
}

// A revision with a slash pulls into refs/feature/x, and the same name given to --model
// resolves to that snapshot from the cache alone.
func TestRevisionWithSlash(t *testing.T) {
	h := hubtest.New(t)
	r, _ := shardedRepo(t, h, "acme/tiny")
	r.Branches = []string{"feature/x"}
	cache := t.TempDir()
	snap, err := testClient(h, cache, "").Pull(context.Background(), "acme/tiny", "feature/x")
	if err != nil {
		t.Fatal(err)
	}
	if missing := MissingFiles(snap.Dir); len(missing) > 0 {
		t.Errorf("snapshot lacks %v", missing)
	}
	if ref, err := os.ReadFile(filepath.Join(cache, "models--acme--tiny", "refs", "feature", "x")); err != nil || string(ref) != r.Commit {
		t.Errorf("refs/feature/x = %q, %v", ref, err)
	}
	cfg := Config{CacheDir: cache, Offline: true}
	if dir, err := Resolve(context.Background(), "acme/tiny@feature/x", ResolveOptions{Config: &cfg}); err != nil || dir != snap.Dir {
		t.Errorf("Resolve(acme/tiny@feature/x) = %s, %v", dir, err)
	}
}
