package safetensors

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/infty-dev/infty/internal/safefile"
)

// Names of the files a Hugging Face model folder keeps its weights in.
const (
	SingleFileName = "model.safetensors"
	IndexFileName  = "model.safetensors.index.json"
)

// Set is the weights of one model folder: a single file or several shards.
type Set struct {
	files   []*File
	tensors map[string]Tensor
	names   []string
}

// Names returns every tensor name, sorted.
func (s *Set) Names() []string { return s.names }

// Get returns the named tensor.
func (s *Set) Get(name string) (Tensor, bool) {
	t, ok := s.tensors[name]
	return t, ok
}

// Files returns the open files of the set.
func (s *Set) Files() []*File { return s.files }

// Close unmaps every file of the set.
func (s *Set) Close() error {
	var errs []error
	for _, f := range s.files {
		errs = append(errs, f.Close())
	}
	s.files, s.tensors, s.names = nil, nil, nil
	return errors.Join(errs...)
}

// OpenFolder opens the weights of a model folder: model.safetensors when it
// exists (transformers looks for it first), otherwise the shards named by
// model.safetensors.index.json. A sharded set is checked against its index:
// every shard exists, every listed tensor is in the shard the index names, and
// no shard holds a tensor the index does not list there.
func OpenFolder(dir string) (*Set, error) {
	single := filepath.Join(dir, SingleFileName)
	if _, err := os.Stat(single); err == nil {
		f, err := Open(single)
		if err != nil {
			return nil, err
		}
		return newSet([]*File{f}), nil
	} else if !errors.Is(err, fs.ErrNotExist) {
		return nil, err
	}
	index := filepath.Join(dir, IndexFileName)
	if _, err := os.Stat(index); errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("%s: no %s or %s in the folder", dir, SingleFileName, IndexFileName)
	}
	return openIndexed(dir, index)
}

// ReadIndex reads a model.safetensors.index.json: which shard holds each tensor, and the
// distinct shards, sorted. A shard must be a file name in the index's own folder, and a tensor
// may be listed once.
func ReadIndex(index string) (want map[string]string, shards []string, err error) {
	raw, err := safefile.ReadFile(index, safefile.IndexLimit)
	if err != nil {
		return nil, nil, err
	}
	top, err := decodeObject(raw)
	if err != nil {
		return nil, nil, fmt.Errorf("%s: not valid JSON: %w", index, err)
	}
	var mapRaw json.RawMessage
	for _, kv := range top {
		if kv.key == "weight_map" {
			mapRaw = kv.value
		}
	}
	if mapRaw == nil {
		return nil, nil, fmt.Errorf("%s: no \"weight_map\"", index)
	}
	// decodeObject rejects a tensor listed twice, which a plain map would hide.
	entries, err := decodeObject(mapRaw)
	if err != nil {
		return nil, nil, fmt.Errorf("%s: weight_map: %w", index, err)
	}
	if len(entries) == 0 {
		return nil, nil, fmt.Errorf("%s: weight_map is empty", index)
	}
	want = make(map[string]string, len(entries)) // tensor → shard
	seenShard := map[string]bool{}
	for _, kv := range entries {
		var shard string
		if err := json.Unmarshal(kv.value, &shard); err != nil {
			return nil, nil, fmt.Errorf("%s: weight_map[%q] is not a file name", index, kv.key)
		}
		// Shards must sit in the folder itself: never follow a path elsewhere.
		if shard == "" || shard != filepath.Base(shard) || strings.ContainsAny(shard, `/\`) || shard == "." || shard == ".." {
			return nil, nil, fmt.Errorf("%s: weight_map[%q] = %q is not a file name in the model folder", index, kv.key, shard)
		}
		want[kv.key] = shard
		if !seenShard[shard] {
			seenShard[shard] = true
			shards = append(shards, shard)
		}
	}
	sort.Strings(shards)
	return want, shards, nil
}

func openIndexed(dir, index string) (*Set, error) {
	want, shards, err := ReadIndex(index)
	if err != nil {
		return nil, err
	}
	files := make([]*File, 0, len(shards))
	fail := func(err error) (*Set, error) {
		for _, f := range files {
			f.Close()
		}
		return nil, err
	}
	for _, shard := range shards {
		path := filepath.Join(dir, shard)
		if _, err := os.Stat(path); errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("%s: names shard %s, which does not exist", index, path)
		}
	}
	for _, shard := range shards {
		path := filepath.Join(dir, shard)
		f, err := Open(path)
		if err != nil {
			return fail(err)
		}
		files = append(files, f)
		for _, t := range f.Tensors() {
			listed, ok := want[t.Name]
			if !ok {
				return fail(fmt.Errorf("%s: tensor %q is in the shard but not in %s", path, t.Name, index))
			}
			if listed != shard {
				return fail(fmt.Errorf("%s: tensor %q is in the shard but %s places it in %s", path, t.Name, index, listed))
			}
		}
	}
	set := newSet(files)
	for name, shard := range want {
		if _, ok := set.tensors[name]; !ok {
			return fail(fmt.Errorf("%s: lists tensor %q in %s, but that shard does not hold it", index, name, filepath.Join(dir, shard)))
		}
	}
	return set, nil
}

func newSet(files []*File) *Set {
	s := &Set{files: files, tensors: map[string]Tensor{}}
	for _, f := range files {
		for _, t := range f.Tensors() {
			s.tensors[t.Name] = t
			s.names = append(s.names, t.Name)
		}
	}
	sort.Strings(s.names)
	return s
}
