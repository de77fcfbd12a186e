package app

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"github.com/infty-dev/infty/internal/jsonl"
	"github.com/infty-dev/infty/llm"
	"github.com/infty-dev/infty/session"
	"github.com/infty-dev/infty/session/sft"
	"github.com/infty-dev/infty/session/trajlog"
)

// Curate has spec's summarizer (else the embedded default model) turn every trace of the JSON
// Lines file input into a summarized trajectory in the log, spec.Parallel at a time, reporting
// each to out in input order (spec.Format text) or streaming its events (jsonl). A trace the log
// already holds a finished trajectory of (its Source matches) is skipped, so a rerun of an
// interrupted curation carries on where it stopped.
func Curate(ctx context.Context, spec *RunSpec, input string, out, errOut io.Writer) error {
	if err := checkParallel(spec.Parallel); err != nil {
		return err
	}
	in, err := os.Open(input)
	if err != nil {
		return err
	}
	defer in.Close()
	if spec.Warn == nil {
		spec.Warn = warnTo(errOut)
	}
	sm, err := OpenModel(ctx, spec.Summarizer, spec.modelOptions(true))
	if err != nil {
		return fmt.Errorf("summarizer: %w", err)
	}
	defer sm.Close()
	spec.Mode = string(session.ModeScaffold)
	cfg, err := spec.Config(sm)
	if err != nil {
		return err
	}
	curated, err := curatedSources(cfg.LogPath)
	if err != nil {
		return err
	}
	log, err := trajlog.Open(cfg.LogPath)
	if err != nil {
		return err
	}
	defer log.Close()
	w := bufio.NewWriter(out)
	defer w.Flush()
	var n curateCounts
	pb := newProgress(errOut, "curate", 0)
	err = inOrder(ctx, spec.Parallel, newTraceReader(in, input).next, func(ctx context.Context, it traceItem) curateResult {
		if curated[it.key] {
			return curateResult{already: true}
		}
		return curateOne(ctx, sm, cfg, spec.Format, it, log)
	}, func(it traceItem, r curateResult) error {
		return n.add(it, r, w, errOut, pb)
	})
	pb.clear()
	if ctx.Err() != nil {
		return fmt.Errorf("interrupted: %s; rerun the same command to carry on", n.String(cfg.LogPath))
	}
	if err != nil {
		return err
	}
	fmt.Fprintln(errOut, n.String(cfg.LogPath)+pb.rate())
	return nil
}

// traceItem is one trace of curate's input, with where it stands and its key in the log.
type traceItem struct {
	where, key string
	tr         session.Trace
}

// curateResult is what curating one trace gave: what to print (text or events), or why not.
type curateResult struct {
	out     bytes.Buffer
	runID   string
	iters   int
	already bool
	err     error
}

func curateOne(ctx context.Context, sm llm.Model, cfg session.Config, format string, it traceItem, log *trajlog.Writer) curateResult {
	var r curateResult
	var emit func(session.Event)
	if format == "jsonl" {
		emit = func(ev session.Event) { _ = WriteEventJSON(&r.out, ev) }
	}
	c := cfg
	c.RunID, c.Source = "", it.key
	snap, err := session.Curate(ctx, sm, c, it.tr, log, emit)
	r.runID, r.iters, r.err = snap.RunID, len(snap.Iterations), err
	return r
}

// curateCounts tallies curate's results as they are handed on in input order.
type curateCounts struct{ done, skipped, already int }

func (n *curateCounts) add(it traceItem, r curateResult, w *bufio.Writer, errOut io.Writer, pb *progress) error {
	switch {
	case r.already:
		n.already++
	case errors.Is(r.err, session.ErrSkipped):
		n.skipped++
		fmt.Fprintf(errOut, "%s: skipped: %v\n", it.where, r.err)
	case r.err != nil:
		return fmt.Errorf("%s: %w", it.where, r.err)
	default:
		n.done++
		if r.out.Len() == 0 {
			fmt.Fprintf(&r.out, "%s: run %s, %d iterations\n", it.where, r.runID, r.iters)
		}
		if _, err := w.Write(r.out.Bytes()); err != nil {
			return err
		}
	}
	pb.update(n.done+n.skipped+n.already, fmt.Sprintf("curated %d", n.done))
	return w.Flush()
}

