// Package hubtest is a loopback stand-in for the Hugging Face hub, for tests of anything that
// pulls models (the hub client, the CLI). It serves the revision listing and
// HEAD/GET /REPO/resolve/REV/FILE like huggingface.co — X-Repo-Commit, ETag, and for LFS files a
// 302 to a second server (the "CDN", on another host) with X-Linked-Etag (the sha256) and
// X-Linked-Size — and the CDN honours Range with 206. It can cut, shorten or corrupt a transfer,
// and records every request. It never touches the real network.
package hubtest

import (
	"bytes"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// Hub is the fake hub and its CDN.
type Hub struct {
	hub, cdn *httptest.Server
	// Token is the only token the hub accepts ("Authorization: Bearer <Token>").
	Token string
	// RelativeCDN serves LFS content from /cdn/ on the hub's own host, redirecting there with a
	// relative Location (set before the first request).
	RelativeCDN bool
	// NoListingSHA leaves "sha" out of the revision listing (set before the first request).
	NoListingSHA bool

	mu       sync.Mutex
	repos    map[string]*Repo
	blobs    map[string][]byte // sha256 → content, served by the CDN
	log      []Request
	requests atomic.Int64

	cutAfter map[string]int64
	cutTimes map[string]int
	short    map[string]int64
	corrupt  map[string]bool
	stall    map[string]int
	noRange  bool
	slow     time.Duration
	faults   map[string][]int // "listing" or "head" → what the next such requests get
}

// Stalled in a fault list makes that request go silent until the client gives up: a listing
// sends part of its body first, a HEAD sends nothing.
const Stalled = -1

// Fail makes the next listing (what "listing") or HEAD (what "head") requests answer the given
// statuses in turn (Stalled: go silent), then serve normally again.
func (h *Hub) Fail(what string, statuses ...int) {
	h.mu.Lock()
	if h.faults == nil {
		h.faults = map[string][]int{}
	}
	h.faults[what] = append(h.faults[what], statuses...)
	h.mu.Unlock()
}

// fault takes the next fault for what and applies it; it reports whether it answered.
func (h *Hub) fault(w http.ResponseWriter, r *http.Request, what string) bool {
	h.mu.Lock()
	f := h.faults[what]
	if len(f) == 0 {
		h.mu.Unlock()
		return false
	}
	status := f[0]
	h.faults[what] = f[1:]
	h.mu.Unlock()
	if status != Stalled {
		hubErr(w, status, "", http.StatusText(status))
		return true
	}
	if what == "listing" {
		w.WriteHeader(http.StatusOK)
		io.WriteString(w, `{"id": "`)
		w.(http.Flusher).Flush()
	}
	<-r.Context().Done()
	return true
}

// Repo is one model repo with a single commit, reachable as "main" or by the commit hash.
type Repo struct {
	Commit    string
	Files     map[string][]byte
	LFS       map[string]bool // files served through the CDN
	Gated     bool            // needs a token
	GatedDeny bool            // gated, and the token has no access
	Private   bool            // invisible without a token
	Branches  []string        // more revision names for Commit besides "main" ("feature/x")
	byHash    map[string]string
	sums      map[string]string // file → sha256, computed once
}

// Request is one request the servers received.
type Request struct {
	Method, Path, Range, Auth string
	CDN                       bool
}

// New starts the hub and its CDN; they stop when the test ends.
func New(t testing.TB) *Hub {
	h := &Hub{repos: map[string]*Repo{}, blobs: map[string][]byte{}, Token: "hf_secret",
		cutAfter: map[string]int64{}, cutTimes: map[string]int{}, short: map[string]int64{}, corrupt: map[string]bool{}, stall: map[string]int{}}
	h.hub = httptest.NewServer(http.HandlerFunc(h.serveHub))
	h.cdn = httptest.NewServer(http.HandlerFunc(h.serveCDN))
	t.Cleanup(func() { h.hub.Close(); h.cdn.Close() })
	return h
}

// URL is the endpoint to use as HF_ENDPOINT.
func (h *Hub) URL() string { return h.hub.URL }

// GitBlobSHA is the git object id of a file: the ETag the hub gives a file stored in git.
func GitBlobSHA(b []byte) string {
	s := sha1.New()
	fmt.Fprintf(s, "blob %d\x00", len(b))
	s.Write(b)
	return hex.EncodeToString(s.Sum(nil))
}

// SHA256Hex is the sha256 of b in hex: the X-Linked-Etag of an LFS file.
func SHA256Hex(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

// ETag is the blob name a correct client stores f of r under.
func (r *Repo) ETag(f string) string {
	if r.LFS[f] {
		return SHA256Hex(r.Files[f])
	}
	return GitBlobSHA(r.Files[f])
}

// AddRepo registers a repo; files ending in .safetensors, .bin or .onnx are LFS files.
func (h *Hub) AddRepo(id string, files map[string][]byte) *Repo {
	h.mu.Lock()
	defer h.mu.Unlock()
	r := &Repo{Files: files, LFS: map[string]bool{}, byHash: map[string]string{}, sums: map[string]string{}}
	var names []string
	for n := range files {
		names = append(names, n)
	}
	sort.Strings(names)
	r.Commit = GitBlobSHA([]byte(id + strings.Join(names, ",")))
	for n, b := range files {
		if strings.HasSuffix(n, ".safetensors") || strings.HasSuffix(n, ".bin") || strings.HasSuffix(n, ".onnx") {
			r.LFS[n] = true
			sum := SHA256Hex(b)
			h.blobs[sum] = b
			r.byHash[sum] = n
			r.sums[n] = sum
		}
	}
	h.repos[id] = r
	return r
}

// CutAfter makes the CDN close the connection after n body bytes of file, the next times
// requests for it.
func (h *Hub) CutAfter(file string, n int64, times int) {
	h.mu.Lock()
	h.cutAfter[file], h.cutTimes[file] = n, times
	h.mu.Unlock()
}

// Short makes the CDN serve only the first n bytes of file, with a Content-Length that says so
// (the hub still announces the full size).
func (h *Hub) Short(file string, n int64) {
	h.mu.Lock()
	h.short[file] = n
	h.mu.Unlock()
}

// Corrupt makes the CDN flip a byte in the middle of file.
func (h *Hub) Corrupt(file string) {
	h.mu.Lock()
	h.corrupt[file] = true
	h.mu.Unlock()
}

// Stall makes the CDN send part of file and then go silent (until the client gives up), the
// next times requests for it.
func (h *Hub) Stall(file string, times int) {
	h.mu.Lock()
	h.stall[file] = times
	h.mu.Unlock()
}

// IgnoreRange makes the CDN answer every request with the whole file (200), as some proxies do.
func (h *Hub) IgnoreRange(on bool) {
	h.mu.Lock()
	h.noRange = on
	h.mu.Unlock()
}

// SlowCDN makes the CDN pause before every body, so concurrent pulls overlap.
func (h *Hub) SlowCDN(d time.Duration) {
	h.mu.Lock()
	h.slow = d
	h.mu.Unlock()
}

// Requests is how many requests both servers have received.
func (h *Hub) Requests() int64 { return h.requests.Load() }

// Log returns the requests received so far.
func (h *Hub) Log() []Request {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]Request(nil), h.log...)
}

