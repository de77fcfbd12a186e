package session_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/infty-dev/infty/llm"
	"github.com/infty-dev/infty/session"
	"github.com/infty-dev/infty/session/format"
	"github.com/infty-dev/infty/session/sessiontest"
)

// charPolicy writes one character per token (so re-encoding the turn counts what was generated,
// as with a real tokenizer) and never closes its reasoning: every iteration runs to η (or to the
// window). Summaries are "[it=N] sss"; the conclusion holds \boxed{42}.
func charPolicy(st sessiontest.State) (string, bool) {
	asst := st.Assistant()
	body := sessiontest.Body(asst)
	next := func(target, written string) (string, bool) {
		if len(written) < len(target) && strings.HasPrefix(target, written) {
			return target[len(written) : len(written)+1], false
		}
		return "", true
	}
	switch body {
	case "":
		return "<think>", false
	case "<think>":
		return "\n", false
	}
	_, rest, closed := strings.Cut(body, "</think>")
	if !closed {
		return "a", false
	}
	if s, ok := strings.CutPrefix(rest, "<summary>\n"); ok {
		target := fmt.Sprintf("[it=%d] sss\n", sessiontest.Iteration(asst))
		if s == target {
			return "</summary>", false
		}
		return next(target, s)
	}
	if c, ok := strings.CutPrefix(rest, "\n"); ok {
		return next("The answer is \\boxed{42}.\n", c)
	}
	return "", true
}

var windowCfg = session.Config{Eta: 40, Phi: 3, SummaryMax: 12, ConclusionMax: 30}

// promptTokens is the native question prompt with an empty history pre-fill.
func promptTokens(t *testing.T, m *sessiontest.Model) int {
	t.Helper()
	user, _ := m.RenderChat([]llm.Message{{Role: "user", Content: question}}, true)
	ids, _ := m.Encode(user + format.Prefill(2, ""))
	return len(ids)
}

func TestWindowRefusedUpFront(t *testing.T) {
	m := sessiontest.New("small", charPolicy)
	p := promptTokens(t, m)
	m.Window = p + windowCfg.Eta // no room for a history or a summary
	cfg := windowCfg
	cfg.LogPath = filepath.Join(t.TempDir(), "log.jsonl")
	e, err := session.New(m, cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	_, err = e.Start(context.Background(), question)
	if !errors.Is(err, session.ErrContextWindow) {
		t.Fatalf("Start: %v, want ErrContextWindow", err)
	}
	for _, want := range []string{"small attends to", "η 40", "history up to 12", "summary/conclusion bound 30", "--eta"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not say %q", err, want)
		}
	}
	if _, err := os.Stat(cfg.LogPath); !os.IsNotExist(err) {
		t.Errorf("a refused run touched the log: %v", err)
	}
	if m.Calls() != 0 {
		t.Errorf("%d Generate calls for a refused run", m.Calls())
	}
}

// The smallest window the engine accepts holds the question prompt, a history as long as the
// summary bound, η and the larger bound (and a few tokens for the tags); a run in it reasons the
// full η in every iteration and never asks the model for more than its window (the scripted
// model fails such a call).
func TestWindowSmallestAcceptedRunsWithinIt(t *testing.T) {
	base := promptTokens(t, sessiontest.New("probe", charPolicy)) + windowCfg.SummaryMax + windowCfg.Eta + max(windowCfg.SummaryMax, windowCfg.ConclusionMax)
	var e *session.Engine
	var m *sessiontest.Model
	var ch <-chan session.Event
	w := base
	for ; w < base+20; w++ {
		m = sessiontest.New("windowed", charPolicy)
		m.Window = w
		e = newEngine(t, m, windowCfg)
		var err error
		if ch, err = e.Start(context.Background(), question); err == nil {
			break
		}
		if !errors.Is(err, session.ErrContextWindow) {
			t.Fatal(err)
		}
	}
	if w == base+20 {
		t.Fatalf("no window up to %d accepted", w)
	}
	evs := collect(t, ch)
	if last := evs[len(evs)-1]; last.Type != session.EventDone {
		t.Fatalf("run in the smallest window (%d) ended with %+v", w, last)
	}
	snap := e.Snapshot()
	if len(snap.Iterations) != 3 || snap.Answer != "42" {
		t.Fatalf("%d iterations, answer %q: %+v", len(snap.Iterations), snap.Answer, snap.Iterations[len(snap.Iterations)-1])
	}
	for _, it := range snap.Iterations {
		if n := strings.Count(it.Reasoning, "a"); n < windowCfg.Eta-2 {
			t.Errorf("iteration %d reasoned %d tokens: the smallest accepted window should hold η", it.Index, n)
		}
	}
}

