package session

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"time"

	"github.com/infty-dev/infty/llm"
	"github.com/infty-dev/infty/session/answer"
	"github.com/infty-dev/infty/session/format"
	"github.com/infty-dev/infty/session/trajlog"
)

// branch is one line of iterations. Iterations before fork are copies of the parent's.
type branch struct {
	id, parent, fork int
	reason           string
	created          time.Time
	clock            stopwatch // since the branch began generating
	its              []Iteration
	done             bool
	answer           string
	correct          *bool
	tokens           int
	seconds          float64 // generation time spent on this branch (inherited part included)
}

type loopHandle struct {
	cancel context.CancelFunc
	done   chan struct{}
}

type reasoningEdit struct {
	text  string
	reply chan error
}

// resumeState continues an iteration from an edited partial text.
type resumeState struct {
	index     int
	generated string // the turn's generated text so far (after the pre-fill)
	tokens    int    // tokens generated before the edit: the sampler's offset
	edited    bool
}

func newRunID(t time.Time) string {
	var b [4]byte
	_, _ = rand.Read(b[:])
	return t.UTC().Format("20060102T150405Z") + "-" + hex.EncodeToString(b[:])
}

func (e *Engine) emit(ev Event) {
	if ev.Time.IsZero() {
		ev.Time = e.now()
	}
	e.queue.push(ev)
}

// logRecord fills the header fields and appends rec to the log, if any.
func (e *Engine) logRecord(rec trajlog.Record) error {
	if e.log == nil {
		return nil
	}
	rec.V = trajlog.Version
	rec.Run = e.runID
	rec.Time = e.now().UTC()
	rec.Model = e.model.Name()
	switch e.cfg.Mode {
	case ModeScaffold:
		rec.Summarizer = e.summarizer.Name()
	case ModeCurate:
		rec.Model, rec.Summarizer = "", e.summarizer.Name()
	}
	rec.Mode = string(e.cfg.Mode)
	rec.Eta, rec.Phi, rec.SummaryMax = e.cfg.Eta, e.cfg.Phi, e.cfg.SummaryMax
	rec.Sampling = e.cfg.Sampling
	if rec.Kind == trajlog.KindRun {
		rec.Engine = llm.ServerOf(e.model)
		// A summarizer that is the model itself is not named twice.
		if s := llm.ServerOf(e.summarizer); e.cfg.Mode == ModeScaffold && s != nil && (rec.Engine == nil || *s != *rec.Engine) {
			rec.SummarizerEngine = s
		}
	}
	return e.log.Append(rec)
}

// startLoopLocked runs branch b (from resume, when set) in a new goroutine.
func (e *Engine) startLoopLocked(b *branch, resume *resumeState) {
	ctx, cancel := context.WithCancel(e.rootCtx)
	l := &loopHandle{cancel: cancel, done: make(chan struct{})}
	e.loop = l
	e.runErr = nil
	go func() {
		err := e.runBranchGuarded(ctx, b, resume)
		e.mu.Lock()
		if e.loop == l {
			e.loop = nil
		}
		e.partial = nil
		switch {
		case err == nil:
		case ctx.Err() != nil && e.rootCtx.Err() == nil:
			// stopped by an edit, a branch switch or Close: not an error of the run
		default:
			if ctx.Err() != nil {
				err = fmt.Errorf("canceled: %w", context.Cause(e.rootCtx))
			}
			e.runErr = err
			e.emit(Event{Type: EventError, Branch: b.id, Message: err.Error()})
		}
		e.mu.Unlock()
		cancel()
		close(l.done)
	}()
}

// runBranchGuarded is runBranch with a panic anywhere in the run (engine code, model, summarizer,
// log) recovered into an error: the goroutine boundary, so a bug ends the run with an "error"
// event instead of killing the program with the terminal raw.
func (e *Engine) runBranchGuarded(ctx context.Context, b *branch, resume *resumeState) (err error) {
	defer func() { recovered(recover(), fmt.Sprintf("the engine (branch %d)", b.id), &err) }()
	return e.runBranch(ctx, b, resume)
}

// stopLoop cancels the running generation, if any, and waits until it has stopped.
func (e *Engine) stopLoop() {
	e.mu.Lock()
	l := e.loop
	e.loop = nil
	e.mu.Unlock()
	if l != nil {
		l.cancel()
		<-l.done
	}
}