// ResetLog forgets the requests received so far.
func (h *Hub) ResetLog() {
	h.mu.Lock()
	h.log = nil
	h.mu.Unlock()
}

func (h *Hub) record(r *http.Request, cdn bool) {
	h.requests.Add(1)
	h.mu.Lock()
	h.log = append(h.log, Request{Method: r.Method, Path: r.URL.Path, Range: r.Header.Get("Range"), Auth: r.Header.Get("Authorization"), CDN: cdn})
	h.mu.Unlock()
}

func hubErr(w http.ResponseWriter, status int, code, msg string) {
	if code != "" {
		w.Header().Set("X-Error-Code", code)
	}
	w.Header().Set("X-Error-Message", msg)
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(map[string]string{"error": msg})
}

// access applies the hub's rules: a bad token is 401; a missing or private repo is 401
// RepoNotFound without a token and 404 with one; a gated repo is 401 GatedRepo without a token
// and 403 GatedRepo with one that has no access.
func (h *Hub) access(w http.ResponseWriter, r *http.Request, id string) (*Repo, bool) {
	auth := r.Header.Get("Authorization")
	if auth != "" && auth != "Bearer "+h.Token {
		hubErr(w, 401, "", "Invalid credentials in Authorization header")
		return nil, false
	}
	h.mu.Lock()
	repo := h.repos[id]
	h.mu.Unlock()
	if repo == nil || (repo.Private && auth == "") {
		if auth == "" {
			hubErr(w, 401, "RepoNotFound", "Repository Not Found for url")
		} else {
			hubErr(w, 404, "RepoNotFound", "Repository Not Found for url")
		}
		return nil, false
	}
	if repo.Gated && auth == "" {
		hubErr(w, 401, "GatedRepo", "Access to model "+id+" is restricted. You must have access to it and be authenticated to access it.")
		return nil, false
	}
	if repo.GatedDeny {
		hubErr(w, 403, "GatedRepo", "Access to model "+id+" is restricted and you are not in the authorized list.")
		return nil, false
	}
	return repo, true
}

