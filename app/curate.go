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
	"strconv"
	"strings"
	"time"

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
func Curate(ctx context.Context, spec *RunSpec, input string, out, errOut io.Writer) (err error) {
	w := bufio.NewWriter(out)
	defer w.Flush()
	if spec.Format == "jsonl" {
		defer func() {
			if err != nil { // the stream ends with what went wrong, as solve's does
				_ = WriteEventJSON(w, session.Event{Type: session.EventError, Time: time.Now(), Message: err.Error()})
			}
		}()
	}
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
	if err := fitSummarizer(sm, &cfg, spec.Eta != 0); err != nil {
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

// minCurateEta is the smallest η curate picks by itself to fit a summarizer's window: below it
// segments are a few words and the summaries cost more than the reasoning they replace.
const minCurateEta = 32

// fitSummarizer makes sure every summary fits the summarizer's window, before anything is
// logged: a default η is lowered to fit, an η the person gave (or a window that cannot hold even
// the prompt) is refused, naming the options that help.
func fitSummarizer(sm llm.Model, cfg *session.Config, etaGiven bool) error {
	limit, err := session.SummarizerEtaLimit(sm, *cfg)
	if err != nil || cfg.Eta <= limit {
		return err
	}
	if !etaGiven && limit >= minCurateEta {
		cfg.Eta = limit
		return nil
	}
	msg := fmt.Sprintf("summarizer %s attends to %d tokens: too few for its prompt, a history of up to %d tokens (--summary-max), a segment of η=%d tokens (--eta) and the summary",
		sm.Name(), llm.ContextLength(sm), cfg.SummaryMax, cfg.Eta)
	if limit >= minCurateEta {
		return fmt.Errorf("%s; use --eta %d or less, or a summarizer with a larger window (--summarizer MODEL)", msg, limit)
	}
	return fmt.Errorf("%s; use a summarizer with a larger window (--summarizer MODEL)", msg)
}

// exportedRuns counts the runs that gave examples under opts (the filters leave others out).
func exportedRuns(runs []*trajlog.Run, opts sft.Options) int {
	n := 0
	for _, r := range runs {
		for _, b := range sft.Select(r, opts) {
			if len(b.Iterations) > 0 {
				n++
				break
			}
		}
	}
	return n
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
		var err error
		if logs, err = DefaultLogs(); err != nil {
			return err
		}
	}
	runs, warns, err := ReadLogs(logs)
	for _, w := range warns {
		fmt.Fprintln(errOut, "warning:", w)
	}
	if err != nil {
		return err
	}
	w := bufio.NewWriter(out)
	n, err := sft.Export(w, runs, opts)
	if err != nil {
		return err
	}
	if err := w.Flush(); err != nil {
		return err
	}
	fmt.Fprintf(errOut, "exported %d examples from %d runs\n", n, exportedRuns(runs, opts))
	if len(warns) > 0 {
		fmt.Fprintf(errOut, "left out: what the %d warning(s) above name; every other run and branch was read whole\n", len(warns))
	}
	return nil
}
