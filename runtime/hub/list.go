package hub

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/infty-dev/infty/internal/safefile"
)

// CachedModel is one snapshot of a model in the cache.
type CachedModel struct {
	Repo     string
	Commit   string
	Refs     []string // revisions whose refs/ entry points at this commit (e.g. "main")
	Dir      string
	Size     int64 // bytes of the files in the snapshot (each blob counted once)
	Missing  []string
	Complete bool
}

// ListCached lists the model snapshots in a hub cache folder, sorted by repo then commit. A
// missing cache folder is an empty list.
func ListCached(cacheDir string) ([]CachedModel, error) {
	entries, err := os.ReadDir(cacheDir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var out []CachedModel
	for _, e := range entries {
		if !e.IsDir() {
			continue
		}
		repo, ok := repoFromCacheFolder(filepath.Join(cacheDir, e.Name()))
		if !ok {
			continue
		}
		rc := repoCache{cacheDir: cacheDir, repo: repo}
		refs := map[string][]string{}
		refRoot := filepath.Join(rc.root(), "refs")
		filepath.WalkDir(refRoot, func(path string, d fs.DirEntry, err error) error {
			if err != nil || d.IsDir() {
				return nil
			}
			b, err := safefile.ReadFile(path, safefile.RefLimit)
			if err != nil {
				return nil
			}
			rel, _ := filepath.Rel(refRoot, path)
			c := strings.TrimSpace(string(b))
			refs[c] = append(refs[c], filepath.ToSlash(rel))
			return nil
		})
		snaps, _ := os.ReadDir(filepath.Join(rc.root(), "snapshots"))
		for _, s := range snaps {
			if !s.IsDir() {
				continue
			}
			m := CachedModel{Repo: repo, Commit: s.Name(), Refs: refs[s.Name()], Dir: rc.snapshot(s.Name())}
			sort.Strings(m.Refs)
			m.Size = snapshotSize(m.Dir)
			m.Missing = MissingFiles(m.Dir)
			m.Complete = len(m.Missing) == 0
			out = append(out, m)
		}
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Repo != out[j].Repo {
			return out[i].Repo < out[j].Repo
		}
		return out[i].Commit < out[j].Commit
	})
	return out, nil
}

func snapshotSize(dir string) int64 {
	seen := map[string]bool{}
	var total int64
	filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return nil
		}
		target, err := filepath.EvalSymlinks(path)
		if err != nil || seen[target] {
			return nil
		}
		seen[target] = true
		if fi, err := os.Stat(target); err == nil {
			total += fi.Size()
		}
		return nil
	})
	return total
}
