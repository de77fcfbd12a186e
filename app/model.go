// Package app is what infty's commands do once their flags are read, so that the command files
// only map flags to it and the front ends that share a step (solve, curate, the workbench and
// bench) share one copy of it: opening a model from what the user typed, building a run's
// session configuration with the budgets fitted to the model's window, running a session headless
// or in the workbench, the answer and verdict lines, the benchmark, download progress, and the
// JSON Lines tools over a model's tokenizer and chat template.
//
// Everything here speaks the model contract (package llm); the embedded runtime is only where
// OpenModel gets a model from, so a remote engine is one more case there.
package app

import (
	"context"
	"errors"
	"fmt"
	"os"

	"github.com/infty-dev/infty/llm"
	"github.com/infty-dev/infty/runtime"
	"github.com/infty-dev/infty/runtime/hub"
	"github.com/infty-dev/infty/runtime/tinymodel"
)

// Model is an opened model: the contract, and the resources it holds until Close.
type Model interface {
	llm.Model
	Close() error
}

// Embedded names a model the binary carries, for an empty reference.
type Embedded struct {
	Kind    string // tinymodel.Iterative or tinymodel.Vanilla
	Name    string // what logs and tables call it
	Missing string // the error when the binary was built without it, telling the flag to use
}

var (
	// DefaultModel is what a session command runs without --model.
	DefaultModel = Embedded{tinymodel.Iterative, "infty-tiny",
		"no --model given and this binary carries no embedded default model; pass --model DIR or ORG/NAME"}
	// VanillaBaseline is bench's vanilla mode without --vanilla-model: the same size, window and
	// budget as DefaultModel, trained on plain chains of thought.
	VanillaBaseline = Embedded{tinymodel.Vanilla, "infty-tiny-vanilla",
		"this binary carries no embedded vanilla baseline; pass --vanilla-model DIR (or same)"}
)

// Available is nil when this binary carries e, and otherwise the error that says which flag to
// use; it loads nothing, so a front end can say so before it takes the terminal.
func (e Embedded) Available() error {
	if _, err := tinymodel.FS(e.Kind); errors.Is(err, tinymodel.ErrNotBuilt) {
		return errors.New(e.Missing)
	}
	return nil
}

// ModelOptions says how OpenModel loads.
type ModelOptions struct {
	Backend string   // compute backend spec ("" = $INFTY_BACKEND, else the pure-Go one)
	Pull    bool     // download a hub model missing from the cache, with progress on stderr
	Default Embedded // what an empty reference means; zero: DefaultModel
	// Batch bounds the embedded runtime's continuous batching (--max-batch, --kv-budget).
	Batch runtime.BatchLimits
	// Engine, when its URL is set, serves the model: the reference is the served name ("" for
	// the only one served).
	Engine EngineSpec
	// Warn is told what a remote engine cannot do as asked, once each (nil: kept in its Warnings).
	Warn func(string)
}

// OpenModel opens what the user typed after --model: empty for the embedded default, a folder, a
// hub id ORG/NAME[@REV] or a cache path (see Resolve); with o.Engine, a model that server serves. The model carries the name the user gave,
// for the logs. A panic while loading (a broken model folder) comes back as an error.
func OpenModel(ctx context.Context, ref string, o ModelOptions) (m Model, err error) {
	if o.Engine.URL != "" {
		return openRemote(ctx, ref, o.Engine, o.Pull, o.Warn)
	}
	def := o.Default
	if def == (Embedded{}) {
		def = DefaultModel
	}
	var dir string
	name := ref
	if ref == "" {
		if dir, err = tinymodel.Dir(def.Kind); err != nil {
			if errors.Is(err, tinymodel.ErrNotBuilt) {
				return nil, errors.New(def.Missing)
			}
			return nil, err
		}
		name = def.Name
	} else if dir, err = Resolve(ctx, ref, o.Pull); err != nil {
		return nil, err
	}
	defer func() {
		if r := recover(); r != nil {
			m, err = nil, fmt.Errorf("loading %s: %v", name, r)
		}
	}()
	e, err := runtime.Open(dir, name, runtime.WithBackend(o.Backend), runtime.WithBatchLimits(o.Batch))
	if err != nil {
		return nil, err
	}
	return e, nil
}

// Resolve turns a model reference into a model folder with hub.Resolve, the one resolver; with
// pull it downloads what the cache lacks, showing progress on stderr.
func Resolve(ctx context.Context, ref string, pull bool) (string, error) {
	opts := hub.ResolveOptions{Download: pull}
	var pv *PullView
	if pull {
		pv = NewPullView(os.Stderr)
		opts.Progress = pv.Update
	}
	dir, err := hub.Resolve(ctx, ref, opts)
	if pv != nil {
		pv.Finish()
	}
	return dir, err
}

// placement is where m runs, empty when it does not say.
func placement(m llm.Model) llm.Placement {
	if p, ok := m.(llm.Placed); ok {
		return p.Placement()
	}
	return llm.Placement{}
}
