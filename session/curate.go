package session

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/infty-dev/infty/llm"
	"github.com/infty-dev/infty/session/answer"
	"github.com/infty-dev/infty/session/format"
	"github.com/infty-dev/infty/session/segment"
	"github.com/infty-dev/infty/session/trajlog"
)

// Trace is one existing long reasoning trace to curate (a line of `infty curate --input`).
type Trace struct {
	Question  string `json:"question"`
	Reasoning string `json:"reasoning"`
	Answer    string `json:"answer,omitempty"` // the final response after the reasoning; becomes the conclusion
	Reference string `json:"reference,omitempty"`
}

// ErrSkipped marks a trace the cold-start heuristic drops (see segment.ErrParagraphTooLong).
var ErrSkipped = errors.New("session: trace skipped")

// Curate turns a trace into an InftyThink+ trajectory: the reasoning is segmented with the
// cold-start heuristic at cfg.Eta tokens (counted with the summarizer's tokenizer), the
// summarizer writes the cumulative summary after each segment but the last, and the last
// iteration concludes with the trace's answer. The trajectory is appended to log (when not nil)
// as a run in mode "curate", ready to be reviewed, edited and exported. emit, when not nil, sees
// the events as they happen.
func Curate(ctx context.Context, summarizer llm.Model, cfg Config, tr Trace, log *trajlog.Writer, emit func(Event)) (Snapshot, error) {
	cfg.Mode = ModeScaffold // for the defaults and validation
	cfg = cfg.withDefaults()
	if err := cfg.validate(); err != nil {
		return Snapshot{}, err
	}
	cfg.Mode = ModeCurate
	if strings.TrimSpace(tr.Question) == "" || strings.TrimSpace(tr.Reasoning) == "" {
		return Snapshot{}, errors.New("trace needs a non-empty question and reasoning")
	}
	if cfg.Reference == "" {
		cfg.Reference = tr.Reference
	}
	if emit == nil {
		emit = func(Event) {}
	}
	now := time.Now()
	runID := cfg.RunID
	if runID == "" {
		runID = newRunID(now)
	}
	reasoning := strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(tr.Reasoning), format.ThinkOpen))
	reasoning = strings.TrimSpace(strings.TrimSuffix(reasoning, format.ThinkClose))
	segs, err := segment.Split(reasoning, cfg.Eta, func(p string) (int, error) {
		ids, err := summarizer.Encode(p)
		return len(ids), err
	})
	if err != nil {
		if errors.Is(err, segment.ErrParagraphTooLong) {
			return Snapshot{}, fmt.Errorf("%w: %v", ErrSkipped, err)
		}
		return Snapshot{}, err
	}
	if len(segs) > 1 {
		// Refused before the run is logged: a trace whose summaries cannot fit leaves no
		// unfinished run behind.
		if err := CheckSummarizerWindow(summarizer, cfg, tr.Question); err != nil {
			return Snapshot{}, err
		}
	}
	write := func(rec trajlog.Record) error {
		if log == nil {
			return nil
		}
		rec.V, rec.Run, rec.Time = trajlog.Version, runID, time.Now().UTC()
		rec.Model, rec.Summarizer, rec.Mode = "", summarizer.Name(), string(ModeCurate)
		rec.Eta, rec.Phi, rec.SummaryMax, rec.Sampling = cfg.Eta, len(segs), cfg.SummaryMax, cfg.Sampling
		return log.Append(rec)
	}
	snap := Snapshot{RunID: runID, Question: tr.Question, Mode: ModeCurate, Summarizer: summarizer.Name(), Eta: cfg.Eta, Phi: len(segs), Branch: 1}
	if err := write(trajlog.Record{Kind: trajlog.KindRun, Branch: 1, Question: tr.Question, Reference: cfg.Reference,
		SummarizerEngine: llm.ServerOf(summarizer), Source: cfg.Source}); err != nil {
		return snap, err
	}
	p := Prompts{Step1: cfg.Step1Prompt, Step2: cfg.Step2Prompt, Continue: cfg.ContinuePrompt}
	history := ""
	tokens := 0
	for i, seg := range segs {
		index := i + 1
		start := time.Now()
		emit(Event{Type: EventIterationStart, Branch: 1, Iteration: index, Text: history, Time: start})
		emit(Event{Type: EventDelta, Branch: 1, Iteration: index, Part: PartReasoning, Text: seg, Time: start})
		it := Iteration{Index: index, History: history, Reasoning: seg, Seed: IterationSeed(cfg.Sampling.Seed, index)}
		if index == len(segs) {
			it.Final, it.Conclusion = true, strings.TrimSpace(tr.Answer)
			emit(Event{Type: EventDelta, Branch: 1, Iteration: index, Part: PartConclusion, Text: it.Conclusion, Time: time.Now()})
		} else {
			s, n, truncated, err := Summarize(ctx, summarizer, p, tr.Question, history, seg, index, cfg, IterationSeed(cfg.Sampling.Seed, index)^0x5355_4d4d_4152_5953, nil,
				func(d string) {
					emit(Event{Type: EventDelta, Branch: 1, Iteration: index, Part: PartSummary, Text: d, Time: time.Now()})
				})
			if err != nil {
				return snap, err
			}
			it.Summary, it.SummaryTokens, it.SummaryTruncated = s, n, truncated
			tokens += n
		}
		it.Seconds = time.Since(start).Seconds()
		if err := write(trajlog.Record{Kind: trajlog.KindIteration, Branch: 1, Iteration: &it}); err != nil {
			return snap, err
		}
		snap.Iterations = append(snap.Iterations, it)
		if !it.Final {
			emit(Event{Type: EventSummary, Branch: 1, Iteration: index, Text: it.Summary, Forced: it.SummaryTruncated, Time: time.Now()})
		}
		emit(Event{Type: EventIterationEnd, Branch: 1, Iteration: index, Tokens: it.SummaryTokens, Seconds: it.Seconds, Time: time.Now()})
		history = it.Summary
	}
	ans, _ := answer.Extract(tr.Answer)
	if ans == "" {
		ans, _ = answer.Extract(reasoning)
	}
	var correct *bool
	if cfg.Reference != "" {
		c := answer.Equal(ans, cfg.Reference)
		correct = &c
	}
	elapsed := time.Since(now).Seconds()
	if err := write(trajlog.Record{Kind: trajlog.KindAnswer, Branch: 1, Answer: ans, Correct: correct, Tokens: tokens, Seconds: elapsed}); err != nil {
		return snap, err
	}
	snap.Done, snap.Answer, snap.Correct, snap.Tokens = true, ans, correct, tokens
	snap.Branches = []BranchInfo{{ID: 1, Iterations: len(segs), Done: true, Answer: ans, Correct: correct, Current: true, Created: now}}
	emit(Event{Type: EventAnswer, Branch: 1, Text: ans, Correct: correct, Time: time.Now()})
	emit(Event{Type: EventDone, Branch: 1, Iterations: len(segs), Tokens: tokens, Seconds: elapsed, Time: time.Now()})
	return snap, nil
}
