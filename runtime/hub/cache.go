package hub

import (
	"crypto/rand"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"

	"github.com/infty-dev/infty/internal/safefile"
)

var (
	commitRe = regexp.MustCompile(`^[0-9a-f]{40}$`)
	// What a commit must look like to become a folder name. The hub's are 40-hex; mirrors
	// and test servers may use others, which huggingface_hub accepts too.
	commitNameRe = regexp.MustCompile(`^[A-Za-z0-9_-][A-Za-z0-9._-]{0,127}$`)
	sha256Re     = regexp.MustCompile(`^[0-9a-f]{64}$`)
	// A normalized ETag becomes a blob file name.
	etagRe = regexp.MustCompile(`^[A-Za-z0-9_-][A-Za-z0-9._:+=-]{0,199}$`)
	// Hub repo names: letters, digits, '-', '_', '.'; no "--" or ".." (the hub refuses them too,
	// and "--" would make the cache folder name ambiguous).
	repoPartRe = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,95}$`)
)

// ParseRepoID splits "ORG/NAME[@REV]" and checks it is a valid model repo id. The revision
// defaults to "main".
func ParseRepoID(s string) (repo, rev string, err error) {
	repo, rev = s, "main"
	if i := strings.LastIndex(s, "@"); i >= 0 {
		repo, rev = s[:i], s[i+1:]
		if rev == "" {
			return "", "", fmt.Errorf("invalid model name %q: empty revision after @", s)
		}
	}
	parts := strings.Split(repo, "/")
	if len(parts) != 2 {
		return "", "", fmt.Errorf("invalid model name %q: want ORG/NAME[@REVISION] or a local folder", s)
	}
	for _, p := range parts {
		if !repoPartRe.MatchString(p) || strings.Contains(p, "--") || strings.Contains(p, "..") {
			return "", "", fmt.Errorf("invalid model name %q: %q is not a valid hub name", s, p)
		}
	}
	if strings.Contains(rev, "..") || strings.HasPrefix(rev, "/") || strings.ContainsAny(rev, "\\\x00") {
		return "", "", fmt.Errorf("invalid model name %q: bad revision %q", s, rev)
	}
	return repo, rev, nil
}

// RepoFolderName is huggingface_hub's repo_folder_name for a model: "models--ORG--NAME".
func RepoFolderName(repo string) string {
	return "models--" + strings.ReplaceAll(repo, "/", "--")
}

// NormalizeETag turns an ETag header into a blob name the way huggingface_hub's _normalize_etag
// does: drop a weak-validator "W/" prefix and the surrounding quotes.
func NormalizeETag(etag string) string {
	etag = strings.TrimSpace(etag)
	etag = strings.TrimPrefix(etag, "W/")
	return strings.Trim(etag, `"`)
}

// repoCache locates one repo's folders inside the cache.
type repoCache struct {
	cacheDir string
	repo     string
}

func (r repoCache) root() string            { return filepath.Join(r.cacheDir, RepoFolderName(r.repo)) }
func (r repoCache) blob(etag string) string { return filepath.Join(r.root(), "blobs", etag) }
func (r repoCache) ref(rev string) string {
	return filepath.Join(r.root(), "refs", filepath.FromSlash(rev))
}
func (r repoCache) snapshot(c string) string { return filepath.Join(r.root(), "snapshots", c) }
func (r repoCache) lock(etag string) string {
	return filepath.Join(r.cacheDir, ".locks", RepoFolderName(r.repo), etag+".lock")
}

// commitFor maps a revision to a commit using the cache only: a full commit hash is itself,
// anything else is looked up in refs/. ok is false when the cache does not know the revision.
func (r repoCache) commitFor(rev string) (commit string, ok bool, err error) {
	if commitRe.MatchString(rev) {
		return rev, true, nil
	}
	b, err := safefile.ReadFile(r.ref(rev), safefile.RefLimit)
	if errors.Is(err, os.ErrNotExist) {
		return "", false, nil
	}
	if err != nil {
		return "", false, err
	}
	c := strings.TrimSpace(string(b))
	if !commitNameRe.MatchString(c) {
		return "", false, fmt.Errorf("%s: %s is not a commit hash", r.ref(rev), safefile.Excerpt([]byte(c)))
	}
	return c, true, nil
}

// writeRef records rev → commit atomically (write a temporary file, rename), without a trailing
// newline like huggingface_hub. A revision that is a commit hash gets no ref.
func (r repoCache) writeRef(rev, commit string) error {
	if rev == commit {
		return nil
	}
	path := r.ref(rev)
	if b, err := safefile.ReadFile(path, safefile.RefLimit); err == nil && string(b) == commit {
		return nil
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	return writeFileAtomic(path, []byte(commit))
}

func writeFileAtomic(path string, data []byte) error {
	f, err := os.CreateTemp(filepath.Dir(path), ".tmp-"+filepath.Base(path)+"-*")
	if err != nil {
		return err
	}
	tmp := f.Name()
	_, werr := f.Write(data)
	cerr := f.Close()
	if werr == nil {
		werr = cerr
	}
	if werr == nil {
		werr = os.Chmod(tmp, 0o644)
	}
	if werr == nil {
		werr = os.Rename(tmp, path)
	}
	if werr != nil {
		os.Remove(tmp)
	}
	return werr
}

// linkPointer makes snapshots/<commit>/<file> a relative symlink to the blob. It creates the
// link under a temporary name and renames it into place, so a reader sees either no file or a
// complete one, and two writers of the same link do not trip over each other.
func linkPointer(pointer, blob string) error {
	if err := os.MkdirAll(filepath.Dir(pointer), 0o755); err != nil {
		return err
	}
	rel, err := filepath.Rel(filepath.Dir(pointer), blob)
	if err != nil {
		return err
	}
	if cur, err := os.Readlink(pointer); err == nil && cur == rel {
		return nil
	}
	var rnd [8]byte
	rand.Read(rnd[:])
	tmp := fmt.Sprintf("%s.tmp-%x", pointer, rnd)
	if err := os.Symlink(rel, tmp); err != nil {
		return err
	}
	if err := os.Rename(tmp, pointer); err != nil {
		os.Remove(tmp)
		return err
	}
	return nil
}

// safeRelPath accepts a repo file path only if it stays inside the snapshot folder.
func safeRelPath(name string) error {
	if name == "" || strings.HasPrefix(name, "/") || strings.Contains(name, "\\") || strings.ContainsRune(name, 0) {
		return fmt.Errorf("unsafe file name %q", name)
	}
	for _, part := range strings.Split(name, "/") {
		if part == "" || part == "." || part == ".." {
			return fmt.Errorf("unsafe file name %q", name)
		}
	}
	return nil
}
