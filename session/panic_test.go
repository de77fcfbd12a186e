package session_test

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/infty-dev/infty/session"
	"github.com/infty-dev/infty/session/sessiontest"
	"github.com/infty-dev/infty/session/trajlog"
)

// panicAt wraps a policy so that it panics at the given token of the given iteration (the
// scripted model calls the policy inside Generate, mid-stream).
func panicAt(p sessiontest.Policy, iteration, token int) sessiontest.Policy {
	return func(st sessiontest.State) (string, bool) {
		if sessiontest.Iteration(st.Assistant()) == iteration && st.Index == token {
			panic(fmt.Sprintf("boom at token %d", token))
		}
		return p(st)
	}
}

// checkPanicEnd checks that a panicked run ended as documented: an error event naming what
// failed and the panic value, the engine idle with a *PanicError, the log readable with what was
// finished before the panic, and Close closing the stream.
func checkPanicEnd(t *testing.T, e *session.Engine, ch <-chan session.Event, logPath, what string, finished int) {
	t.Helper()
	evs := collect(t, ch)
	last := evs[len(evs)-1]
	if last.Type != session.EventError || !strings.Contains(last.Message, what) || !strings.Contains(last.Message, "panicked: boom") {
		t.Fatalf("last event %+v, want an error naming %q and the panic value", last, what)
	}
	err := e.Wait()
	var pe *session.PanicError
	if !errors.As(err, &pe) || len(pe.Stack) == 0 || pe.Value == nil {
		t.Fatalf("Wait: %v (%T), want a *PanicError with its stack", err, err)
	}
	if e.Err() != err {
		t.Errorf("Err() = %v, want Wait's %v", e.Err(), err)
	}
	if snap := e.Snapshot(); snap.Running || len(snap.Iterations) != finished {
		t.Errorf("after the panic: running %v, %d iterations, want idle with %d", snap.Running, len(snap.Iterations), finished)
	}
	if err := e.Close(); err != nil {
		t.Fatal(err)
	}
	select {
	case _, ok := <-ch:
		for ok {
			_, ok = <-ch
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the event channel stayed open after Close")
	}
	runs, warnings, err := trajlog.ReadFile(logPath)
	if err != nil || len(warnings) != 0 || len(runs) != 1 {
		t.Fatalf("log after the panic: %v, warnings %v, %d runs", err, warnings, len(runs))
	}
	if got := len(runs[0].Branch(1).Iterations); got != finished {
		t.Errorf("log holds %d iterations, want the %d finished before the panic", got, finished)
	}
}

func TestGeneratePanicsMidStream(t *testing.T) {
	policy := sessiontest.Script{Reason: words(6), ConcludeAt: 3, SummaryWords: 2, Answer: "42"}.Policy()
	m := sessiontest.New("scripted", panicAt(policy, 2, 4))
	logPath := filepath.Join(t.TempDir(), "log.jsonl")
	e := newEngine(t, m, session.Config{Eta: 50, Phi: 3, LogPath: logPath})
	ch, err := e.Start(context.Background(), question)
	if err != nil {
		t.Fatal(err)
	}
	checkPanicEnd(t, e, ch, logPath, "generate (iteration 2): model scripted", 1)
}

func TestSummarizerPanics(t *testing.T) {
	reasoner := sessiontest.New("reasoner", func(st sessiontest.State) (string, bool) { return "w ", false })
	summarizer := sessiontest.New("summarizer", func(st sessiontest.State) (string, bool) {
		if st.Index == 2 {
			panic("boom")
		}
		return "* s", false
	})
	logPath := filepath.Join(t.TempDir(), "log.jsonl")
	e, err := session.New(reasoner, session.Config{Mode: session.ModeScaffold, Eta: 6, Phi: 3, LogPath: logPath}, session.WithSummarizer(summarizer))
	if err != nil {
		t.Fatal(err)
	}
	ch, err := e.Start(context.Background(), question)
	if err != nil {
		t.Fatal(err)
	}
	checkPanicEnd(t, e, ch, logPath, "summarizer (iteration 1): model summarizer", 0)
}

// A panic in the engine's own code (here: a model whose Name panics once the run is under way,
// called while the engine holds its lock to write the log) is recovered at the run goroutine's
// boundary; the lock is released, so the engine still answers.
func TestEnginePanicRecoveredAtGoroutineBoundary(t *testing.T) {
	policy := sessiontest.Script{Reason: words(3), ConcludeAt: 3, SummaryWords: 2, Answer: "42"}.Policy()
	m := &namePanics{Model: sessiontest.New("scripted", policy)}
	logPath := filepath.Join(t.TempDir(), "log.jsonl")
	e := newEngine(t, m, session.Config{Eta: 50, Phi: 3, LogPath: logPath})
	ch, err := e.Start(context.Background(), question)
	if err != nil {
		t.Fatal(err)
	}
	checkPanicEnd(t, e, ch, logPath, "the engine (branch 1)", 0)
}

// namePanics is a model whose Name panics on its second call: the first is the run record
// written by Start, the second the first iteration's record, written under the engine's lock.
type namePanics struct {
	*sessiontest.Model
	calls atomic.Int32
}

func (m *namePanics) Name() string {
	if m.calls.Add(1) == 2 {
		panic("boom")
	}
	return m.Model.Name()
}

// A reasoning model for which Curate's summarizer panics: Curate returns the error.
func TestCurateSummarizerPanics(t *testing.T) {
	summarizer := sessiontest.New("summarizer", func(st sessiontest.State) (string, bool) { panic("boom") })
	tr := session.Trace{Question: question, Reasoning: "First we look.\n\nThen we add.", Answer: "The answer is \\boxed{4}."}
	_, err := session.Curate(context.Background(), summarizer, session.Config{Eta: 4}, tr, nil, nil)
	var pe *session.PanicError
	if !errors.As(err, &pe) || !strings.Contains(err.Error(), "model summarizer panicked: boom") {
		t.Fatalf("Curate: %v, want the summarizer's panic as an error", err)
	}
}

// encodePanics is a windowed model whose tokenizer panics.
type encodePanics struct{ *sessiontest.Model }

func (encodePanics) Encode(string) ([]int, error) { panic("boom") }

// Start measures the question against the window on the caller's goroutine: a panic in the
// model's tokenizer there is Start's error, not a crash, and nothing is logged.
func TestStartWindowCheckPanics(t *testing.T) {
	m := sessiontest.New("scripted", nil)
	m.Window = 100
	logPath := filepath.Join(t.TempDir(), "log.jsonl")
	e := newEngine(t, encodePanics{m}, session.Config{Eta: 10, Phi: 2, SummaryMax: 4, ConclusionMax: 4, LogPath: logPath})
	_, err := e.Start(context.Background(), question)
	var pe *session.PanicError
	if !errors.As(err, &pe) || !strings.Contains(err.Error(), "panicked: boom") {
		t.Fatalf("Start: %v", err)
	}
}