// gate is called before each generated token is processed: it blocks while paused and hands
// over a reasoning edit made during the pause.
func (e *Engine) gate(ctx context.Context) (*reasoningEdit, error) {
	e.mu.Lock()
	for {
		if e.pending != nil {
			p := e.pending
			e.pending = nil
			e.mu.Unlock()
			return p, nil
		}
		if !e.paused {
			e.mu.Unlock()
			return nil, ctx.Err()
		}
		ch := e.resumeCh
		e.mu.Unlock()
		select {
		case <-ch:
		case <-e.wake:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
		e.mu.Lock()
	}
}

// gateToken starts a reasoner's token callback: it waits while paused and, when a reasoning edit
// is pending, records it in *edit and *act and returns errStopGeneration, so that the generation
// ends and the edit can be applied.
func (e *Engine) gateToken(ctx context.Context, edit **reasoningEdit, act *stopAction) error {
	ed, err := e.gate(ctx)
	if err != nil {
		return err
	}
	if ed != nil {
		*edit, *act = ed, actEdit
		return errStopGeneration
	}
	return nil
}

// locked runs f under e.mu; the lock is released even if f panics (a run's goroutine recovers
// the panic and must still be able to take the lock).
func (e *Engine) locked(f func() error) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	return f()
}

// setPartial publishes the in-flight iteration for snapshots.
func (e *Engine) setPartial(p *Partial) {
	e.mu.Lock()
	e.partial = p
	e.mu.Unlock()
}

// runBranch generates iterations on b until it concludes or ctx ends.
func (e *Engine) runBranch(ctx context.Context, b *branch, resume *resumeState) error {
	for {
		if n := len(b.its); n > 0 && b.its[n-1].Final {
			return e.finish(b)
		}
		index := len(b.its) + 1
		history := ""
		if index > 1 {
			history = b.its[index-2].Summary
		}
		if resume == nil || resume.index != index {
			// (an iteration continued from a reasoning edit already started: the edit event
			// carries its text on the new branch)
			e.emit(Event{Type: EventIterationStart, Branch: b.id, Iteration: index, Text: history})
		}
		var it Iteration
		var edit *reasoningEdit
		var err error
		if e.cfg.Mode == ModeScaffold {
			it, edit, err = e.scaffoldIteration(ctx, b, index, history, resume)
		} else {
			it, edit, err = e.nativeIteration(ctx, b, index, history, resume)
		}
		resume = nil
		if err != nil {
			return err
		}
		if edit != nil {
			nb, rs, err := e.applyReasoningEdit(b, edit)
			edit.reply <- err
			if err != nil {
				return err
			}
			b, resume = nb, rs
			continue
		}
		if err := e.commitIteration(b, it); err != nil {
			return err
		}
	}
}

// commitIteration appends a finished iteration to b, logs it and tells the front end.
func (e *Engine) commitIteration(b *branch, it Iteration) error {
	err := e.locked(func() error {
		// Logged first: an iteration the log could not take is not part of the branch.
		if err := e.logRecord(trajlog.Record{Kind: trajlog.KindIteration, Branch: b.id, Iteration: &it}); err != nil {
			return err
		}
		b.its = append(b.its, it)
		b.tokens += it.Tokens + it.SummaryTokens
		b.seconds += it.Seconds
		e.partial = nil
		return nil
	})
	if err != nil {
		return err
	}
	if e.cfg.Mode != ModeScaffold || it.Final { // scaffold emits it before summarizing
		e.emit(Event{Type: EventReasoning, Branch: b.id, Iteration: it.Index, Part: PartReasoning, Text: it.Reasoning})
	}
	if !it.Final {
		e.emit(Event{Type: EventSummary, Branch: b.id, Iteration: it.Index, Text: it.Summary, Forced: it.ForcedBoundary || it.SummaryTruncated})
	}
	e.emit(Event{Type: EventIterationEnd, Branch: b.id, Iteration: it.Index, Forced: it.ForcedBoundary || it.ForcedConclusion,
		Tokens: it.Tokens + it.SummaryTokens, Seconds: it.Seconds})
	if it.Seconds > 0 {
		e.emit(Event{Type: EventStats, Branch: b.id, Iteration: it.Index, Tokens: it.Tokens + it.SummaryTokens, Seconds: it.Seconds,
			TokensPerSecond: float64(it.Tokens+it.SummaryTokens) / it.Seconds})
	}
	return nil
}

