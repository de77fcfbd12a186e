// Package arch is the seam between the runtime and the model definitions: each architecture
// registers itself under its Hugging Face "architectures" name and builds its forward pass as
// GoMLX graph functions over weights bound by their checkpoint names.
//
// The weights enter a definition as *graph.Node values in their Hugging Face layout, so one
// definition serves inference (weights fed as parameters of a compiled graph) and training
// (gradients flow back to the weight nodes). Neither the runtime nor a trainer knows which
// architecture it runs: they list its tensors with Specs and call Forward or Step.
package arch

import (
	"fmt"
	"reflect"
	"slices"
	"strings"
	"sync"

	"github.com/gomlx/gomlx/core/graph"
)

// TensorSpec is one checkpoint tensor a model needs: its Hugging Face name and shape.
type TensorSpec struct {
	Name  string
	Shape []int
}

// Weights are a model's tensors as graph nodes, keyed by their Hugging Face names.
type Weights map[string]*graph.Node

// Cache holds, for one sequence, each layer's keys and values as [kvHeads, cacheLen, headDim]
// (head-major, the layout attention multiplies as it lies). Index t of the cache length holds
// the token at position t; positions not yet written must be zero.
type Cache struct{ K, V []*graph.Node }

// Model is an architecture instantiated for one config.
type Model interface {
	// Specs lists every tensor the checkpoint must hold.
	Specs() []TensorSpec
	// Forward returns the logits [batch, seq, vocab] at every position of ids [batch, seq]
	// (Int32), whose absolute positions are positions [batch, seq] (Int32). Attention is causal
	// by position, so right padding changes nothing for the real tokens. This is the function a
	// trainer differentiates.
	Forward(w Weights, ids, positions *graph.Node) *graph.Node
	// Step runs a chunk of one sequence against a KV cache: ids [S] (Int32) holds nValid real
	// tokens followed by padding, at positions start, start+1, …; start and nValid are Int32
	// scalars fed at run time, so one compiled graph serves every position. It adds the
	// chunk's keys and values into the cache and returns the logits [vocab] of the last real
	// token only. The caller keeps start+S <= cacheLen.
	Step(w Weights, ids, start, nValid *graph.Node, cache *Cache) (logits *graph.Node, updated *Cache)
}

// New builds an architecture's model for cfg, validating what the architecture requires.
type New func(cfg *Config) (Model, error)

var (
	mu       sync.RWMutex
	registry = map[string]New{}
)

// Register makes an architecture known under its config.json "architectures" name. Definitions
// call it from init; registering a name twice is a programming error.
func Register(name string, f New) {
	mu.Lock()
	defer mu.Unlock()
	if _, dup := registry[name]; dup {
		panic("arch: " + name + " registered twice")
	}
	registry[name] = f
}

func lookup(name string) (New, bool) {
	mu.RLock()
	defer mu.RUnlock()
	f, ok := registry[name]
	return f, ok
}

// Known lists the registered architecture names, sorted.
func Known() []string {
	mu.RLock()
	defer mu.RUnlock()
	names := make([]string, 0, len(registry))
	for n := range registry {
		names = append(names, n)
	}
	slices.Sort(names)
	return names
}

// Build instantiates cfg's architecture.
func Build(cfg *Config) (Model, error) {
	f, ok := lookup(cfg.Architecture)
	if !ok {
		return nil, fmt.Errorf("unsupported architecture %q (supported: %s)", cfg.Architecture, strings.Join(Known(), ", "))
	}
	return f(cfg)
}

// Bind names nodes given in the order of specs, e.g. the weight parameters of a compiled graph.
func Bind(specs []TensorSpec, nodes []*graph.Node) (Weights, error) {
	if len(nodes) != len(specs) {
		return nil, fmt.Errorf("arch: got %d weight nodes, want %d", len(nodes), len(specs))
	}
	w := make(Weights, len(specs))
	for i, s := range specs {
		w[s.Name] = nodes[i]
	}
	return w, nil
}

// Populate binds the *graph.Node fields of the struct dst points to by name: a field tagged
// `hf:"NAME"` gets w[prefix+NAME], and one tagged `hf:"NAME,optional"` stays nil when w has no
// such tensor. Fields without the tag are left alone. A required tensor missing from w is an
// error naming it.
func Populate(dst any, w Weights, prefix string) error {
	v := reflect.ValueOf(dst).Elem()
	t := v.Type()
	for i := range t.NumField() {
		tag, ok := t.Field(i).Tag.Lookup("hf")
		if !ok {
			continue
		}
		name, optional := strings.CutSuffix(tag, ",optional")
		node, found := w[prefix+name]
		if !found && !optional {
			return fmt.Errorf("arch: no tensor %q", prefix+name)
		}
		v.Field(i).Set(reflect.ValueOf(node))
	}
	return nil
}
