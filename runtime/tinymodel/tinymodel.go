// Package tinymodel holds infty's default model: a tiny Qwen2-architecture model trained by
// `infty train sft` on the synthetic task of session/synth, embedded in the binary so infty
// works with no download. The folder is an ordinary Hugging Face model folder; Dir writes it once
// to a cache folder keyed by its content hash and returns that path, which runtime.Load accepts.
//
// Two models are embedded: the iterative (InftyThink+) model, the default, and the vanilla
// long-chain-of-thought baseline of the same size, window and training budget, which `infty
// bench` runs beside it. `make tiny-model` rebuilds both from scratch.
package tinymodel

import (
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"
)

// ContextLength is the window the tiny models are trained for (max_position_embeddings).
const ContextLength = 256

//go:embed all:model all:vanilla
var files embed.FS

// Names of the embedded models.
const (
	Iterative = "model"   // the default model
	Vanilla   = "vanilla" // the long chain-of-thought baseline
)

// FS returns the files of an embedded model folder (config.json, model.safetensors, tokenizer
// files) rooted at the folder.
func FS(name string) (fs.FS, error) {
	if name != Iterative && name != Vanilla {
		return nil, fmt.Errorf("tinymodel: no embedded model %q (have %q and %q)", name, Iterative, Vanilla)
	}
	sub, err := fs.Sub(files, name)
	if err != nil {
		return nil, err
	}
	if _, err := fs.Stat(sub, "model.safetensors"); err != nil {
		return nil, fmt.Errorf("%w: the embedded %s model is not in this binary (run `make tiny-model`)", ErrNotBuilt, name)
	}
	return sub, nil
}

// Hash is a hex digest of an embedded model's files, names and contents.
func Hash(name string) (string, error) {
	sub, err := FS(name)
	if err != nil {
		return "", err
	}
	names, err := modelFiles(sub)
	if err != nil {
		return "", err
	}
	h := sha256.New()
	for _, n := range names {
		b, err := fs.ReadFile(sub, n)
		if err != nil {
			return "", err
		}
		fmt.Fprintf(h, "%s\x00%d\x00", n, len(b))
		h.Write(b)
	}
	return hex.EncodeToString(h.Sum(nil))[:16], nil
}

// Dir returns a folder holding the embedded model, writing it on first use under the user cache
// folder (os.UserCacheDir()/infty/tiny-<name>-<hash>). The folder name carries the content hash, so
// a new binary with a different model never reads a stale copy; an incomplete copy left by a crash
// is never used, because the folder appears by an atomic rename only once complete.
func Dir(name string) (string, error) {
	base, err := os.UserCacheDir()
	if err != nil || base == "" {
		base = os.TempDir()
	}
	return DirIn(filepath.Join(base, "infty"), name)
}

// DirIn is Dir with an explicit cache root.
func DirIn(root, name string) (string, error) {
	sub, err := FS(name)
	if err != nil {
		return "", err
	}
	hash, err := Hash(name)
	if err != nil {
		return "", err
	}
	dst := filepath.Join(root, "tiny-"+name+"-"+hash)
	if st, err := os.Stat(filepath.Join(dst, "model.safetensors")); err == nil && st.Mode().IsRegular() {
		return dst, nil
	}
	if err := os.MkdirAll(root, 0o755); err != nil {
		return "", fmt.Errorf("tinymodel: cache folder: %w", err)
	}
	tmp, err := os.MkdirTemp(root, ".tiny-"+name+"-*")
	if err != nil {
		return "", fmt.Errorf("tinymodel: cache folder: %w", err)
	}
	defer os.RemoveAll(tmp) // a no-op once renamed
	names, err := modelFiles(sub)
	if err != nil {
		return "", err
	}
	for _, n := range names {
		b, err := fs.ReadFile(sub, n)
		if err != nil {
			return "", err
		}
		if err := os.WriteFile(filepath.Join(tmp, path.Base(n)), b, 0o644); err != nil {
			return "", fmt.Errorf("tinymodel: writing %s: %w", n, err)
		}
	}
	if err := os.Rename(tmp, dst); err != nil {
		// Another process may have won the race; its copy is as good as ours.
		if _, statErr := os.Stat(filepath.Join(dst, "model.safetensors")); statErr == nil {
			return dst, nil
		}
		return "", fmt.Errorf("tinymodel: %w", err)
	}
	return dst, nil
}

// ErrNotBuilt is returned (wrapped) when the binary carries no embedded weights.
var ErrNotBuilt = errors.New("tinymodel: not built")

// modelFiles lists the files of a model folder, sorted, leaving out dot files (placeholders that
// keep an unbuilt folder in version control).
func modelFiles(sub fs.FS) ([]string, error) {
	entries, err := fs.ReadDir(sub, ".")
	if err != nil {
		return nil, err
	}
	var names []string
	for _, e := range entries {
		if !e.IsDir() && !strings.HasPrefix(e.Name(), ".") {
			names = append(names, e.Name())
		}
	}
	sort.Strings(names)
	return names, nil
}
