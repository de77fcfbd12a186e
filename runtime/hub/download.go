package hub

import (
	"context"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/infty-dev/infty/internal/safefile"
	"github.com/infty-dev/infty/internal/stall"
	"github.com/infty-dev/infty/runtime/safetensors"
)

// Progress reports a pull. Bytes count what is on disk for the repo's selected files, including
// what was already cached, so Done/Total is the fraction complete.
type Progress struct {
	Repo      string
	File      string // the file being worked on; empty for whole-pull events
	FileDone  int64
	FileTotal int64
	Done      int64 // all files
	Total     int64 // all files known so far (grows once the shard index has been read)
	Phase     Phase
}

// Phase says what a Progress event is about.
type Phase int

const (
	PhaseDownload Phase = iota // bytes arrived
	PhaseWaiting               // another process holds the file's lock
	PhaseVerify                // hashing the finished file
	PhaseFileDone              // the file is in the cache
	PhaseRetry                 // a transfer failed and will be resumed
)

// Snapshot is a pulled (or cached) revision of a model.
type Snapshot struct {
	Repo     string
	Revision string
	Commit   string
	Dir      string // snapshots/<commit>: the model folder
	Files    []string
	Size     int64 // bytes of the selected files
	// With Client.Verify: the files whose cached content was rehashed and matched, and those
	// whose cached blob did not match its hash and were downloaded again.
	Verified, Repaired []string
}

// Pull fetches what a model needs from revision rev of repo into the cache and returns its
// snapshot folder. Files already cached are not fetched again. The ref (refs/<rev>) is written
// last, so a failed pull leaves an earlier complete snapshot as the one Resolve finds.
func (c *Client) Pull(ctx context.Context, repo, rev string) (*Snapshot, error) {
	if c.cfg.Offline {
		return nil, fmt.Errorf("%w: cannot pull %s; unset HF_HUB_OFFLINE to download", ErrOffline, repo)
	}
	if _, _, err := ParseRepoID(repo + "@" + rev); err != nil {
		return nil, err
	}
	info, err := c.Info(ctx, repo, rev)
	if err != nil {
		return nil, err
	}
	for _, f := range info.Files {
		if err := safeRelPath(f); err != nil {
			return nil, fmt.Errorf("%s@%s: the hub listed an %v", repo, rev, err)
		}
	}
	files, indexed, err := selectFiles(info.Files)
	if err != nil {
		return nil, fmt.Errorf("%s@%s (commit %s) %v", repo, rev, info.Commit, err)
	}
	if info.Commit == "" {
		// A listing without "sha": take the commit the file server names.
		m, err := c.headFile(ctx, repo, rev, files[0])
		if err != nil {
			return nil, err
		}
		info.Commit = m.Commit
	}
	rc := repoCache{cacheDir: c.cfg.CacheDir, repo: repo}
	snap := &Snapshot{Repo: repo, Revision: rev, Commit: info.Commit, Dir: rc.snapshot(info.Commit)}
	p := &pullProgress{c: c, ev: Progress{Repo: repo}, snap: snap}

	// Every file is asked for at the listed commit, so the snapshot is one consistent revision
	// even if the branch moves during the pull.
	metas, err := c.headAll(ctx, repo, info.Commit, files)
	if err != nil {
		return nil, err
	}
	if indexed {
		// The index says which shards are needed; fetch it first, then the shards it names.
		im := metas[len(metas)-1]
		p.ev.Total = im.Size
		if err := c.fetchFile(ctx, rc, info.Commit, im, p); err != nil {
			return nil, fmt.Errorf("pulling %s@%s: %w", repo, rev, err)
		}
		_, shards, err := safetensors.ReadIndex(filepath.Join(snap.Dir, safetensors.IndexFileName))
		if err != nil {
			return nil, fmt.Errorf("%s@%s: %v", repo, rev, err)
		}
		listed := map[string]bool{}
		for _, f := range info.Files {
			listed[f] = true
		}
		for _, s := range shards {
			if !listed[s] {
				return nil, fmt.Errorf("%s@%s: %s names shard %s, which the repo does not have", repo, rev, safetensors.IndexFileName, s)
			}
		}
		sm, err := c.headAll(ctx, repo, info.Commit, shards)
		if err != nil {
			return nil, err
		}
		metas = append(metas, sm...)
	}
	p.ev.Total = 0
	for _, m := range metas {
		p.ev.Total += m.Size
		snap.Files = append(snap.Files, m.File)
	}
	snap.Size = p.ev.Total
	if err := checkDisk(rc, metas); err != nil {
		return nil, err
	}
	for _, m := range metas {
		if indexed && m.File == safetensors.IndexFileName {
			continue // fetched above and counted in Done
		}
		if err := c.fetchFile(ctx, rc, info.Commit, m, p); err != nil {
			return nil, fmt.Errorf("pulling %s@%s: %w", repo, rev, err)
		}
	}
	if missing := MissingFiles(snap.Dir); len(missing) > 0 {
		return nil, fmt.Errorf("%s@%s: snapshot %s still lacks %s after the pull", repo, rev, snap.Dir, strings.Join(missing, ", "))
	}
	if err := rc.writeRef(rev, info.Commit); err != nil {
		return nil, fmt.Errorf("recording %s → %s: %w", rc.ref(rev), info.Commit, err)
	}
	return snap, nil
}

