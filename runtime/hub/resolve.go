package hub

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// ResolveOptions controls Resolve.
type ResolveOptions struct {
	// Config is where the cache is and how to reach the hub; nil means ConfigFromEnv().
	Config *Config
	// Download lets Resolve pull a repo id that is not completely in the cache (never when
	// offline). Off by default: naming a model does not touch the network unless asked
	// (`infty pull`, or a command's --pull flag).
	Download bool
	// Progress receives download progress when Resolve pulls.
	Progress func(Progress)
	// Client, if set, is used for downloads (tests); otherwise one is made from Config.
	Client *Client
}

// Resolve turns what a user gave to --model into a model folder:
//
//   - an existing folder is returned as is (made absolute) if it holds a config.json; a cache repo
//     folder (…/models--ORG--NAME) stands for its refs/main snapshot;
//   - ORG/NAME[@REV] is looked up in the cache alone (refs/REV → snapshots/<commit>) and the
//     snapshot folder returned when it is complete — no request is made, online or not;
//   - otherwise, when opts.Download is set and HF_HUB_OFFLINE is not, the model is pulled;
//     else the error says what is missing and how to get it (`infty pull ORG/NAME`).
func Resolve(ctx context.Context, nameOrPath string, opts ResolveOptions) (string, error) {
	cfg := opts.Config
	if cfg == nil {
		c := ConfigFromEnv()
		cfg = &c
	}
	name := strings.TrimSpace(nameOrPath)
	if name == "" {
		return "", errors.New("no model given: pass a hub repo id (ORG/NAME) or a model folder")
	}
	p := expandHome(name)
	if fi, err := os.Stat(p); err == nil {
		if !fi.IsDir() {
			return "", fmt.Errorf("model %s is a file; give the folder that holds config.json", p)
		}
		abs, err := filepath.Abs(p)
		if err != nil {
			return "", err
		}
		if repo, ok := repoFromCacheFolder(abs); ok {
			return resolveCached(ctx, repo, "main", repoCache{cacheDir: filepath.Dir(abs), repo: repo}, *cfg, opts)
		}
		// A local folder is the user's: only check it is a model folder at all, and leave the
		// loader to name any other missing file in the terms of what it reads.
		if fi, err := os.Stat(filepath.Join(abs, "config.json")); err != nil || !fi.Mode().IsRegular() {
			return "", fmt.Errorf("folder %s is not a Hugging Face model folder: it has no config.json", abs)
		}
		return abs, nil
	}
	if looksLikePath(name) {
		return "", fmt.Errorf("model folder %s does not exist", p)
	}
	repo, rev, err := ParseRepoID(name)
	if err != nil {
		return "", fmt.Errorf("%v (and no such folder exists)", err)
	}
	return resolveCached(ctx, repo, rev, repoCache{cacheDir: cfg.CacheDir, repo: repo}, *cfg, opts)
}

func resolveCached(ctx context.Context, repo, rev string, rc repoCache, cfg Config, opts ResolveOptions) (string, error) {
	id := repo
	if rev != "main" {
		id += "@" + rev
	}
	commit, ok, err := rc.commitFor(rev)
	if err != nil {
		return "", fmt.Errorf("model %s: %w", id, err)
	}
	var why string
	if ok {
		dir := rc.snapshot(commit)
		missing := MissingFiles(dir)
		if len(missing) == 0 {
			return dir, nil
		}
		why = fmt.Sprintf("model %s is only partly in the cache: %s lacks %s", id, dir, strings.Join(missing, ", "))
	} else {
		why = fmt.Sprintf("model %s is not in the cache at %s", id, rc.cacheDir)
	}
	switch {
	case cfg.Offline:
		return "", fmt.Errorf("%w: %s; run `infty pull %s` with network access first", ErrOffline, why, id)
	case !opts.Download:
		return "", errorf(ErrNotCached, "%s; run `infty pull %s`", why, id)
	}
	c := opts.Client
	if c == nil {
		c = NewClient(cfg)
	}
	if opts.Progress != nil {
		c.Progress = opts.Progress
	}
	snap, err := c.Pull(ctx, repo, rev)
	if err != nil {
		return "", err
	}
	return snap.Dir, nil
}

// repoFromCacheFolder recognizes a cache repo folder (models--ORG--NAME holding snapshots/).
func repoFromCacheFolder(dir string) (string, bool) {
	base := filepath.Base(dir)
	if !strings.HasPrefix(base, "models--") {
		return "", false
	}
	if fi, err := os.Stat(filepath.Join(dir, "snapshots")); err != nil || !fi.IsDir() {
		return "", false
	}
	parts := strings.Split(strings.TrimPrefix(base, "models--"), "--")
	if len(parts) != 2 {
		return "", false
	}
	return parts[0] + "/" + parts[1], true
}

func looksLikePath(s string) bool {
	// A revision may hold slashes (org/tiny@feature/x): only what precedes it is the repo.
	repo, _, _ := strings.Cut(s, "@")
	return strings.HasPrefix(s, "/") || strings.HasPrefix(s, ".") || strings.HasPrefix(s, "~") ||
		strings.Count(repo, "/") > 1 || strings.Contains(s, string(os.PathSeparator)+string(os.PathSeparator))
}