// A history that grows at run time (an edit much longer than the summary bound) shortens the next
// iteration's reasoning instead of overrunning the window; a history that fills the window ends
// the run with a clear error.
func TestWindowHistoryGrowsAtRunTime(t *testing.T) {
	m := sessiontest.New("windowed", charPolicy)
	m.Window = promptTokens(t, m) + 2*windowCfg.SummaryMax + windowCfg.Eta + windowCfg.ConclusionMax + 10
	e := newEngine(t, m, windowCfg)
	ch, err := e.Start(context.Background(), question)
	if err != nil {
		t.Fatal(err)
	}
	if evs := collect(t, ch); evs[len(evs)-1].Type != session.EventDone {
		t.Fatalf("run ended with %+v", evs[len(evs)-1])
	}
	orig := e.Snapshot().Iterations[1]

	long := "[it=1] " + strings.Repeat("z", 30)
	if err := e.EditSummary(1, long); err != nil {
		t.Fatal(err)
	}
	if evs := collect(t, ch); evs[len(evs)-1].Type != session.EventDone {
		t.Fatalf("after a long edit the run ended with %+v", evs[len(evs)-1])
	}
	it := e.Snapshot().Iterations[1]
	if it.History != long || !it.ForcedBoundary || len(it.Reasoning) >= len(orig.Reasoning) {
		t.Errorf("iteration 2 after the long edit: history %q, forced %v, reasoning %d bytes (was %d)", it.History, it.ForcedBoundary, len(it.Reasoning), len(orig.Reasoning))
	}

	if err := e.EditSummary(1, strings.Repeat("z", m.Window)); err != nil {
		t.Fatal(err)
	}
	evs := collect(t, ch)
	last := evs[len(evs)-1]
	if last.Type != session.EventError || !strings.Contains(last.Message, "iteration 2") || !strings.Contains(last.Message, "fills") {
		t.Fatalf("a history that fills the window: %+v", last)
	}
	if err := e.Wait(); !errors.Is(err, session.ErrContextWindow) {
		t.Fatalf("Wait: %v, want ErrContextWindow", err)
	}
}

func TestWindowScaffoldSummarizerRefused(t *testing.T) {
	reasoner := sessiontest.New("reasoner", func(sessiontest.State) (string, bool) { return "w ", false })
	summarizer := sessiontest.New("tiny-summarizer", func(sessiontest.State) (string, bool) { return "* s", false })
	summarizer.Window = 50
	e, err := session.New(reasoner, session.Config{Mode: session.ModeScaffold, Eta: 20, Phi: 3, SummaryMax: 8, ConclusionMax: 8}, session.WithSummarizer(summarizer))
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	if _, err := e.Start(context.Background(), question); !errors.Is(err, session.ErrContextWindow) || !strings.Contains(err.Error(), "tiny-summarizer") {
		t.Fatalf("Start: %v, want the summarizer's window named", err)
	}
}

// When η runs out at iteration φ the engine forces "\n</think>\n"; the conclusion that follows
// is bounded by the conclusion bound, not the (smaller) summary bound.
func TestForcedConclusionKeepsItsBound(t *testing.T) {
	m := sessiontest.New("chars", charPolicy)
	_, evs := solve(t, m, session.Config{Eta: 20, Phi: 1, SummaryMax: 4, ConclusionMax: 40})
	var ans string
	for _, ev := range evs {
		if ev.Type == session.EventAnswer {
			ans = ev.Text
		}
	}
	if ans != "42" {
		t.Fatalf("answer %q: the forced conclusion was cut short", ans)
	}
}

// bench's iterative mode on the embedded model runs with these budgets; its published table
// (`infty bench --synthetic --seed 777`) depends on them.
func TestFitWindowEmbeddedModel(t *testing.T) {
	cfg := session.Config{Phi: 16}
	cfg.FitWindow(256)
	if cfg.Eta != 124 || cfg.SummaryMax != 23 || cfg.ConclusionMax != 23 || cfg.Phi != 16 {
		t.Errorf("window 256: η %d, summary %d, conclusion %d, φ %d; want 124, 23, 23, 16", cfg.Eta, cfg.SummaryMax, cfg.ConclusionMax, cfg.Phi)
	}
	cfg = session.Config{Eta: 100}
	cfg.FitWindow(256)
	if cfg.Eta != 100 {
		t.Errorf("a given η %d was refitted", cfg.Eta)
	}
	cfg = session.Config{}
	cfg.FitWindow(0)
	if cfg != (session.Config{}) {
		t.Errorf("an unknown window changed the budgets: %+v", cfg)
	}
}
