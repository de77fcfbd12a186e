package session_test

import (
	"context"
	"path/filepath"
	"reflect"
	"testing"
	"time"

	"github.com/infty-dev/infty/llm"
	"github.com/infty-dev/infty/session"
	"github.com/infty-dev/infty/session/sessiontest"
	"github.com/infty-dev/infty/session/trajlog"
)

// A run stopped mid-way and reopened from its log finishes with exactly the iterations of an
// uninterrupted run: each iteration's seed depends only on the run seed and its index.
func TestOpenContinuesInterruptedRun(t *testing.T) {
	script := sessiontest.Script{Reason: words(8), SummaryWords: 2, ConcludeAt: 5, Answer: "5"}
	cfg := session.Config{Eta: 100, Phi: 6, Sampling: llm.Sampling{Temperature: 0.5, Seed: 99}, Reference: "5"}
	ref, _ := solve(t, sessiontest.New("scripted", script.Policy()), cfg)

	logPath := filepath.Join(t.TempDir(), "log.jsonl")
	c := cfg
	c.LogPath = logPath
	m := sessiontest.New("scripted", script.Policy())
	m.Delay = time.Millisecond
	e, err := session.New(m, c)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	ch, _ := e.Start(ctx, question)
	for ev := range ch {
		if ev.Type == session.EventDelta && ev.Iteration == 3 {
			cancel()
		}
	}
	e.Close()
	runs, _, err := trajlog.ReadFile(logPath)
	if err != nil {
		t.Fatal(err)
	}
	if n := len(runs[0].Branch(1).Iterations); n != 2 {
		t.Fatalf("%d iterations logged before the stop", n)
	}
	if _, err := session.Open(nil, runs[0], session.Config{LogPath: logPath}); err == nil {
		t.Error("native run opened without a model")
	}
	m.Delay = 0
	o, err := session.Open(m, runs[0], session.Config{LogPath: logPath})
	if err != nil {
		t.Fatal(err)
	}
	defer o.Close()
	if _, err := o.Start(context.Background(), "other"); err == nil {
		t.Error("Start on an opened engine accepted")
	}
	ch, err = o.Continue(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	collect(t, ch)
	got := o.Snapshot()
	if got.RunID != runs[0].ID || !got.Done || got.Correct == nil || !*got.Correct {
		t.Fatalf("reopened run: %+v", got)
	}
	if !reflect.DeepEqual(stripTimes(got.Iterations), stripTimes(ref.Snapshot().Iterations)) {
		t.Errorf("continued run differs from the uninterrupted one")
	}
	runs, _, err = trajlog.ReadFile(logPath)
	if err != nil || len(runs) != 1 || len(runs[0].Branch(1).Iterations) != 5 || !runs[0].Branch(1).Done {
		t.Fatalf("log after continuing: %v %+v", err, runs)
	}
}

func TestOpenCuratedRunAndEdit(t *testing.T) {
	summarizer := sessiontest.New("summarizer", func(st sessiontest.State) (string, bool) {
		if st.Assistant() == "" {
			return "* a summary", false
		}
		return "", true
	})
	logPath := filepath.Join(t.TempDir(), "log.jsonl")
	w, _ := trajlog.Open(logPath)
	reasoning := "A first paragraph here.\n\nB second paragraph here.\n\nC third paragraph here."
	if _, err := session.Curate(context.Background(), summarizer, session.Config{Eta: 20}, session.Trace{Question: "q", Reasoning: reasoning, Answer: `\boxed{1}`}, w, nil); err != nil {
		t.Fatal(err)
	}
	w.Close()
	runs, _, _ := trajlog.ReadFile(logPath)
	e, err := session.Open(nil, runs[0], session.Config{LogPath: logPath})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	if _, err := e.Continue(context.Background()); err != nil {
		t.Fatal(err)
	}
	if err := e.EditSummary(1, "* fixed by hand"); err != nil {
		t.Fatal(err)
	}
	snap := e.Snapshot()
	if snap.Branch != 2 || !snap.Done || len(snap.Iterations) != 3 || snap.Iterations[1].History != "* fixed by hand" || !snap.Iterations[0].Edited || snap.Answer != "1" ||
		snap.Iterations[0].Original != "* a summary" {
		t.Fatalf("after edit: %+v", snap)
	}
	e.Close()
	runs, _, err = trajlog.ReadFile(logPath)
	if err != nil {
		t.Fatal(err)
	}
	b2 := runs[0].Branch(2)
	if runs[0].Current != 2 || b2 == nil || !b2.Done || !b2.Edited() || len(b2.Iterations) != 3 || b2.Iterations[1].History != "* fixed by hand" || b2.Iterations[2].Reasoning != "C third paragraph here." {
		t.Errorf("log branch 2: %+v", b2)
	}
	if runs[0].Mode != "curate" || runs[0].Summarizer != "summarizer" {
		t.Errorf("run header %+v", runs[0])
	}
}
