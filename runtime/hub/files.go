package hub

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/infty-dev/infty/runtime/safetensors"
)

// modelFiles are the small files a model folder may carry that infty reads (config, generation
// defaults, tokenizer and its chat template, and the vocab/merges pair of older tokenizers).
var modelFiles = []string{
	"config.json",
	"generation_config.json",
	"tokenizer.json",
	"tokenizer_config.json",
	"vocab.json",
	"merges.txt",
}

// requiredFiles must be in a repo (and in a cached snapshot) for infty to load it.
var requiredFiles = []string{"config.json", "tokenizer.json"}

// selectFiles picks from a repo's file list what a model needs, leaving shards for later when
// there is an index (only the shards it names are fetched). It refuses a repo that lacks a
// required file or safetensors weights, naming what is missing.
func selectFiles(listing []string) (files []string, indexed bool, err error) {
	have := map[string]bool{}
	for _, f := range listing {
		have[f] = true
	}
	var missing []string
	for _, f := range requiredFiles {
		if !have[f] {
			missing = append(missing, f)
		}
	}
	for _, f := range modelFiles {
		if have[f] {
			files = append(files, f)
		}
	}
	switch {
	case have[safetensors.IndexFileName]:
		files = append(files, safetensors.IndexFileName)
		indexed = true
	case have[safetensors.SingleFileName]:
		files = append(files, safetensors.SingleFileName)
	default:
		var st []string
		for _, f := range listing {
			if !strings.Contains(f, "/") && strings.HasSuffix(f, ".safetensors") {
				st = append(st, f)
			}
		}
		if len(st) == 0 {
			missing = append(missing, "*.safetensors weights")
		}
		sort.Strings(st)
		files = append(files, st...)
	}
	if len(missing) > 0 {
		return nil, false, fmt.Errorf("lacks %s, which infty needs to load a model", strings.Join(missing, ", "))
	}
	return files, indexed, nil
}

// MissingFiles says what a model folder lacks for infty to load it: config.json and
// tokenizer.json, and the weights (every shard the index names, or at least one
// *.safetensors file). A dangling symlink counts as missing. Nil means complete.
func MissingFiles(dir string) []string {
	var missing []string
	exists := func(name string) bool {
		fi, err := os.Stat(filepath.Join(dir, filepath.FromSlash(name)))
		return err == nil && fi.Mode().IsRegular()
	}
	for _, f := range requiredFiles {
		if !exists(f) {
			missing = append(missing, f)
		}
	}
	if exists(safetensors.IndexFileName) {
		_, shards, err := safetensors.ReadIndex(filepath.Join(dir, safetensors.IndexFileName))
		if err != nil {
			return append(missing, safetensors.IndexFileName+" (unreadable: "+err.Error()+")")
		}
		for _, s := range shards {
			if !exists(s) {
				missing = append(missing, s)
			}
		}
		return missing
	}
	matches, _ := filepath.Glob(filepath.Join(dir, "*.safetensors"))
	found := false
	for _, m := range matches {
		if fi, err := os.Stat(m); err == nil && fi.Mode().IsRegular() {
			found = true
		}
	}
	if !found {
		missing = append(missing, "*.safetensors weights")
	}
	return missing
}