// checkDisk refuses a pull that cannot fit on the cache's disk before any byte is written,
// rather than failing midway.
func checkDisk(rc repoCache, metas []fileMeta) error {
	var need int64
	for _, m := range metas {
		blob := rc.blob(m.ETag)
		if !blobOK(blob, m.Size) {
			need += max(m.Size-fileSize(blob+".incomplete"), 0)
		}
	}
	dir := filepath.Join(rc.root(), "blobs")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	if free, ok := freeDisk(dir); ok && need > free {
		return fmt.Errorf("pulling %s needs %s more on disk but %s has only %s free; free some space or set HF_HUB_CACHE to another disk",
			rc.repo, FormatBytes(need), dir, FormatBytes(free))
	}
	return nil
}

func (c *Client) headAll(ctx context.Context, repo, commit string, files []string) ([]fileMeta, error) {
	metas := make([]fileMeta, 0, len(files))
	for _, f := range files {
		m, err := c.headFile(ctx, repo, commit, f)
		if err != nil {
			return nil, err
		}
		if m.Commit != commit {
			return nil, fmt.Errorf("%s: asked for commit %s, the hub answered %s", f, commit, m.Commit)
		}
		metas = append(metas, m)
	}
	return metas, nil
}

type pullProgress struct {
	c        *Client
	ev       Progress
	fileBase int64 // Done before the current file
	snap     *Snapshot
}

func (p *pullProgress) start(m fileMeta) {
	p.fileBase = p.ev.Done
	p.ev.File, p.ev.FileTotal, p.ev.FileDone = m.File, m.Size, 0
}

func (p *pullProgress) set(phase Phase, fileDone int64) {
	p.ev.Phase, p.ev.FileDone, p.ev.Done = phase, fileDone, p.fileBase+fileDone
	if p.c.Progress != nil {
		p.c.Progress(p.ev)
	}
}

