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
	started    bool // the run record was read

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
	ownLines         []int // the log line of each of own, for warnings
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

// ReadFile reads the log at path; see Read.
func ReadFile(path string) ([]*Run, []string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, nil, fmt.Errorf("trajectory log: %w", err)
	}
	defer f.Close()
	return Read(f, path)
}

// Read rebuilds the runs of a log; name is used in messages. One bad record does not hide the
// rest: a line that cannot be read or used (torn, not JSON, no run id, a newer version, a
// record that contradicts the log) is skipped, a branch that a lost record broke is left out,
// and so is a run whose run record is lost; each warning names the file and line and what was
// left out. Only a log with nothing readable at all is an error.
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
			bad++
			warnings = append(warnings, fmt.Sprintf("%s:%d: record without run id or kind skipped", name, lineNo))
			continue
		}
		if rec.V > Version {
			bad++
			warnings = append(warnings, fmt.Sprintf("%s:%d: record version %d is newer than this program reads (%d); skipped", name, lineNo, rec.V, Version))
			continue
		}
		if err := checkRecord(rec); err != nil {
			bad++
			warnings = append(warnings, fmt.Sprintf("%s:%d: %v; skipped", name, lineNo, err))
			continue
		}
		run := runs[rec.Run]
		if run == nil {
			run = &Run{ID: rec.Run, Model: rec.Model, Summarizer: rec.Summarizer, Mode: rec.Mode, Eta: rec.Eta, Phi: rec.Phi,
				SummaryMax: rec.SummaryMax, Sampling: rec.Sampling, Started: rec.Time, Current: 1}
			runs[rec.Run] = run
			order = append(order, rec.Run)
		}
		run.apply(rec, lineNo)
	}
	if len(order) == 0 && bad > 0 {
		return nil, warnings, fmt.Errorf("%s: no readable record (%d unreadable lines): not a trajectory log", name, bad)
	}
	out := make([]*Run, 0, len(order))
	for _, id := range order {
		run := runs[id]
		if !run.started {
			warnings = append(warnings, fmt.Sprintf("%s: run %s left out: its run record (the question) is missing", name, id))
			continue
		}
		for _, w := range run.resolve() {
			warnings = append(warnings, fmt.Sprintf("%s:%s", name, w))
		}
		if len(run.Branches) == 0 {
			continue
		}
		out = append(out, run)
	}
	return out, warnings, nil
}

// checkRecord refuses a record that cannot be applied as it is, before it touches a run.
func checkRecord(rec Record) error {
	switch rec.Kind {
	case KindBranch:
		if rec.Branch <= 1 || rec.Parent < 1 || rec.Fork < 1 {
			return fmt.Errorf("branch record with branch %d, parent %d, fork %d", rec.Branch, rec.Parent, rec.Fork)
		}
	case KindIteration:
		if rec.Iteration == nil || rec.Iteration.Index < 1 {
			return errors.New("iteration record without an iteration")
		}
	case KindEdit:
		if rec.Edit == nil {
			return errors.New("edit record without an edit")
		}
	}
	switch rec.Kind {
	case KindIteration, KindSwitch, KindAnswer:
		if rec.Branch < 1 {
			return fmt.Errorf("%s record on branch %d", rec.Kind, rec.Branch)
		}
	}
	return nil
}

func (r *Run) branch(id int) *Branch {
	if b := r.Branch(id); b != nil {
		return b
	}
	b := &Branch{ID: id}
	r.Branches = append(r.Branches, b)
	return b
}

// apply adds a record that checkRecord accepted; line is where it is in the log.
func (r *Run) apply(rec Record, line int) {
	switch rec.Kind {
	case KindRun:
		r.Question, r.Reference, r.Started, r.started = rec.Question, rec.Reference, rec.Time, true
		r.Engine, r.SummarizerEngine, r.Source = rec.Engine, rec.SummarizerEngine, rec.Source
		r.branch(1)
	case KindBranch:
		b := r.branch(rec.Branch)
		b.Parent, b.Fork = rec.Parent, rec.Fork
		r.Current = rec.Branch
	case KindIteration:
		b := r.branch(rec.Branch)
		it := *rec.Iteration
		if old, ok := b.replaced[it.Index]; ok && it.Edited && it.Original == "" {
			it.Original = old
		}
		b.own = append(b.own, it)
		b.ownLines = append(b.ownLines, line)
	case KindEdit:
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
}

// resolve builds each branch's full iteration list: its parent's before the fork, then its own.
// A branch that cannot be built whole (a lost iteration record, a lost or broken parent) is
// left out; the messages (LINE: what, or " run …" without a line) say which and why.
func (r *Run) resolve() (warnings []string) {
	sort.Slice(r.Branches, func(i, j int) bool { return r.Branches[i].ID < r.Branches[j].ID })
	done := map[int]bool{}
	broken := map[int]bool{}
	var build func(b *Branch, depth int) error
	build = func(b *Branch, depth int) error {
		if done[b.ID] {
			return nil
		}
		if broken[b.ID] {
			return fmt.Errorf("branch %d is broken", b.ID)
		}
		if depth > len(r.Branches) {
			return fmt.Errorf(" run %s branch %d left out: parent cycle", r.ID, b.ID)
		}
		var its []Iteration
		if b.Parent > 0 {
			p := r.Branch(b.Parent)
			if p == nil {
				return fmt.Errorf(" run %s branch %d left out: its parent %d has no records", r.ID, b.ID, b.Parent)
			}
			if err := build(p, depth+1); err != nil {
				return fmt.Errorf(" run %s branch %d left out: its parent %d is left out", r.ID, b.ID, b.Parent)
			}
			n := min(b.Fork-1, len(p.Iterations))
			its = append(its, p.Iterations[:n]...)
		}
		for i, it := range b.own {
			// Iterations are logged in order; an index past the end means a record was lost.
			if it.Index != len(its)+1 {
				if it.Index <= len(its) {
					its = its[:it.Index-1]
				} else {
					return fmt.Errorf("%d: run %s branch %d left out: iteration %d follows iteration %d (a record was lost)",
						b.ownLines[i], r.ID, b.ID, it.Index, len(its))
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
			broken[b.ID] = true
			warnings = append(warnings, err.Error())
		}
	}
	kept := r.Branches[:0]
	for _, b := range r.Branches {
		if !broken[b.ID] {
			kept = append(kept, b)
		}
	}
	r.Branches = kept
	if len(kept) > 0 && r.Branch(r.Current) == nil {
		r.Current = kept[len(kept)-1].ID
	}
	return warnings
}
