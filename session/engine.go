package session

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/infty-dev/infty/llm"
	"github.com/infty-dev/infty/session/trajlog"
)

// Mode says how iterations are driven.
type Mode string

const (
	// ModeNative: the model writes the InftyThink+ layout itself; the engine pre-fills
	// <history>, stops at </summary> or EOS, forces the boundary at η and asks for a conclusion
	// at φ.
	ModeNative Mode = "native"
	// ModeScaffold: for models not trained in the format. The engine cuts the reasoning at η (the
	// last "\n\n" before the budget) and a summarizer writes the cumulative summary with the
	// cold-start prompts.
	ModeScaffold Mode = "scaffold"
	// ModeCurate: iterations come from an existing long trace (see Curate), not from generation.
	ModeCurate Mode = "curate"
)

// Defaults used when a Config field is zero.
const (
	DefaultEta           = 6144 // the InftyThink+ training budget
	DefaultPhi           = 10
	DefaultSummaryMax    = 1024
	DefaultConclusionMax = 2048
)

// Config says how one question is run. Zero fields take the defaults above.
type Config struct {
	Mode          Mode
	Eta           int          // η: reasoning budget of one iteration, in tokens
	Phi           int          // φ: maximum number of iterations; the φ-th must conclude
	SummaryMax    int          // bound on a summary, in tokens
	ConclusionMax int          // bound on the conclusion, in tokens
	Sampling      llm.Sampling // iteration i samples with seed IterationSeed(Sampling.Seed, i)
	Reference     string       // reference answer; when set, answers are verified against it
	LogPath       string       // trajectory log (JSON Lines, appended); empty: no log

	// Scaffold prompts; empty strings take the embedded defaults (see DefaultPrompts).
	Step1Prompt    string
	Step2Prompt    string
	ContinuePrompt string

	// RunID names the run in the log; empty: a fresh random id.
	RunID string
	// Source names the input item a curated run is made from, on its run record (Curate only).
	Source string
}

// Option adjusts an Engine.
type Option func(*Engine)

// WithSummarizer makes another model write the scaffold summaries (default: the reasoner).
func WithSummarizer(m llm.Model) Option { return func(e *Engine) { e.summarizer = m } }

// WithLog makes the engine append to an already open log instead of opening Config.LogPath.
func WithLog(w *trajlog.Writer) Option { return func(e *Engine) { e.log = w; e.ownLog = false } }

// WithClock replaces time.Now (tests).
func WithClock(now func() time.Time) Option { return func(e *Engine) { e.now = now } }

// Iteration is one iteration of a trajectory (the log's type).
type Iteration = trajlog.Iteration

// BranchInfo describes one branch of the run. Branch 1 is the original run; an edit creates a
// new branch that shares its parent's iterations before Fork.
type BranchInfo struct {
	ID         int       `json:"id"`
	Parent     int       `json:"parent,omitempty"`
	Fork       int       `json:"fork,omitempty"`   // first iteration that differs from the parent
	Reason     string    `json:"reason,omitempty"` // "edit summary", "edit reasoning"
	Iterations int       `json:"iterations"`       // finished iterations
	Done       bool      `json:"done"`             // reached a conclusion
	Answer     string    `json:"answer,omitempty"`
	Correct    *bool     `json:"correct,omitempty"`
	Current    bool      `json:"current"`
	Created    time.Time `json:"created"`
}

// Partial is the iteration in flight.
type Partial struct {
	Index      int    `json:"index"`
	History    string `json:"history,omitempty"`
	Reasoning  string `json:"reasoning"`
	Summary    string `json:"summary,omitempty"`
	Conclusion string `json:"conclusion,omitempty"`
	Part       Part   `json:"part"` // the part being written
	Tokens     int    `json:"tokens"`
}

// Snapshot is the state of the current branch, enough for a front end to rebuild its view.
type Snapshot struct {
	RunID      string       `json:"run"`
	Question   string       `json:"question"`
	Mode       Mode         `json:"mode"`
	Model      string       `json:"model"`
	Summarizer string       `json:"summarizer,omitempty"`
	Eta        int          `json:"eta"`
	Phi        int          `json:"phi"`
	Branch     int          `json:"branch"`
	Iterations []Iteration  `json:"iterations"` // finished iterations of the current branch
	Partial    *Partial     `json:"partial,omitempty"`
	Paused     bool         `json:"paused"`
	Running    bool         `json:"running"`
	Done       bool         `json:"done"`
	Answer     string       `json:"answer,omitempty"`
	Correct    *bool        `json:"correct,omitempty"`
	Tokens     int          `json:"tokens"` // generated on the current branch
	Branches   []BranchInfo `json:"branches"`
}