// knows reports whether rev names the repo's commit.
func (r *Repo) knows(rev string) bool {
	return rev == "main" || rev == r.Commit || slices.Contains(r.Branches, rev)
}

// splitPath splits an escaped URL path on its slashes into at most n unescaped parts, so that
// an escaped slash (a revision "feature%2Fx") stays inside its part.
func splitPath(escaped string, n int) []string {
	parts := strings.SplitN(strings.TrimPrefix(escaped, "/"), "/", n)
	for i, p := range parts {
		if u, err := url.PathUnescape(p); err == nil {
			parts[i] = u
		}
	}
	return parts
}

func (h *Hub) serveHub(w http.ResponseWriter, r *http.Request) {
	p := r.URL.Path
	if strings.HasPrefix(p, "/cdn/") {
		h.serveCDN(w, r)
		return
	}
	h.record(r, false)
	if strings.HasPrefix(p, "/api/models/") {
		if h.fault(w, r, "listing") {
			return
		}
		parts := splitPath(strings.TrimPrefix(r.URL.EscapedPath(), "/api/models"), 4) // org, name, "revision", rev
		if len(parts) != 4 || parts[2] != "revision" {
			hubErr(w, 404, "", "not found")
			return
		}
		repo, ok := h.access(w, r, parts[0]+"/"+parts[1])
		if !ok {
			return
		}
		if !repo.knows(parts[3]) {
			hubErr(w, 404, "RevisionNotFound", "Invalid rev id: "+parts[3])
			return
		}
		var sib []map[string]string
		for n := range repo.Files {
			sib = append(sib, map[string]string{"rfilename": n})
		}
		listing := map[string]any{"id": parts[0] + "/" + parts[1], "sha": repo.Commit, "siblings": sib}
		if h.NoListingSHA {
			delete(listing, "sha")
		}
		json.NewEncoder(w).Encode(listing)
		return
	}
	if r.Method == http.MethodHead && h.fault(w, r, "head") {
		return
	}
	parts := splitPath(r.URL.EscapedPath(), 5) // org, name, "resolve", rev, file
	if len(parts) != 5 || parts[2] != "resolve" {
		hubErr(w, 404, "", "not found")
		return
	}
	repo, ok := h.access(w, r, parts[0]+"/"+parts[1])
	if !ok {
		return
	}
	if !repo.knows(parts[3]) {
		hubErr(w, 404, "RevisionNotFound", "Invalid rev id: "+parts[3])
		return
	}
	w.Header().Set("X-Repo-Commit", repo.Commit)
	content, ok := repo.Files[parts[4]]
	if !ok {
		hubErr(w, 404, "EntryNotFound", "Entry not found")
		return
	}
	if repo.LFS[parts[4]] {
		sum := repo.sums[parts[4]]
		w.Header().Set("X-Linked-Etag", `"`+sum+`"`)
		w.Header().Set("X-Linked-Size", strconv.Itoa(len(content)))
		w.Header().Set("ETag", `"`+GitBlobSHA([]byte("pointer "+sum))+`"`)
		if h.RelativeCDN {
			w.Header().Set("Location", "/cdn/"+sum)
		} else {
			w.Header().Set("Location", h.cdn.URL+"/repos/ab/cd/"+sum+"?X-Amz-Signature=x")
		}
		w.WriteHeader(http.StatusFound)
		return
	}
	w.Header().Set("ETag", `"`+GitBlobSHA(content)+`"`)
	http.ServeContent(w, r, parts[4], time.Time{}, bytes.NewReader(content))
}

