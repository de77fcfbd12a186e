package trajlog

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"sort"
	"time"

	"github.com/infty-dev/infty/llm"
)

// Run is one run rebuilt from the log.
type Run struct {
	ID         string
	Question   string
	Reference  string
	Model      string
	Summarizer string
	Mode       string
	Eta, Phi   int
	SummaryMax int
	Sampling   llm.Sampling
	Started    time.Time
	Branches   []*Branch // by id
	Current    int       // the branch shown last (created or switched to last)
	Edits      []Edit

	// Engine and SummarizerEngine are the servers that ran the models, nil when they ran in
	// the program. Source says which input item a curated run was made from, so that a rerun of
	// the same curation can skip it ("" outside curation).
	Engine, SummarizerEngine *llm.Server
	Source                   string
}

// Branch is one branch with all its iterations (those shared with its parent included).
type Branch struct {
	ID, Parent, Fork int
	Iterations       []Iteration
	Done             bool
	Answer           string
	Correct          *bool
	Tokens           int
	Seconds          float64
	own              []Iteration
	// replaced holds, by iteration index, the summaries the branch's edit records say were
	// replaced: logs written before Iteration.Original existed say it only there.
	replaced map[int]string
}

// Edited reports whether any iteration of the branch was edited by a person.
func (b *Branch) Edited() bool {
	for _, it := range b.Iterations {
		if it.Edited {
			return true
		}
	}
	return false
}

// Branch returns branch id, or nil.
func (r *Run) Branch(id int) *Branch {
	for _, b := range r.Branches {
		if b.ID == id {
			return b
		}
	}
	return nil
}

// ReadFile reads the log at path. Warnings name torn or unreadable lines that were skipped.
func ReadFile(path string) ([]*Run, []string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, nil, fmt.Errorf("trajectory log: %w", err)
	}
	defer f.Close()
	return Read(f, path)
}

// Read rebuilds the runs of a log; name is used in messages.
func Read(r io.Reader, name string) ([]*Run, []string, error) {
	br := bufio.NewReaderSize(r, 1<<16)
	var warnings []string
	runs := map[string]*Run{}
	var order []string
	lineNo := 0
	bad := 0
	for {
		line, err := br.ReadBytes('\n')
		if len(line) == 0 && err != nil {
			if errors.Is(err, io.EOF) {
				break
			}
			return nil, warnings, fmt.Errorf("%s: %w", name, err)
		}
		lineNo++
		complete := len(line) > 0 && line[len(line)-1] == '\n'
		line = bytes.TrimSpace(line)
		if len(line) == 0 {
			continue
		}
		var rec Record
		if jerr := json.Unmarshal(line, &rec); jerr != nil {
			bad++
			what := "torn line"
			if complete {
				what = "unreadable line"
			}
			warnings = append(warnings, fmt.Sprintf("%s:%d: %s skipped (%v)", name, lineNo, what, jerr))
			continue
		}
		if rec.Run == "" || rec.Kind == "" {
			return nil, warnings, fmt.Errorf("%s:%d: record without run id or kind", name, lineNo)
		}
		if rec.V > Version {
			return nil, warnings, fmt.Errorf("%s:%d: record version %d is newer than this program reads (%d)", name, lineNo, rec.V, Version)
		}
		run := runs[rec.Run]
		if run == nil {
			run = &Run{ID: rec.Run, Model: rec.Model, Summarizer: rec.Summarizer, Mode: rec.Mode, Eta: rec.Eta, Phi: rec.Phi,
				SummaryMax: rec.SummaryMax, Sampling: rec.Sampling, Started: rec.Time, Current: 1}
			runs[rec.Run] = run
			order = append(order, rec.Run)
		}
		if err := run.apply(rec); err != nil {
			return nil, warnings, fmt.Errorf("%s:%d: %w", name, lineNo, err)
		}
	}
	if len(order) == 0 && bad > 0 {
		return nil, warnings, fmt.Errorf("%s: no readable record (%d unreadable lines): not a trajectory log", name, bad)
	}
	out := make([]*Run, 0, len(order))
	for _, id := range order {
		run := runs[id]
		if err := run.resolve(); err != nil {
			return nil, warnings, fmt.Errorf("%s: run %s: %w", name, id, err)
		}
		out = append(out, run)
	}
	return out, warnings, nil
}

