package app

import (
	"bufio"
	"bytes"
	"context"
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
// Lines file input into a summarized trajectory in the log, reporting each to out (spec.Format
// text) or streaming its events (jsonl).
func Curate(ctx context.Context, spec *RunSpec, input string, out, errOut io.Writer) (err error) {
	var emit func(session.Event)
	w := bufio.NewWriter(out)
	defer w.Flush()
	if spec.Format == "jsonl" {
		emit = func(ev session.Event) { _ = WriteEventJSON(w, ev) }
		defer func() {
			if err != nil { // the stream ends with what went wrong, as solve's does
				emit(session.Event{Type: session.EventError, Time: time.Now(), Message: err.Error()})
			}
		}()
	}
	in, err := os.Open(input)
	if err != nil {
		return err
	}
	defer in.Close()
	sm, err := OpenModel(ctx, spec.Summarizer, ModelOptions{Backend: spec.Backend, Pull: spec.Pull, Batch: spec.Batch})
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
	log, err := trajlog.Open(cfg.LogPath)
	if err != nil {
		return err
	}
	defer log.Close()
	done, skipped := 0, 0
	err = scanTraces(in, input, func(where string, tr session.Trace) error {
		c := cfg
		c.RunID = ""
		snap, err := session.Curate(ctx, sm, c, tr, log, emit)
		if errors.Is(err, session.ErrSkipped) {
			skipped++
			fmt.Fprintf(errOut, "%s: skipped: %v\n", where, err)
			return nil
		}
		if err != nil {
			return fmt.Errorf("%s: %w", where, err)
		}
		done++
		if spec.Format != "jsonl" {
			fmt.Fprintf(w, "%s: run %s, %d iterations\n", where, snap.RunID, len(snap.Iterations))
		}
		return w.Flush()
	})
	if err != nil {
		return err
	}
	fmt.Fprintf(errOut, "curated %d traces (%d skipped) into %s\n", done, skipped, cfg.LogPath)
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

// scanTraces calls each with every trace of the JSON Lines in (named name in errors) and where
// it stands ("name:line"), stopping at the first error.
func scanTraces(in io.Reader, name string, each func(where string, tr session.Trace) error) error {
	r := jsonl.NewReader(in, name)
	for b, ok := r.Next(); ok; b, ok = r.Next() {
		var tr session.Trace
		dec := json.NewDecoder(bytes.NewReader(b))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&tr); err != nil {
			// Unknown fields are allowed (datasets carry more); only malformed lines fail.
			if err2 := json.Unmarshal(b, &tr); err2 != nil {
				return r.Errorf("not a JSON object {\"question\", \"reasoning\", \"answer\"?}: %v", err2)
			}
		}
		if strings.TrimSpace(tr.Question) == "" || strings.TrimSpace(tr.Reasoning) == "" {
			return r.Errorf("\"question\" and \"reasoning\" must be non-empty strings")
		}
		if err := each(r.Where(), tr); err != nil {
			return err
		}
	}
	return r.Err()
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