// finish extracts and verifies the answer of a concluded branch.
func (e *Engine) finish(b *branch) error {
	last := b.its[len(b.its)-1]
	ans, ok := answer.Extract(last.Conclusion)
	if !ok {
		ans, _ = answer.Extract(last.Reasoning)
	}
	var correct *bool
	if e.cfg.Reference != "" {
		c := answer.Equal(ans, e.cfg.Reference)
		correct = &c
	}
	var elapsed float64
	err := e.locked(func() error {
		b.done, b.answer, b.correct = true, ans, correct
		var wall float64
		elapsed, wall = b.clock.readLocked(e.now())
		return e.logRecord(trajlog.Record{Kind: trajlog.KindAnswer, Branch: b.id, Answer: ans, Correct: correct, Tokens: b.tokens, Seconds: elapsed, WallSeconds: wall})
	})
	if err != nil {
		return err
	}
	e.emit(Event{Type: EventAnswer, Branch: b.id, Iteration: last.Index, Text: ans, Correct: correct})
	e.emit(Event{Type: EventDone, Branch: b.id, Iterations: len(b.its), Tokens: b.tokens, Seconds: elapsed})
	return nil
}

// newBranchLocked forks parent at iteration fork (its iterations before fork are shared).
func (e *Engine) newBranchLocked(parent *branch, fork int, reason string) *branch {
	nb := &branch{id: e.nextID, parent: parent.id, fork: fork, reason: reason, created: e.now(), clock: e.stopwatchLocked()}
	e.nextID++
	nb.its = append([]Iteration(nil), parent.its[:fork-1]...)
	for _, it := range nb.its {
		nb.tokens += it.Tokens + it.SummaryTokens
		nb.seconds += it.Seconds
	}
	e.branches[nb.id] = nb
	return nb
}

func (e *Engine) editSummary(index int, text string) error {
	e.mu.Lock()
	if !e.started {
		e.mu.Unlock()
		return ErrNotStarted
	}
	if e.closed {
		e.mu.Unlock()
		return ErrClosed
	}
	b := e.branches[e.cur]
	if index < 1 || index > len(b.its) || b.its[index-1].Final {
		e.mu.Unlock()
		return fmt.Errorf("%w: %d", ErrNoIteration, index)
	}
	e.mu.Unlock()
	e.stopLoop()

	e.mu.Lock()
	defer e.mu.Unlock()
	if e.cfg.Mode == ModeCurate {
		return e.editCuratedLocked(b, index, text)
	}
	old := b.its[index-1]
	nb := e.newBranchLocked(b, index, "edit summary")
	it := editedSummary(old, text)
	nb.its = append(nb.its, it)
	nb.tokens += it.Tokens + it.SummaryTokens
	nb.seconds += it.Seconds
	e.cur = nb.id
	e.partial = nil
	for _, rec := range []trajlog.Record{
		{Kind: trajlog.KindBranch, Branch: nb.id, Parent: b.id, Fork: index},
		{Kind: trajlog.KindEdit, Branch: nb.id, Parent: b.id, Fork: index, Edit: &trajlog.Edit{Iteration: index, Part: string(PartSummary), Old: old.Summary, New: text}},
		{Kind: trajlog.KindIteration, Branch: nb.id, Iteration: &it},
	} {
		if err := e.logRecord(rec); err != nil {
			return err
		}
	}
	e.emit(Event{Type: EventBranch, Branch: nb.id, Parent: b.id, Iteration: index})
	e.emit(Event{Type: EventEdit, Branch: nb.id, Parent: b.id, Iteration: index, Part: PartSummary, Text: text, Original: old.Summary})
	e.startLoopLocked(nb, nil)
	return nil
}

// editedSummary is it with its summary replaced by a person's text; it remembers the text it
// replaced, which snapshots and the log carry to the front ends.
func editedSummary(it Iteration, text string) Iteration {
	it.Original, it.Summary, it.Edited = it.Summary, text, true
	return it
}

func (e *Engine) editReasoning(text string) error {
	e.mu.Lock()
	if !e.started {
		e.mu.Unlock()
		return ErrNotStarted
	}
	if !e.paused {
		e.mu.Unlock()
		return ErrNotPaused
	}
	if e.partial == nil || e.partial.Part != PartReasoning || e.loop == nil {
		e.mu.Unlock()
		return ErrNotReasoning
	}
	req := &reasoningEdit{text: text, reply: make(chan error, 1)}
	e.pending = req
	l := e.loop
	e.mu.Unlock()
	select {
	case e.wake <- struct{}{}:
	default:
	}
	select {
	case err := <-req.reply:
		return err
	case <-l.done:
		e.mu.Lock()
		if e.pending == req {
			e.pending = nil
		}
		e.mu.Unlock()
		select {
		case err := <-req.reply:
			return err
		default:
			return errors.New("session: the run stopped before the edit was applied")
		}
	}
}

