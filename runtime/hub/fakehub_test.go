package hub

import (
	"bytes"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// fakeHub behaves like huggingface.co for the requests the client makes: the revision listing,
// HEAD/GET on /REPO/resolve/REV/FILE with X-Repo-Commit and ETag, and for LFS files a 302 to a
// second server (the "CDN", another host) with X-Linked-Etag (sha256) and X-Linked-Size. The
// CDN honours Range with 206 and can be told to misbehave.
type fakeHub struct {
	hub, cdn *httptest.Server
	token    string // the token the hub accepts

	mu       sync.Mutex
	repos    map[string]*fakeRepo
	blobs    map[string][]byte // sha256 → content, served by the CDN
	log      []fakeReq
	requests atomic.Int64

	// Faults, keyed by file name (served by the CDN).
	cutAfter map[string]int64 // close the connection after this many body bytes ...
	cutTimes map[string]int   // ... this many times
	short    map[string]int64 // serve only this many bytes (Content-Length says so too)
	corrupt  map[string]bool  // flip a byte in the middle
	slowCDN  time.Duration    // pause before every CDN body (makes pulls overlap)
}

type fakeRepo struct {
	commit     string
	files      map[string][]byte
	lfs        map[string]bool
	gated      bool // needs a token
	gatedDeny  bool // token accepted but without access to this gated repo
	private    bool
	byFileName map[string]string // sha256 → file name, for the CDN's fault lookup
}

type fakeReq struct {
	Method, Path, Range, Auth string
	CDN                       bool
}

func newFakeHub(t testing.TB) *fakeHub {
	h := &fakeHub{repos: map[string]*fakeRepo{}, blobs: map[string][]byte{}, token: "hf_secret",
		cutAfter: map[string]int64{}, cutTimes: map[string]int{}, short: map[string]int64{}, corrupt: map[string]bool{}}
	h.hub = httptest.NewServer(http.HandlerFunc(h.serveHub))
	h.cdn = httptest.NewServer(http.HandlerFunc(h.serveCDN))
	t.Cleanup(func() { h.hub.Close(); h.cdn.Close() })
	return h
}

func gitBlobSHA(b []byte) string {
	h := sha1.New()
	fmt.Fprintf(h, "blob %d\x00", len(b))
	h.Write(b)
	return hex.EncodeToString(h.Sum(nil))
}

func sha256Hex(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

// addRepo registers a repo; files ending in .safetensors or .bin are LFS files.
func (h *fakeHub) addRepo(id string, files map[string][]byte) *fakeRepo {
	h.mu.Lock()
	defer h.mu.Unlock()
	r := &fakeRepo{files: files, lfs: map[string]bool{}, byFileName: map[string]string{}}
	var names []string
	for n := range files {
		names = append(names, n)
	}
	r.commit = gitBlobSHA([]byte(id + strings.Join(names, ",")))
	for n, b := range files {
		if strings.HasSuffix(n, ".safetensors") || strings.HasSuffix(n, ".bin") || strings.HasSuffix(n, ".onnx") {
			r.lfs[n] = true
			sum := sha256Hex(b)
			h.blobs[sum] = b
			r.byFileName[sum] = n
		}
	}
	h.repos[id] = r
	return r
}

func (h *fakeHub) record(r *http.Request, cdn bool) {
	h.requests.Add(1)
	h.mu.Lock()
	h.log = append(h.log, fakeReq{Method: r.Method, Path: r.URL.Path, Range: r.Header.Get("Range"), Auth: r.Header.Get("Authorization"), CDN: cdn})
	h.mu.Unlock()
}

func (h *fakeHub) reqs() []fakeReq {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]fakeReq(nil), h.log...)
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
func (h *fakeHub) access(w http.ResponseWriter, r *http.Request, id string) (*fakeRepo, bool) {
	auth := r.Header.Get("Authorization")
	if auth != "" && auth != "Bearer "+h.token {
		hubErr(w, 401, "", "Invalid credentials in Authorization header")
		return nil, false
	}
	h.mu.Lock()
	repo := h.repos[id]
	h.mu.Unlock()
	if repo == nil || (repo.private && auth == "") {
		if auth == "" {
			hubErr(w, 401, "RepoNotFound", "Repository Not Found for url")
		} else {
			hubErr(w, 404, "RepoNotFound", "Repository Not Found for url")
		}
		return nil, false
	}
	if repo.gated && auth == "" {
		hubErr(w, 401, "GatedRepo", "Access to model "+id+" is restricted. You must have access to it and be authenticated to access it.")
		return nil, false
	}
	if repo.gatedDeny {
		hubErr(w, 403, "GatedRepo", "Access to model "+id+" is restricted and you are not in the authorized list.")
		return nil, false
	}
	return repo, true
}

func (h *fakeHub) serveHub(w http.ResponseWriter, r *http.Request) {
	h.record(r, false)
	p := r.URL.Path
	if rest, ok := strings.CutPrefix(p, "/api/models/"); ok {
		parts := strings.SplitN(rest, "/", 4) // org, name, "revision", rev
		if len(parts) != 4 || parts[2] != "revision" {
			hubErr(w, 404, "", "not found")
			return
		}
		repo, ok := h.access(w, r, parts[0]+"/"+parts[1])
		if !ok {
			return
		}
		if parts[3] != "main" && parts[3] != repo.commit {
			hubErr(w, 404, "RevisionNotFound", "Invalid rev id: "+parts[3])
			return
		}
		var sib []map[string]string
		for n := range repo.files {
			sib = append(sib, map[string]string{"rfilename": n})
		}
		json.NewEncoder(w).Encode(map[string]any{"id": parts[0] + "/" + parts[1], "sha": repo.commit, "siblings": sib})
		return
	}
	parts := strings.SplitN(strings.TrimPrefix(p, "/"), "/", 5) // org, name, "resolve", rev, file
	if len(parts) != 5 || parts[2] != "resolve" {
		hubErr(w, 404, "", "not found")
		return
	}
	repo, ok := h.access(w, r, parts[0]+"/"+parts[1])
	if !ok {
		return
	}
	if parts[3] != "main" && parts[3] != repo.commit {
		hubErr(w, 404, "RevisionNotFound", "Invalid rev id: "+parts[3])
		return
	}
	w.Header().Set("X-Repo-Commit", repo.commit)
	content, ok := repo.files[parts[4]]
	if !ok {
		hubErr(w, 404, "EntryNotFound", "Entry not found")
		return
	}
	if repo.lfs[parts[4]] {
		sum := sha256Hex(content)
		w.Header().Set("X-Linked-Etag", `"`+sum+`"`)
		w.Header().Set("X-Linked-Size", strconv.Itoa(len(content)))
		w.Header().Set("ETag", `"`+gitBlobSHA([]byte("pointer "+sum))+`"`)
		w.Header().Set("Location", h.cdn.URL+"/repos/ab/cd/"+sum+"?X-Amz-Signature=x")
		w.WriteHeader(http.StatusFound)
		return
	}
	w.Header().Set("ETag", `"`+gitBlobSHA(content)+`"`)
	http.ServeContent(w, r, parts[4], time.Time{}, bytes.NewReader(content))
}

func (h *fakeHub) serveCDN(w http.ResponseWriter, r *http.Request) {
	h.record(r, true)
	sum := filepath.Base(r.URL.Path)
	h.mu.Lock()
	content, ok := h.blobs[sum]
	var name string
	for _, repo := range h.repos {
		if n, ok := repo.byFileName[sum]; ok {
			name = n
		}
	}
	cut, cutN := h.cutAfter[name], h.cutTimes[name]
	if cutN > 0 {
		h.cutTimes[name]--
	}
	short, corrupt, slow := h.short[name], h.corrupt[name], h.slowCDN
	h.mu.Unlock()
	if !ok {
		http.Error(w, "no such blob", 404)
		return
	}
	if slow > 0 {
		time.Sleep(slow)
	}
	switch {
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
		conn, _, err := w.(http.Hijacker).Hijack()
		if err == nil {
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

// tinyModelFiles reads a testdata model folder and adds files a pull must leave alone.
func tinyModelFiles(t testing.TB, name string) map[string][]byte {
	dir := filepath.Join("..", "..", "testdata", "models", name)
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	files := map[string][]byte{}
	for _, e := range entries {
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
