package hub

import (
	"encoding/json"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"
)

// IndexFile names the shards of a sharded safetensors checkpoint.
const IndexFile = "model.safetensors.index.json"

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
	case have[IndexFile]:
		files = append(files, IndexFile)
		indexed = true
	case have["model.safetensors"]:
		files = append(files, "model.safetensors")
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

// ShardsFromIndex reads model.safetensors.index.json and returns the distinct shard files its
// weight_map names, sorted.
func ShardsFromIndex(indexPath string) ([]string, error) {
	b, err := os.ReadFile(indexPath)
	if err != nil {
		return nil, err
	}
	var idx struct {
		WeightMap map[string]string `json:"weight_map"`
	}
	if err := json.Unmarshal(b, &idx); err != nil {
		return nil, fmt.Errorf("%s: %v", indexPath, err)
	}
	if len(idx.WeightMap) == 0 {
		return nil, fmt.Errorf("%s: no weight_map entries", indexPath)
	}
	seen := map[string]bool{}
	var shards []string
	for tensor, f := range idx.WeightMap {
		if err := safeRelPath(f); err != nil || path.Clean(f) != f {
			return nil, fmt.Errorf("%s: tensor %q maps to an unsafe file name %q", indexPath, tensor, f)
		}
		if !seen[f] {
			seen[f] = true
			shards = append(shards, f)
		}
	}
	sort.Strings(shards)
	return shards, nil
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
	if exists(IndexFile) {
		shards, err := ShardsFromIndex(filepath.Join(dir, IndexFile))
		if err != nil {
			return append(missing, IndexFile+" (unreadable: "+err.Error()+")")
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