func (h *Hub) serveCDN(w http.ResponseWriter, r *http.Request) {
	h.record(r, true)
	sum := filepath.Base(r.URL.Path)
	h.mu.Lock()
	content, ok := h.blobs[sum]
	var name string
	for _, repo := range h.repos {
		if n, ok := repo.byHash[sum]; ok {
			name = n
		}
	}
	cut, cutN := h.cutAfter[name], h.cutTimes[name]
	if cutN > 0 {
		h.cutTimes[name]--
	}
	short, corrupt, slow, noRange := h.short[name], h.corrupt[name], h.slow, h.noRange
	stall := h.stall[name] > 0
	if stall {
		h.stall[name]--
	}
	h.mu.Unlock()
	if noRange {
		r.Header.Del("Range")
	}
	if !ok {
		http.Error(w, "no such blob", 404)
		return
	}
	if slow > 0 {
		time.Sleep(slow)
	}
	switch {
	case stall:
		w.Header().Set("Content-Length", strconv.Itoa(len(content)))
		w.WriteHeader(http.StatusOK)
		w.Write(content[:len(content)/3])
		w.(http.Flusher).Flush()
		select {
		case <-r.Context().Done():
		case <-time.After(10 * time.Second):
		}
		return
	case cutN > 0:
		start := int64(0)
		if rg := r.Header.Get("Range"); rg != "" {
			fmt.Sscanf(rg, "bytes=%d-", &start)
			w.Header().Set("Content-Range", fmt.Sprintf("bytes %d-%d/%d", start, len(content)-1, len(content)))
			w.Header().Set("Content-Length", strconv.Itoa(len(content)-int(start)))
			w.WriteHeader(http.StatusPartialContent)
		} else {
			w.Header().Set("Content-Length", strconv.Itoa(len(content)))
			w.WriteHeader(http.StatusOK)
		}
		end := min(start+cut, int64(len(content)))
		w.Write(content[start:end])
		w.(http.Flusher).Flush()
		if conn, _, err := w.(http.Hijacker).Hijack(); err == nil {
			conn.Close()
		}
		return
	case short > 0:
		w.Header().Set("Content-Length", strconv.FormatInt(short, 10))
		w.Write(content[:short])
		return
	case corrupt:
		bad := append([]byte(nil), content...)
		bad[len(bad)/2] ^= 0xff
		content = bad
	}
	http.ServeContent(w, r, sum, time.Time{}, bytes.NewReader(content))
}

// ModelFiles reads the files of a model folder (such as testdata/models/qwen2-tiny-bf16) and
// adds files a pull must leave alone: README.md, pytorch_model.bin, onnx/model.onnx, and a
// generation_config.json that a pull must fetch.
func ModelFiles(t testing.TB, dir string) map[string][]byte {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	files := map[string][]byte{}
	for _, e := range entries {
		if e.IsDir() {
			continue
		}
		b, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		files[e.Name()] = b
	}
	files["README.md"] = []byte("# tiny\n")
	files["generation_config.json"] = []byte(`{"eos_token_id": 505, "temperature": 0.6}`)
	files["pytorch_model.bin"] = bytes.Repeat([]byte{7}, 1000)
	files["onnx/model.onnx"] = bytes.Repeat([]byte{8}, 500)
	return files
}