func (r *Run) branch(id int) *Branch {
	if b := r.Branch(id); b != nil {
		return b
	}
	b := &Branch{ID: id}
	r.Branches = append(r.Branches, b)
	return b
}

func (r *Run) apply(rec Record) error {
	switch rec.Kind {
	case KindRun:
		r.Question, r.Reference, r.Started = rec.Question, rec.Reference, rec.Time
		r.Engine, r.SummarizerEngine, r.Source = rec.Engine, rec.SummarizerEngine, rec.Source
		r.branch(1)
	case KindBranch:
		if rec.Branch <= 1 || rec.Parent < 1 || rec.Fork < 1 {
			return fmt.Errorf("branch record with branch %d, parent %d, fork %d", rec.Branch, rec.Parent, rec.Fork)
		}
		b := r.branch(rec.Branch)
		b.Parent, b.Fork = rec.Parent, rec.Fork
		r.Current = rec.Branch
	case KindIteration:
		if rec.Iteration == nil || rec.Iteration.Index < 1 {
			return errors.New("iteration record without an iteration")
		}
		b := r.branch(rec.Branch)
		it := *rec.Iteration
		if old, ok := b.replaced[it.Index]; ok && it.Edited && it.Original == "" {
			it.Original = old
		}
		b.own = append(b.own, it)
	case KindEdit:
		if rec.Edit == nil {
			return errors.New("edit record without an edit")
		}
		r.Edits = append(r.Edits, *rec.Edit)
		if b := r.Branch(rec.Branch); b != nil && rec.Edit.Part == "summary" {
			if b.replaced == nil {
				b.replaced = map[int]string{}
			}
			b.replaced[rec.Edit.Iteration] = rec.Edit.Old
		}
	case KindSwitch:
		r.branch(rec.Branch)
		r.Current = rec.Branch
	case KindAnswer:
		b := r.branch(rec.Branch)
		b.Done, b.Answer, b.Correct, b.Tokens, b.Seconds = true, rec.Answer, rec.Correct, rec.Tokens, rec.Seconds
	default:
		// Records of kinds this reader does not know are skipped: newer writers may add some.
	}
	return nil
}

// resolve builds each branch's full iteration list: its parent's before the fork, then its own.
func (r *Run) resolve() error {
	sort.Slice(r.Branches, func(i, j int) bool { return r.Branches[i].ID < r.Branches[j].ID })
	done := map[int]bool{}
	var build func(b *Branch, depth int) error
	build = func(b *Branch, depth int) error {
		if done[b.ID] {
			return nil
		}
		if depth > len(r.Branches) {
			return fmt.Errorf("branch %d: parent cycle", b.ID)
		}
		var its []Iteration
		if b.Parent > 0 {
			p := r.Branch(b.Parent)
			if p == nil {
				return fmt.Errorf("branch %d: parent %d has no records", b.ID, b.Parent)
			}
			if err := build(p, depth+1); err != nil {
				return err
			}
			n := min(b.Fork-1, len(p.Iterations))
			its = append(its, p.Iterations[:n]...)
		}
		for _, it := range b.own {
			// Iterations are logged in order; an index past the end means a record was lost.
			if it.Index != len(its)+1 {
				if it.Index <= len(its) {
					its = its[:it.Index-1]
				} else {
					return fmt.Errorf("branch %d: iteration %d follows iteration %d", b.ID, it.Index, len(its))
				}
			}
			its = append(its, it)
		}
		b.Iterations = its
		done[b.ID] = true
		return nil
	}
	for _, b := range r.Branches {
		if err := build(b, 0); err != nil {
			return err
		}
	}
	return nil
}