// Errors returned by the control methods.
var (
	ErrNotStarted   = errors.New("session: no run started")
	ErrStarted      = errors.New("session: a run was already started on this engine")
	ErrNotPaused    = errors.New("session: the run is not paused")
	ErrNoIteration  = errors.New("session: no such finished iteration with a summary on the current branch")
	ErrNoBranch     = errors.New("session: no such branch")
	ErrNotReasoning = errors.New("session: the paused iteration is not writing its reasoning")
	ErrClosed       = errors.New("session: engine closed")
)

// Engine runs one question and keeps its trajectory tree. It is safe for concurrent use: a front
// end calls the control methods from its own goroutine while the engine generates.
type Engine struct {
	model      llm.Model
	summarizer llm.Model
	cfg        Config
	now        func() time.Time
	log        *trajlog.Writer
	ownLog     bool

	queue *eventQueue

	mu        sync.Mutex
	question  string
	runID     string
	started   bool
	opened    bool // made by Open: Continue, not Start
	closed    bool
	rootCtx   context.Context
	branches  map[int]*branch
	cur       int
	paused    bool
	pausedAt  time.Time     // when the current pause began
	pausedFor time.Duration // the pauses before it, summed: generation time excludes them
	resumeCh  chan struct{} // closed by Resume
	partial   *Partial      // in-flight iteration of the current branch
	pending   *reasoningEdit
	wake      chan struct{} // tells a paused generation that an edit is pending
	loop      *loopHandle
	nextID    int
	closedCh  chan struct{} // closed by Close
	runErr    error
}

var defaultNow = time.Now

// New makes an engine for model under cfg.
func New(model llm.Model, cfg Config, opts ...Option) (*Engine, error) {
	if model == nil {
		return nil, errors.New("session: nil model")
	}
	cfg = cfg.withDefaults()
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	e := build(model, cfg, opts)
	if e.runID == "" {
		e.runID = newRunID(e.now())
	}
	return e, nil
}

// build makes an engine with no branches yet (New, Open).
func build(model llm.Model, cfg Config, opts []Option) *Engine {
	e := &Engine{model: model, cfg: cfg, now: defaultNow, ownLog: true, branches: map[int]*branch{}, wake: make(chan struct{}, 1),
		nextID: 2, closedCh: make(chan struct{}), runID: cfg.RunID}
	for _, o := range opts {
		o(e)
	}
	if e.summarizer == nil {
		e.summarizer = model
	}
	e.queue = newEventQueue()
	return e
}

// beginLocked opens the log (unless one was given) and marks the engine started under ctx; the
// ctx watcher runs from here on.
func (e *Engine) beginLocked(ctx context.Context) error {
	if e.log == nil && e.cfg.LogPath != "" {
		w, err := trajlog.Open(e.cfg.LogPath)
		if err != nil {
			return err
		}
		e.log = w
	}
	e.started = true
	e.rootCtx = ctx
	return nil
}

// Config returns the configuration in effect (defaults filled in).
func (e *Engine) Config() Config { return e.cfg }

// RunID names this run in the log.
func (e *Engine) RunID() string { return e.runID }

// Start begins running question and returns the event stream. A question whose worst-case
// iteration cannot fit the model's context window (see ContextLimited) is refused with an error
// wrapping ErrContextWindow before anything is logged. The channel is buffered without
// bound (a slow consumer loses nothing; consecutive deltas of one part may arrive coalesced) and
// stays open across edits and branch switches: a "done" event ends each run of a branch, and the
// channel closes after Close or once ctx ends and the engine has stopped.
func (e *Engine) Start(ctx context.Context, question string) (<-chan Event, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.started || e.opened {
		return nil, ErrStarted
	}
	if e.closed {
		return nil, ErrClosed
	}
	if err := e.checkWindow(question); err != nil {
		return nil, err
	}
	if err := e.beginLocked(ctx); err != nil {
		return nil, err
	}
	e.question = question
	b := &branch{id: 1, created: e.now(), clock: e.stopwatchLocked()}
	e.branches[1] = b
	e.cur = 1
	if err := e.logRecord(trajlog.Record{Kind: trajlog.KindRun, Branch: 1, Question: question, Reference: e.cfg.Reference}); err != nil {
		e.started = false
		return nil, err
	}
	go e.watch(ctx)
	e.startLoopLocked(b, nil)
	return e.queue.out, nil
}