// fetchFile makes snapshots/<commit>/<file> point at a complete, verified blob, downloading the
// blob unless it is already there.
func (c *Client) fetchFile(ctx context.Context, rc repoCache, commit string, m fileMeta, p *pullProgress) error {
	p.start(m)
	blob := rc.blob(m.ETag)
	pointer := filepath.Join(rc.snapshot(commit), filepath.FromSlash(m.File))
	if err := refuseLink(blob); err != nil {
		return err
	}
	cached, corrupt := blobOK(blob, m.Size), false
	if cached && c.Verify {
		match, checked, err := rehash(blob, m, p)
		if err != nil {
			return err
		}
		if checked && match {
			p.snap.Verified = append(p.snap.Verified, m.File)
		}
		corrupt = checked && !match
		cached = !corrupt
	}
	if cached {
		if err := linkPointer(pointer, blob); err != nil {
			return err
		}
		p.set(PhaseFileDone, m.Size)
		return nil
	}
	for _, d := range []string{filepath.Dir(blob), filepath.Dir(rc.lock(m.ETag))} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return err
		}
	}
	unlock, err := lockFile(ctx, rc.lock(m.ETag), func() { p.set(PhaseWaiting, 0) })
	if err != nil {
		return err
	}
	defer unlock()
	if corrupt || !blobOK(blob, m.Size) { // another process may have finished it while we waited
		if err := os.Remove(blob); err != nil && !errors.Is(err, os.ErrNotExist) {
			return err
		}
		if err := c.download(ctx, blob, m, p); err != nil {
			return err
		}
		if corrupt {
			p.snap.Repaired = append(p.snap.Repaired, m.File)
		}
	}
	if err := linkPointer(pointer, blob); err != nil {
		return err
	}
	p.set(PhaseFileDone, m.Size)
	return nil
}

// rehash hashes a cached blob the way its etag names it: sha256 for LFS files, the git blob
// sha1 for files stored in git. checked is false for an etag that is neither (some mirrors),
// which leaves nothing to compare with.
func rehash(blob string, m fileMeta, p *pullProgress) (match, checked bool, err error) {
	var h hash.Hash
	switch {
	case sha256Re.MatchString(m.ETag):
		h = sha256.New()
	case gitSHA1Re.MatchString(m.ETag):
		h = sha1.New()
		fmt.Fprintf(h, "blob %d\x00", m.Size)
	default:
		return false, false, nil
	}
	p.set(PhaseVerify, 0)
	f, _, err := safefile.Open(blob)
	if err != nil {
		return false, false, err
	}
	defer f.Close()
	if _, err := io.Copy(h, f); err != nil {
		return false, false, fmt.Errorf("rehashing %s: %w", blob, err)
	}
	return hex.EncodeToString(h.Sum(nil)) == m.ETag, true, nil
}

var gitSHA1Re = commitRe // both are 40-hex sha1s

// blobOK: blobs are only ever renamed into place after verification, so the size check guards
// against outside damage (truncation), not against our own partial writes. A link is not a
// blob: its target is not ours to vouch for.
func blobOK(blob string, size int64) bool {
	fi, err := os.Lstat(blob)
	return err == nil && fi.Mode().IsRegular() && fi.Size() == size
}

// refuseLink fails when path is a symbolic link. The cache never makes links in blobs/ or
// .locks/, so one there was planted, and writing through it would overwrite whatever it names.
func refuseLink(path string) error {
	if fi, err := os.Lstat(path); err == nil && fi.Mode()&os.ModeSymlink != 0 {
		target, _ := os.Readlink(path)
		return fmt.Errorf("%s is a symbolic link (to %s), which the hub cache never makes; refusing to write through it (remove it and pull again)", path, target)
	}
	return nil
}

// openCacheFile opens (creating it if needed) a file the cache writes into, never through a
// link: the open itself does not follow one where the system can say so, and what was opened
// must be a regular file.
func openCacheFile(path string) (*os.File, error) {
	if err := refuseLink(path); err != nil {
		return nil, err
	}
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|oNoFollow, 0o644)
	if err != nil {
		if rerr := refuseLink(path); rerr != nil { // planted between the check and the open
			return nil, rerr
		}
		return nil, err
	}
	if fi, err := f.Stat(); err != nil || !fi.Mode().IsRegular() {
		f.Close()
		if err == nil {
			err = fmt.Errorf("%s is not a regular file; the hub cache writes only regular files there (remove it and pull again)", path)
		}
		return nil, err
	}
	return f, nil
}