func (n *curateCounts) String(logPath string) string {
	s := fmt.Sprintf("curated %d traces (%d skipped", n.done, n.skipped)
	if n.already > 0 {
		s += fmt.Sprintf(", %d already in the log", n.already)
	}
	return s + ") into " + logPath
}

// curatedSources lists the inputs the log at path already holds finished curated trajectories
// of (none when it does not exist yet).
func curatedSources(path string) (map[string]bool, error) {
	done := map[string]bool{}
	if _, err := os.Stat(path); errors.Is(err, os.ErrNotExist) {
		return done, nil
	}
	runs, _, err := trajlog.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("reading what the log already holds: %w", err)
	}
	for _, r := range runs {
		if b := r.Branch(1); r.Source != "" && b != nil && b.Done {
			done[r.Source] = true
		}
	}
	return done, nil
}

// traceReader hands out the traces of a JSON Lines input (named name in errors).
type traceReader struct{ r *jsonl.Reader }

func newTraceReader(in io.Reader, name string) *traceReader {
	return &traceReader{jsonl.NewReader(in, name)}
}

// next is the next trace; its key is its line and a hash of its question and reasoning, so an
// edited input does not pass for the one curated before.
func (t *traceReader) next() (traceItem, bool, error) {
	b, ok := t.r.Next()
	if !ok {
		return traceItem{}, false, t.r.Err()
	}
	var tr session.Trace
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&tr); err != nil {
		// Unknown fields are allowed (datasets carry more); only malformed lines fail.
		if err2 := json.Unmarshal(b, &tr); err2 != nil {
			return traceItem{}, false, t.r.Errorf("not a JSON object {\"question\", \"reasoning\", \"answer\"?}: %v", err2)
		}
	}
	if strings.TrimSpace(tr.Question) == "" || strings.TrimSpace(tr.Reasoning) == "" {
		return traceItem{}, false, t.r.Errorf("\"question\" and \"reasoning\" must be non-empty strings")
	}
	h := sha256.Sum256([]byte(tr.Question + "\x00" + tr.Reasoning))
	return traceItem{where: t.r.Where(), key: fmt.Sprintf("line %d sha256 %x", t.r.Line(), h[:8]), tr: tr}, true, nil
}

// ExportOptions are export's flags: what sft.Export writes, and which branches.
type ExportOptions struct {
	sft.Options
	Branches string // current, all, or a branch number
}

// Export writes cold-start SFT data from the trajectory logs (none: every log of the per-user
// folder) to out, warnings and the count to errOut.
func Export(logs []string, o ExportOptions, out, errOut io.Writer) error {
	opts := o.Options
	switch o.Branches {
	case "current":
	case "all":
		opts.AllBranches = true
	default:
		n, err := strconv.Atoi(o.Branches)
		if err != nil || n < 1 {
			return fmt.Errorf("invalid --branches %q: want current, all or a branch number", o.Branches)
		}
		opts.Branch = n
	}
	if len(logs) == 0 {
		dir, err := trajlog.DefaultDir()
		if err != nil {
			return err
		}
		if logs, err = filepath.Glob(filepath.Join(dir, "*.jsonl")); err != nil {
			return err
		}
		if len(logs) == 0 {
			return fmt.Errorf("no logs in %s; pass --log FILE", dir)
		}
		sort.Strings(logs)
	}
	var runs []*trajlog.Run
	for _, path := range logs {
		rs, warns, err := trajlog.ReadFile(path)
		for _, w := range warns {
			fmt.Fprintln(errOut, "warning:", w)
		}
		if err != nil {
			return err
		}
		runs = append(runs, rs...)
	}
	w := bufio.NewWriter(out)
	n, err := sft.Export(w, runs, opts)
	if err != nil {
		return err
	}
	if err := w.Flush(); err != nil {
		return err
	}
	fmt.Fprintf(errOut, "exported %d examples from %d runs\n", n, len(runs))
	return nil
}