// Solve runs question to its end without a consumer of the event stream (benchmarks,
// scripts); onEvent, when not nil, sees every event. It returns the final snapshot.
func (e *Engine) Solve(ctx context.Context, question string, onEvent func(Event)) (Snapshot, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	ch, err := e.Start(ctx, question)
	if err != nil {
		return Snapshot{}, err
	}
	var runErr error
	for ev := range ch {
		if onEvent != nil {
			onEvent(ev)
		}
		if ev.Type == EventError && runErr == nil {
			runErr = errors.New(ev.Message)
		}
		if ev.Type == EventDone || ev.Type == EventError {
			break
		}
	}
	snap := e.Snapshot()
	cancel()
	go func() {
		for range ch {
		}
	}()
	return snap, runErr
}

// Wait blocks until the engine is idle: the current branch concluded, failed, or was canceled.
func (e *Engine) Wait() error {
	for {
		e.mu.Lock()
		l := e.loop
		e.mu.Unlock()
		if l == nil {
			break
		}
		<-l.done
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.runErr
}

// Err is the error that ended the latest run of a branch (a *PanicError for a bug), nil while
// it runs or when it concluded; unlike Wait it does not block.
func (e *Engine) Err() error {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.runErr
}

// watch stops the engine when ctx ends (until Close).
func (e *Engine) watch(ctx context.Context) {
	select {
	case <-ctx.Done():
		e.stopLoop()
		e.queue.close()
	case <-e.closedCh:
	}
}

// Close stops generation, closes the event channel (events not read yet are dropped) and the
// log (when the engine opened it).
func (e *Engine) Close() error {
	e.mu.Lock()
	if e.closed {
		e.mu.Unlock()
		return nil
	}
	e.closed = true
	close(e.closedCh)
	e.mu.Unlock()
	e.stopLoop()
	e.queue.abandon()
	if e.log != nil && e.ownLog {
		return e.log.Close()
	}
	return nil
}

// Pause stops generation before the next token; the partial iteration is kept (and its KV
// cache: Resume continues exactly where it stopped).
func (e *Engine) Pause() {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.pauseLocked()
}

func (e *Engine) pauseLocked() {
	if e.paused || !e.started {
		return
	}
	e.paused, e.pausedAt = true, e.now()
	e.resumeCh = make(chan struct{})
	it := 0
	if e.partial != nil {
		it = e.partial.Index
	}
	e.emit(Event{Type: EventPaused, Branch: e.cur, Iteration: it})
}

// Resume continues a paused run from where it stopped (or from an edit made while paused).
func (e *Engine) Resume() {
	e.mu.Lock()
	defer e.mu.Unlock()
	if !e.paused {
		return
	}
	e.paused = false
	e.pausedFor += e.now().Sub(e.pausedAt)
	close(e.resumeCh)
	it := 0
	if e.partial != nil {
		it = e.partial.Index
	}
	e.emit(Event{Type: EventResumed, Branch: e.cur, Iteration: it})
}

// pausedLocked is how long the run has been paused up to now, the current pause included.
func (e *Engine) pausedLocked(now time.Time) time.Duration {
	d := e.pausedFor
	if e.paused {
		d += now.Sub(e.pausedAt)
	}
	return d
}

// stopwatch measures a span of a run twice: wall time, and active time (pauses excluded), which
// is what rates and the log's seconds are computed from.
type stopwatch struct {
	e      *Engine
	start  time.Time
	paused time.Duration // e.pausedLocked at start
}

func (e *Engine) stopwatchLocked() stopwatch {
	now := e.now()
	return stopwatch{e: e, start: now, paused: e.pausedLocked(now)}
}

func (e *Engine) stopwatch() stopwatch {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.stopwatchLocked()
}

// readLocked gives the active and the wall seconds from the start to now.
func (s stopwatch) readLocked(now time.Time) (active, wall float64) {
	w := now.Sub(s.start)
	return (w - (s.e.pausedLocked(now) - s.paused)).Seconds(), w.Seconds()
}

func (s stopwatch) read() (active, wall float64) {
	s.e.mu.Lock()
	defer s.e.mu.Unlock()
	return s.readLocked(s.e.now())
}

// Paused reports whether the run is paused.
func (e *Engine) Paused() bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.paused
}