// download writes the blob through blob.incomplete, resuming what is there, retrying failed
// transfers, and renames it into place only once size (and sha256 for LFS files) match.
func (c *Client) download(ctx context.Context, blob string, m fileMeta, p *pullProgress) error {
	inc := blob + ".incomplete"
	var hs *hashState
	if sha256Re.MatchString(m.ETag) {
		hs = &hashState{n: -1}
	}
	err := c.retry(ctx, func() error {
		return c.withStall(ctx, func(ctx context.Context, timer *time.Timer) error {
			return c.transfer(ctx, timer, inc, m, p, hs)
		})
	}, func() { p.set(PhaseRetry, fileSize(inc)) })
	if err != nil {
		if ctx.Err() != nil {
			return fmt.Errorf("%s: %w (the partial download is kept in %s and will be resumed)", m.File, ctx.Err(), inc)
		}
		if !errors.Is(err, ErrCorrupt) {
			err = fmt.Errorf("%w (the partial download is kept in %s and will be resumed)", err, inc)
		}
		return err
	}
	if err := c.verify(inc, m, p, hs); err != nil {
		os.Remove(inc)
		return err
	}
	if err := os.Chmod(inc, 0o644); err != nil {
		return err
	}
	return os.Rename(inc, blob)
}

func fileSize(path string) int64 {
	if fi, err := os.Stat(path); err == nil {
		return fi.Size()
	}
	return 0
}

// hashState is the sha256 of the first n bytes of the .incomplete file, kept up to date as
// bytes are written so that verifying needs no second pass over the file; n < 0 means unknown.
type hashState struct {
	h hash.Hash
	n int64
}

// catchUp makes hs cover exactly the first have bytes of f, reading them if it does not.
func (hs *hashState) catchUp(f *os.File, have int64) error {
	if hs == nil || hs.n == have {
		return nil
	}
	hs.h, hs.n = sha256.New(), 0
	n, err := io.Copy(hs.h, io.NewSectionReader(f, 0, have))
	hs.n = n
	if err != nil {
		hs.n = -1
	}
	return err
}

// transfer moves bytes from the server into inc until it holds m.Size bytes or the connection
// fails, under the stall timer of withStall. It returns nil only when the size is reached.
func (c *Client) transfer(ctx context.Context, timer *time.Timer, inc string, m fileMeta, p *pullProgress, hs *hashState) error {
	f, err := openCacheFile(inc)
	if err != nil {
		return err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return err
	}
	have := st.Size()
	if have > m.Size { // not ours to trust: start over
		if err := f.Truncate(0); err != nil {
			return err
		}
		have = 0
	}
	p.set(PhaseDownload, have)
	if have == m.Size {
		return nil
	}
	// Auth goes to the endpoint only; a CDN location on another host gets none (huggingface_hub
	// drops it too), and Go drops it on cross-host redirects.
	req, err := c.newRequest(ctx, http.MethodGet, m.Location, sameHost(m.Location, c.cfg.Endpoint))
	if err != nil {
		return err
	}
	if have > 0 {
		req.Header.Set("Range", fmt.Sprintf("bytes=%d-", have))
	}
	resp, err := c.get.Do(req)
	if err != nil {
		return fmt.Errorf("%s: %w", m.File, causeOr(ctx, err))
	}
	defer resp.Body.Close()
	switch resp.StatusCode {
	case http.StatusPartialContent:
		start, ok := contentRangeStart(resp.Header.Get("Content-Range"))
		if !ok || start != have {
			f.Truncate(0) // the server answered another range: start over on the next attempt
			return fmt.Errorf("%s: asked for bytes %d-, got Content-Range %q", m.File, have, resp.Header.Get("Content-Range"))
		}
	case http.StatusOK:
		if have > 0 { // the server ignored Range: the body is the whole file
			if err := f.Truncate(0); err != nil {
				return err
			}
			have = 0
			p.set(PhaseDownload, 0)
		}
	case http.StatusRequestedRangeNotSatisfiable:
		f.Truncate(0)
		return fmt.Errorf("%s: server refused to resume at byte %d of %d; restarting", m.File, have, m.Size)
	default:
		return c.hubError(resp, target{repo: p.ev.Repo, rev: "", file: m.File})
	}
	if err := hs.catchUp(f, have); err != nil {
		return err
	}
	if _, err := f.Seek(have, io.SeekStart); err != nil {
		return err
	}
	w := &progressWriter{w: f, n: have, p: p, hs: hs}
	// Read at most one byte more than announced so an over-long body is noticed.
	n, err := io.Copy(w, &stall.Reader{R: io.LimitReader(resp.Body, m.Size-have+1), Timer: timer, After: c.StallTimeout})
	got := have + n
	if got > m.Size {
		f.Truncate(0)
		return errorf(ErrCorrupt, "%s: the server sent more than the announced %d bytes", m.File, m.Size)
	}
	if err != nil {
		return fmt.Errorf("%s: transfer cut at byte %d of %d: %w", m.File, got, m.Size, causeOr(ctx, err))
	}
	if got < m.Size {
		return fmt.Errorf("%s: body shorter than announced: got %d of %d bytes", m.File, got, m.Size)
	}
	return nil
}

