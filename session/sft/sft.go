// Package sft owns the cold-start supervised fine-tuning example (Example: its layouts, its one
// writer and its one reader) and exports examples from trajectory logs, one per iteration.
//
// Chat layout, one JSON object per line:
//
//	{"messages":[{"role":"user","content":q}, {"role":"assistant","content":a}],
//	 "no_loss_prefix_bytes": N, "no_loss_prefix_chars": M,
//	 "run": "...", "branch": 1, "iteration": 2, "final": false, "edited": false}
//
// The assistant content a is the iteration rendered by format.Iteration, for example
// <history>\n…\n</history><think>\n…\n</think><summary>\n…\n</summary>. Its first N bytes (M
// Unicode code points; the same span) are the pre-filled <history>\n{s}\n</history> block,
// which the model did not write: a trainer computes no loss on them (nor on the user turn); it
// trains on the rest of the assistant content and on the end-of-turn token its chat template
// appends. N and M are 0 for first iterations, which have no history.
//
// Flat layout: {"question","history","reasoning_process","summary","conclusion"} plus the same
// provenance fields; summary is empty on the final iteration, conclusion on the others.
// Synthetic data (session/synth) writes both layouts in one object, and the reference answer.
package sft

import (
	"fmt"
	"io"

	"github.com/infty-dev/infty/session/trajlog"
)

// Layout of the exported examples.
type Layout string

const (
	LayoutChat Layout = "chat"
	LayoutFlat Layout = "flat"
)

// Filter selects trajectories.
type Filter string

const (
	All     Filter = ""        // every selected branch
	Edited  Filter = "edited"  // branches with at least one iteration a person edited
	Correct Filter = "correct" // branches whose final answer verified against the reference
)

// Options choose what is exported.
type Options struct {
	Layout Layout
	Only   Filter
	// AllBranches exports every branch (shared iterations once per branch that holds them);
	// otherwise only each run's current branch (the one shown last).
	AllBranches bool
	// Branch, when > 0, exports only that branch of each run (overrides AllBranches).
	Branch int
	// Unfinished includes branches that never reached a conclusion.
	Unfinished bool
}

// Select returns the branches of run that opts select.
func Select(run *trajlog.Run, opts Options) []*trajlog.Branch {
	var out []*trajlog.Branch
	for _, b := range run.Branches {
		switch {
		case opts.Branch > 0:
			if b.ID != opts.Branch {
				continue
			}
		case !opts.AllBranches:
			if b.ID != run.Current {
				continue
			}
		}
		if !b.Done && !opts.Unfinished {
			continue
		}
		switch opts.Only {
		case Edited:
			if !b.Edited() {
				continue
			}
		case Correct:
			if b.Correct == nil || !*b.Correct {
				continue
			}
		}
		out = append(out, b)
	}
	return out
}

// Export writes the examples of runs as JSON Lines to w and returns how many it wrote.
func Export(w io.Writer, runs []*trajlog.Run, opts Options) (int, error) {
	switch opts.Layout {
	case "", LayoutChat, LayoutFlat:
	default:
		return 0, fmt.Errorf("sft: unknown layout %q (want chat or flat)", opts.Layout)
	}
	switch opts.Only {
	case All, Edited, Correct:
	default:
		return 0, fmt.Errorf("sft: unknown filter %q (want edited or correct)", opts.Only)
	}
	wr := NewWriter(w)
	n := 0
	for _, run := range runs {
		for _, b := range Select(run, opts) {
			for _, it := range b.Iterations {
				fi := it.Layout()
				ex := Example{Provenance: &Provenance{Run: run.ID, Branch: b.ID, Iteration: it.Index, Final: it.Final, Edited: it.Edited, Mode: run.Mode, Model: run.Model}}
				if opts.Layout == LayoutFlat {
					ex.Flat = NewFlat(run.Question, fi)
				} else {
					ex.Chat = NewChat(run.Question, fi)
				}
				if err := wr.Write(ex); err != nil {
					return n, fmt.Errorf("sft: write: %w", err)
				}
				n++
			}
		}
	}
	return n, nil
}