// applyReasoningEdit forks b at the in-flight iteration; the new branch continues that iteration
// from the edited reasoning. Called by the generating goroutine.
func (e *Engine) applyReasoningEdit(b *branch, edit *reasoningEdit) (*branch, *resumeState, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	p := e.partial
	if p == nil || p.Part != PartReasoning {
		return nil, nil, ErrNotReasoning
	}
	index := len(b.its) + 1
	nb := e.newBranchLocked(b, index, "edit reasoning")
	e.cur = nb.id
	old := p.Reasoning
	e.partial = &Partial{Index: index, History: p.History, Reasoning: edit.text, Part: PartReasoning, Tokens: p.Tokens}
	for _, rec := range []trajlog.Record{
		{Kind: trajlog.KindBranch, Branch: nb.id, Parent: b.id, Fork: index},
		{Kind: trajlog.KindEdit, Branch: nb.id, Parent: b.id, Fork: index, Edit: &trajlog.Edit{Iteration: index, Part: string(PartReasoning), Old: old, New: edit.text}},
	} {
		if err := e.logRecord(rec); err != nil {
			return nil, nil, err
		}
	}
	e.emit(Event{Type: EventBranch, Branch: nb.id, Parent: b.id, Iteration: index})
	e.emit(Event{Type: EventEdit, Branch: nb.id, Parent: b.id, Iteration: index, Part: PartReasoning, Text: edit.text, Original: old})
	gen := edit.text
	if e.cfg.Mode == ModeNative {
		gen = format.ReasoningOpen + edit.text
	}
	return nb, &resumeState{index: index, generated: gen, tokens: p.Tokens, edited: true}, nil
}

func (e *Engine) switchBranch(id int) error {
	e.mu.Lock()
	if !e.started {
		e.mu.Unlock()
		return ErrNotStarted
	}
	b, ok := e.branches[id]
	if !ok {
		e.mu.Unlock()
		return fmt.Errorf("%w: %d", ErrNoBranch, id)
	}
	if id == e.cur {
		e.mu.Unlock()
		return nil
	}
	e.mu.Unlock()
	e.stopLoop()
	e.mu.Lock()
	defer e.mu.Unlock()
	e.cur = id
	e.partial = nil
	if err := e.logRecord(trajlog.Record{Kind: trajlog.KindSwitch, Branch: id}); err != nil {
		return err
	}
	e.emit(Event{Type: EventBranch, Branch: id, Parent: b.parent})
	if !b.done {
		e.pauseLocked()
		e.startLoopLocked(b, nil)
	}
	return nil
}

func (e *Engine) branchInfosLocked() []BranchInfo {
	out := make([]BranchInfo, 0, len(e.branches))
	for id := 1; id < e.nextID; id++ {
		b, ok := e.branches[id]
		if !ok {
			continue
		}
		out = append(out, BranchInfo{ID: b.id, Parent: b.parent, Fork: b.fork, Reason: b.reason, Iterations: len(b.its),
			Done: b.done, Answer: b.answer, Correct: b.correct, Current: b.id == e.cur, Created: b.created})
	}
	return out
}

func (e *Engine) snapshotLocked(id int) Snapshot {
	s := Snapshot{RunID: e.runID, Question: e.question, Mode: e.cfg.Mode, Model: e.model.Name(), Eta: e.cfg.Eta, Phi: e.cfg.Phi,
		Branch: id, Paused: e.paused, Branches: e.branchInfosLocked()}
	if e.cfg.Mode == ModeScaffold {
		s.Summarizer = e.summarizer.Name()
	}
	b, ok := e.branches[id]
	if !ok {
		return s
	}
	s.Iterations = append([]Iteration(nil), b.its...)
	s.Done, s.Answer, s.Correct, s.Tokens = b.done, b.answer, b.correct, b.tokens
	if id == e.cur {
		s.Running = e.loop != nil
		if e.partial != nil {
			p := *e.partial
			s.Partial = &p
		}
	}
	return s
}
