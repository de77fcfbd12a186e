package session

import (
	"context"
	"errors"
	"fmt"

	"github.com/infty-dev/infty/llm"
	"github.com/infty-dev/infty/session/trajlog"
)

// Open rebuilds the engine of a logged run (see trajlog.Read) so that a person can review it,
// switch branches, edit it and continue it. The run's mode, η, φ, summary bound, sampling and
// reference come from the log; cfg supplies the rest (LogPath: where new records go, normally
// the file the run was read from; the scaffold prompts; the conclusion bound). New records carry
// the same run id.
//
// model may be nil for a curated run: its iterations come from a trace, so an edited summary
// only becomes the next iteration's history on a new branch; nothing is regenerated. For other
// runs model must be the model that produced them (or one that should continue them).
func Open(model llm.Model, run *trajlog.Run, cfg Config, opts ...Option) (*Engine, error) {
	if run == nil || len(run.Branches) == 0 {
		return nil, errors.New("session: open: empty run")
	}
	cfg.Mode = Mode(run.Mode)
	cfg.Eta, cfg.Phi, cfg.SummaryMax = run.Eta, run.Phi, run.SummaryMax
	cfg.Sampling, cfg.Reference, cfg.RunID = run.Sampling, run.Reference, run.ID
	curate := cfg.Mode == ModeCurate
	if curate {
		cfg.Mode = ModeScaffold // defaults and validation as for a summarized run
	}
	cfg = cfg.withDefaults()
	if err := cfg.validate(); err != nil {
		return nil, fmt.Errorf("run %s: %w", run.ID, err)
	}
	if curate {
		cfg.Mode = ModeCurate
		if model == nil {
			model = offlineModel{name: run.Summarizer}
		}
	} else if model == nil {
		return nil, fmt.Errorf("session: open run %s: a %s run needs a model to continue", run.ID, run.Mode)
	}
	e := build(model, cfg, opts)
	e.question = run.Question
	for _, rb := range run.Branches {
		b := &branch{id: rb.ID, parent: rb.Parent, fork: rb.Fork, created: run.Started,
			its: append([]Iteration(nil), rb.Iterations...), done: rb.Done, answer: rb.Answer, correct: rb.Correct}
		if rb.Parent > 0 {
			b.reason = "edit"
		}
		for _, it := range b.its {
			b.tokens += it.Tokens + it.SummaryTokens
			b.seconds += it.Seconds
		}
		e.branches[b.id] = b
		e.nextID = max(e.nextID, b.id+1)
	}
	e.cur = run.Current
	if e.branches[e.cur] == nil {
		e.cur = run.Branches[0].ID
	}
	e.opened = true
	return e, nil
}

// Continue starts the event stream of an opened run. An unfinished current branch goes on
// generating from its next iteration (the iteration that was in flight when the run stopped is
// regenerated from its start, with the same seed).
func (e *Engine) Continue(ctx context.Context) (<-chan Event, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if !e.opened {
		return nil, errors.New("session: Continue is for engines made by Open; use Start")
	}
	if e.started {
		return nil, ErrStarted
	}
	if b := e.branches[e.cur]; !b.done && e.cfg.Mode != ModeCurate {
		if err := e.checkWindow(e.question); err != nil {
			return nil, err
		}
	}
	if err := e.beginLocked(ctx); err != nil {
		return nil, err
	}
	go e.watch(ctx)
	if b := e.branches[e.cur]; !b.done && e.cfg.Mode != ModeCurate {
		b.clock = e.stopwatchLocked()
		e.startLoopLocked(b, nil)
	}
	return e.queue.out, nil
}

// editCurated forks a curated run: the edited summary becomes the next iteration's history and
// every other iteration is kept as it is.
func (e *Engine) editCuratedLocked(b *branch, index int, text string) error {
	old := b.its[index-1]
	nb := e.newBranchLocked(b, index, "edit summary")
	for _, it := range b.its[index-1:] {
		switch it.Index {
		case index:
			it = editedSummary(it, text)
		case index + 1:
			it.History = text
		}
		nb.its = append(nb.its, it)
		nb.tokens += it.Tokens + it.SummaryTokens
		nb.seconds += it.Seconds
	}
	nb.done, nb.answer, nb.correct = b.done, b.answer, b.correct
	e.cur = nb.id
	recs := []trajlog.Record{
		{Kind: trajlog.KindBranch, Branch: nb.id, Parent: b.id, Fork: index},
		{Kind: trajlog.KindEdit, Branch: nb.id, Parent: b.id, Fork: index, Edit: &trajlog.Edit{Iteration: index, Part: string(PartSummary), Old: old.Summary, New: text}},
	}
	for i := index - 1; i < len(nb.its); i++ {
		it := nb.its[i]
		recs = append(recs, trajlog.Record{Kind: trajlog.KindIteration, Branch: nb.id, Iteration: &it})
	}
	if nb.done {
		recs = append(recs, trajlog.Record{Kind: trajlog.KindAnswer, Branch: nb.id, Answer: nb.answer, Correct: nb.correct, Tokens: nb.tokens, Seconds: nb.seconds})
	}
	for _, rec := range recs {
		if err := e.logRecord(rec); err != nil {
			return err
		}
	}
	e.emit(Event{Type: EventBranch, Branch: nb.id, Parent: b.id, Iteration: index})
	e.emit(Event{Type: EventEdit, Branch: nb.id, Parent: b.id, Iteration: index, Part: PartSummary, Text: text, Original: old.Summary})
	return nil
}

// offlineModel stands in for the model of a curated run opened without one.
type offlineModel struct{ name string }

func (m offlineModel) Name() string { return m.name }
func (offlineModel) RenderChat([]llm.Message, bool) (string, error) {
	return "", errors.New("session: no model loaded for this run")
}
func (offlineModel) Encode(string) ([]int, error) {
	return nil, errors.New("session: no model loaded for this run")
}
func (offlineModel) Generate(context.Context, llm.Request, func(llm.Token) error) (llm.Result, error) {
	return llm.Result{}, errors.New("session: no model loaded for this run")
}