// EditSummary replaces the summary of finished iteration `iteration` of the current branch. The
// run continues on a new branch from the edited summary; the iterations after it stay on the old
// branch, which SwitchBranch can bring back. A paused run stays paused.
func (e *Engine) EditSummary(iteration int, text string) error {
	return e.editSummary(iteration, text)
}

// EditReasoning replaces the partial reasoning of the paused iteration. The run continues on a
// new branch from the edited text once resumed (re-prefilled, the sampler's random stream
// continuing at the same token index).
func (e *Engine) EditReasoning(text string) error {
	return e.editReasoning(text)
}

// Branches lists the branches of the run, in creation order.
func (e *Engine) Branches() []BranchInfo {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.branchInfosLocked()
}

// SwitchBranch makes branch id current. Generation on the branch left stops (its in-flight
// iteration is dropped; finished ones are kept). An unfinished target branch waits paused:
// Resume goes on generating on it, so that looking at an abandoned branch starts nothing.
func (e *Engine) SwitchBranch(id int) error {
	return e.switchBranch(id)
}

// Snapshot returns a copy of the current branch's state.
func (e *Engine) Snapshot() Snapshot {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.snapshotLocked(e.cur)
}

// BranchSnapshot returns a copy of branch id's state.
func (e *Engine) BranchSnapshot(id int) (Snapshot, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if _, ok := e.branches[id]; !ok {
		return Snapshot{}, fmt.Errorf("%w: %d", ErrNoBranch, id)
	}
	return e.snapshotLocked(id), nil
}

// FitWindow sets the budgets c leaves at zero so that they fit a window of the given length
// (0: unknown, the engine's defaults stay). Defaults made for long-context models would overflow
// a small window: an iteration holds the question, the history (≤ summary bound), η and the
// summary or conclusion, which the engine checks up front. Defaults take at most 1/11, 1/2 (less
// 4) and 1/11 of the window, leaving about a third for the question (the embedded 256-token
// model's prompts are 79).
func (c *Config) FitWindow(window int) {
	if window <= 0 {
		return
	}
	if c.SummaryMax == 0 {
		c.SummaryMax = max(min(DefaultSummaryMax, window/11), 1)
	}
	if c.ConclusionMax == 0 {
		c.ConclusionMax = max(min(DefaultConclusionMax, window/11), 1)
	}
	if c.Eta == 0 {
		c.Eta = max(min(DefaultEta, window/2-4), 1)
	}
}

func (c Config) withDefaults() Config {
	if c.Mode == "" {
		c.Mode = ModeNative
	}
	if c.Eta == 0 {
		c.Eta = DefaultEta
	}
	if c.Phi == 0 {
		c.Phi = DefaultPhi
	}
	if c.SummaryMax == 0 {
		c.SummaryMax = DefaultSummaryMax
	}
	if c.ConclusionMax == 0 {
		c.ConclusionMax = DefaultConclusionMax
	}
	p := DefaultPrompts()
	if c.Step1Prompt == "" {
		c.Step1Prompt = p.Step1
	}
	if c.Step2Prompt == "" {
		c.Step2Prompt = p.Step2
	}
	if c.ContinuePrompt == "" {
		c.ContinuePrompt = p.Continue
	}
	return c
}

func (c Config) validate() error {
	switch c.Mode {
	case ModeNative, ModeScaffold:
	case ModeCurate:
		return errors.New("session: curate mode runs through Curate, not an Engine")
	default:
		return fmt.Errorf("session: unknown mode %q (want native or scaffold)", c.Mode)
	}
	if c.Eta < 1 || c.Phi < 1 || c.SummaryMax < 1 || c.ConclusionMax < 1 {
		return fmt.Errorf("session: η (%d), φ (%d), summary bound (%d) and conclusion bound (%d) must be positive", c.Eta, c.Phi, c.SummaryMax, c.ConclusionMax)
	}
	if c.Sampling.Temperature < 0 {
		return fmt.Errorf("session: negative temperature %g", c.Sampling.Temperature)
	}
	return nil
}