func causeOr(ctx context.Context, err error) error {
	if c := context.Cause(ctx); c != nil && errors.Is(c, errStalled) {
		return c
	}
	return err
}

func sameHost(a, b string) bool {
	ua, err1 := parseURL(a)
	ub, err2 := parseURL(b)
	return err1 == nil && err2 == nil && strings.EqualFold(ua.Host, ub.Host)
}

func contentRangeStart(h string) (int64, bool) {
	// "bytes START-END/TOTAL"
	h = strings.TrimSpace(h)
	if !strings.HasPrefix(h, "bytes ") {
		return 0, false
	}
	h = strings.TrimPrefix(h, "bytes ")
	i := strings.IndexByte(h, '-')
	if i <= 0 {
		return 0, false
	}
	v, err := strconv.ParseInt(h[:i], 10, 64)
	return v, err == nil
}

type progressWriter struct {
	w    io.Writer
	n    int64
	p    *pullProgress
	hs   *hashState
	last time.Time
}

func (pw *progressWriter) Write(b []byte) (int, error) {
	n, err := pw.w.Write(b)
	pw.n += int64(n)
	if pw.hs != nil {
		pw.hs.h.Write(b[:n])
		pw.hs.n += int64(n)
	}
	if now := time.Now(); now.Sub(pw.last) > 50*time.Millisecond {
		pw.last = now
		pw.p.set(PhaseDownload, pw.n)
	}
	return n, err
}

// verify checks the finished file: its size, and its sha256 when the etag is one (LFS files,
// whose X-Linked-Etag is the sha256 of the content). Git-stored files are checked by size only,
// as huggingface_hub does.
func (c *Client) verify(inc string, m fileMeta, p *pullProgress, hs *hashState) error {
	fi, err := os.Stat(inc)
	if err != nil {
		return err
	}
	if fi.Size() != m.Size {
		return errorf(ErrCorrupt, "%s: %d bytes on disk, %d announced", m.File, fi.Size(), m.Size)
	}
	if !sha256Re.MatchString(m.ETag) {
		return nil
	}
	p.set(PhaseVerify, m.Size)
	if hs == nil || hs.n != m.Size {
		f, err := os.Open(inc)
		if err != nil {
			return err
		}
		defer f.Close()
		hs = &hashState{n: -1}
		if err := hs.catchUp(f, m.Size); err != nil {
			return err
		}
	}
	if got := hex.EncodeToString(hs.h.Sum(nil)); got != m.ETag {
		return errorf(ErrCorrupt, "%s: sha256 %s, the hub announced %s; the download was discarded, run the pull again", m.File, got, m.ETag)
	}
	return nil
}
