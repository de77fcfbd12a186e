package ui

import (
	"bytes"
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/colorprofile"
	"github.com/charmbracelet/x/exp/teatest/v2"
	"github.com/infty-dev/infty/session"
	"github.com/infty-dev/infty/session/sessiontest"
	"github.com/infty-dev/infty/session/trajlog"
	"github.com/infty-dev/infty/themes"
)

// engineFlow is the workbench on the real engine with a scripted model, in a teatest program.
type engineFlow struct {
	t   *testing.T
	eng *session.Engine
	tm  *teatest.TestModel
	log string
}

// flowScript is the well-behaved model of the flow tests.
var flowScript = sessiontest.Script{
	Reason:       func(int) int { return 24 },
	ConcludeAt:   4,
	SummaryWords: 5,
	Answer:       "42",
}

func startEngineFlow(t *testing.T) *engineFlow {
	t.Helper()
	return startEngineFlowWith(t, flowScript.Policy())
}

func startEngineFlowWith(t *testing.T, policy sessiontest.Policy) *engineFlow {
	t.Helper()
	model := sessiontest.New("scripted", policy)
	model.Delay = 2 * time.Millisecond
	f := &engineFlow{t: t, log: filepath.Join(t.TempDir(), "log.jsonl")}
	eng, err := session.New(model, session.Config{Eta: 64, Phi: 6, Reference: "42", LogPath: f.log})
	if err != nil {
		t.Fatal(err)
	}
	f.eng = eng
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(func() { cancel(); eng.Close() })
	m := New(Options{
		Theme:    themes.Plain(),
		Question: "What is six times seven?",
		Start: func(q string) (Started, error) {
			ch, err := eng.Start(ctx, q)
			if err != nil {
				return Started{}, err
			}
			return Started{Run: eng, Events: ch, Info: Info{Model: model.Name(), Backend: "test", Eta: 64, Phi: 6}}, nil
		},
	})
	f.tm = teatest.NewTestModel(t, probed{m}, teatest.WithInitialTermSize(100, 30))
	return f
}

// probed lets a test read the screen from inside the program's own goroutine (no data race):
// a probeMsg is answered with the view as a terminal without color shows it.
type probed struct{ *Model }

type probeMsg chan string

func (p probed) Update(msg tea.Msg) (tea.Model, tea.Cmd) {
	if ch, ok := msg.(probeMsg); ok {
		var buf bytes.Buffer
		w := &colorprofile.Writer{Forward: &buf, Profile: colorprofile.NoTTY}
		w.Write([]byte(p.Model.render()))
		ch <- buf.String()
		return p, nil
	}
	_, cmd := p.Model.Update(msg)
	return p, cmd
}

// screen is what the workbench shows now.
func (f *engineFlow) screen() string {
	ch := make(probeMsg, 1)
	f.tm.Send(ch)
	select {
	case s := <-ch:
		return s
	case <-time.After(10 * time.Second):
		f.t.Fatal("the program does not answer")
		return ""
	}
}

// waitFor polls cond (engine state) while the program runs; the screen is in the message on
// failure.
func (f *engineFlow) waitFor(what string, cond func() bool) {
	f.t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			f.t.Fatalf("timed out waiting until %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// waitScreen waits until the screen shows s.
func (f *engineFlow) waitScreen(s string) {
	f.t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		scr := f.screen()
		if strings.Contains(scr, s) {
			return
		}
		if time.Now().After(deadline) {
			f.t.Fatalf("the screen never showed %q; it shows:\n%s", s, scr)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func (f *engineFlow) key(k string) { f.tm.Send(keyMsg(k)) }

func finishedWithSummary(s session.Snapshot) int {
	n := 0
	for _, it := range s.Iterations {
		if it.Summary != "" {
			n++
		}
	}
	return n
}

func TestFlowPauseEditResumeBranch(t *testing.T) {
	f := startEngineFlow(t)
	eng := f.eng
	f.waitFor("a summary is finished", func() bool { return finishedWithSummary(eng.Snapshot()) >= 1 })

	f.key("space")
	f.waitFor("the engine is paused", eng.Paused)
	f.waitScreen("paused")
	paused := eng.Snapshot()
	latest := paused.Iterations[len(paused.Iterations)-1]
	for latest.Summary == "" && len(paused.Iterations) > 1 {
		paused.Iterations = paused.Iterations[:len(paused.Iterations)-1]
		latest = paused.Iterations[len(paused.Iterations)-1]
	}

	f.key("e")
	f.waitScreen("Edit summary")
	f.tm.Type(" EDITED") // the cursor starts at the end: typing goes on from the summary
	f.key("ctrl+s")
	f.waitFor("the edit made branch 2", func() bool { return eng.Snapshot().Branch == 2 })
	if !eng.Paused() {
		t.Fatal("applying an edit resumed a run the person paused")
	}

	f.key("space")
	f.waitFor("branch 2 concluded", func() bool { s := eng.Snapshot(); return s.Branch == 2 && s.Done })

	// The log holds the edit, and the next iteration started from the edited summary.
	runs, warnings, err := trajlog.ReadFile(f.log)
	if err != nil || len(warnings) > 0 || len(runs) != 1 {
		t.Fatalf("log: %v %v %d runs", err, warnings, len(runs))
	}
	run := runs[0]
	if len(run.Edits) != 1 {
		t.Fatalf("%d edits in the log, want 1", len(run.Edits))
	}
	edit := run.Edits[0]
	wantText := latest.Summary + " EDITED"
	if edit.Iteration != latest.Index || edit.New != wantText || edit.Old != latest.Summary {
		t.Fatalf("logged edit %+v, want iteration %d %q → %q", edit, latest.Index, latest.Summary, wantText)
	}
	b2 := run.Branch(2)
	if b2 == nil || len(b2.Iterations) <= edit.Iteration {
		t.Fatal("branch 2 has no iteration after the edited one")
	}
	if next := b2.Iterations[edit.Iteration]; next.History != wantText {
		t.Fatalf("iteration %d started from %q, want the edited summary %q", next.Index, next.History, wantText)
	}

	// Branch switching: the list opens on the current branch (2); up selects branch 1.
	f.key("b")
	f.waitScreen("Branches")
	f.key("up")
	f.key("enter")
	f.waitFor("branch 1 is current", func() bool { return eng.Snapshot().Branch == 1 })
	// Branch 1 was left unfinished: it waits paused until space.
	f.waitScreen("space goes on generating")
	f.waitScreen("‖ paused")
	f.key("space")
	f.waitFor("branch 1 concluded", func() bool { return eng.Snapshot().Done })
	f.waitScreen("Answer: 42")

	f.key("q")
	final := f.tm.FinalModel(t, teatest.WithFinalTimeout(10*time.Second)).(probed).Model
	if final.status.branch != 1 {
		t.Fatalf("the view shows branch %d after switching to 1", final.status.branch)
	}
	for _, it := range final.trace.its {
		if it.edited {
			t.Fatalf("iteration %d on branch 1 shows as edited", it.index)
		}
	}
	want := eng.Snapshot()
	if len(final.trace.its) != len(want.Iterations) {
		t.Fatalf("view holds %d iterations, branch 1 has %d", len(final.trace.its), len(want.Iterations))
	}
	if !strings.Contains(final.render(), "Answer: 42") {
		t.Fatalf("the concluded branch shows no answer:\n%s", final.render())
	}
}

// The edited summary is shown beside its original once the engine made the new branch.
func TestFlowEditShowsOriginal(t *testing.T) {
	f := startEngineFlow(t)
	eng := f.eng
	f.waitFor("a summary is finished", func() bool { return finishedWithSummary(eng.Snapshot()) >= 1 })
	f.key("space")
	f.waitFor("paused", eng.Paused)
	f.waitScreen("paused") // the view has caught up with the stream
	f.key("e")
	f.waitScreen("Edit summary")
	f.tm.Type(" NEW")
	f.key("ctrl+s")
	f.waitFor("branch 2", func() bool { return eng.Snapshot().Branch == 2 })
	f.waitScreen("original")
	f.tm.Send(tea.KeyPressMsg{Code: 'q', Text: "q"})
	final := f.tm.FinalModel(t, teatest.WithFinalTimeout(10*time.Second)).(probed).Model
	var edited *iteration
	for _, it := range final.trace.its {
		if it.edited {
			edited = it
		}
	}
	if edited == nil || edited.original == "" || !strings.HasSuffix(edited.summary.String(), " NEW") {
		t.Fatalf("the edited iteration does not keep its original: %+v", edited)
	}
	if out := final.render(); !strings.Contains(out, "original") || !strings.Contains(out, "edited") {
		t.Fatalf("no side-by-side view:\n%s", out)
	}
}

// A model that panics mid-stream: the workbench shows the engine's error and still quits
// cleanly (the program ends normally, so the terminal is restored), and the log stays readable.
func TestFlowModelPanicShowsErrorAndQuits(t *testing.T) {
	policy := flowScript.Policy()
	f := startEngineFlowWith(t, func(st sessiontest.State) (string, bool) {
		if sessiontest.Iteration(st.Assistant()) == 2 && st.Index == 5 {
			panic("boom in the model")
		}
		return policy(st)
	})
	f.waitScreen("panicked: boom in the model")
	if err := f.eng.Wait(); err == nil || !strings.Contains(err.Error(), "model scripted panicked") {
		t.Fatalf("engine: %v", err)
	}
	f.key("q")
	final := f.tm.FinalModel(t, teatest.WithFinalTimeout(10*time.Second)).(probed).Model
	if final.status.state != stateFailed || !strings.Contains(final.flash, "generate (iteration 2)") {
		t.Fatalf("state %v, flash %q: want the failed run and the error named", final.status.state, final.flash)
	}
	if len(final.trace.its) < 1 || !final.trace.its[0].finished {
		t.Fatal("the iteration finished before the panic is not shown")
	}
	runs, warnings, err := trajlog.ReadFile(f.log)
	if err != nil || len(warnings) > 0 || len(runs) != 1 || len(runs[0].Branch(1).Iterations) != 1 {
		t.Fatalf("log after the panic: %v %v %+v", err, warnings, runs)
	}
}

// While paused, `e` still edits the latest summary by default; with the in-flight iteration's
// reasoning pane selected by hand it edits that reasoning (same editor, ctrl+s / esc), and the run
// goes on from the edited text on a new branch once resumed.
func TestFlowEditPausedReasoning(t *testing.T) {
	f := startEngineFlowWith(t, sessiontest.Script{Reason: func(int) int { return 1000 }, ConcludeAt: 3, SummaryWords: 3, Answer: "42"}.Policy())
	eng := f.eng
	f.waitFor("a summary is finished", func() bool { return finishedWithSummary(eng.Snapshot()) >= 1 })
	// Pause inside a reasoning (η is 64 tokens of reasoning for ~8 of summary: retry if the pause
	// lands in a summary).
	var paused session.Snapshot
	for try := 0; ; try++ {
		f.waitFor("some reasoning is in flight", func() bool {
			p := eng.Snapshot().Partial
			return p != nil && p.Part == session.PartReasoning && len(p.Reasoning) > 10
		})
		f.key("space")
		f.waitFor("the engine is paused", eng.Paused)
		f.waitScreen("paused")
		time.Sleep(20 * time.Millisecond) // a token already past the gate may land
		paused = eng.Snapshot()
		if p := paused.Partial; p != nil && p.Part == session.PartReasoning {
			break
		}
		if try == 10 {
			t.Fatal("never paused inside a reasoning")
		}
		f.key("space")
		f.waitFor("resumed", func() bool { return !eng.Paused() })
	}
	live := paused.Partial

	f.key("e")
	f.waitScreen("Edit summary")
	f.key("esc")
	f.waitScreen("edit canceled")

	f.key("tab") // the first tab selects the newest pane: the reasoning being written
	f.key("e")
	f.waitScreen(fmt.Sprintf("Edit reasoning %d", live.Index))
	f.tm.Type(" EDITED")
	f.key("ctrl+s")
	f.waitFor("the edit made branch 2", func() bool { return eng.Snapshot().Branch == 2 })
	want := strings.TrimSpace(live.Reasoning + " EDITED")
	if p := eng.Snapshot().Partial; p == nil || p.Reasoning != want || !eng.Paused() {
		t.Fatalf("after the edit: paused %v, partial %+v; want the paused reasoning %q", eng.Paused(), p, want)
	}
	f.waitScreen("reasoning of iteration")
	f.waitScreen("EDITED")

	f.key("space")
	f.waitFor("branch 2 concluded", func() bool { s := eng.Snapshot(); return s.Branch == 2 && s.Done })
	f.waitScreen("Answer: 42")
	f.key("q")
	final := f.tm.FinalModel(t, teatest.WithFinalTimeout(10*time.Second)).(probed).Model
	if it := final.trace.iter(live.Index); it == nil || !it.reasoningEdited || !strings.HasPrefix(it.reasoning.String(), want) {
		t.Fatalf("the view does not show the edited reasoning of iteration %d: %+v", live.Index, it)
	}

	runs, warnings, err := trajlog.ReadFile(f.log)
	if err != nil || len(warnings) > 0 || len(runs) != 1 || len(runs[0].Edits) != 1 {
		t.Fatalf("log: %v %v %+v", err, warnings, runs)
	}
	if e := runs[0].Edits[0]; e.Part != string(session.PartReasoning) || e.Iteration != live.Index || e.New != want || e.Old != live.Reasoning {
		t.Fatalf("logged edit %+v", e)
	}
	b2 := runs[0].Branch(2)
	if b2 == nil || len(b2.Iterations) < live.Index || !b2.Iterations[live.Index-1].Edited || !strings.HasPrefix(b2.Iterations[live.Index-1].Reasoning, want) {
		t.Fatalf("branch 2 does not continue from the edited reasoning: %+v", b2)
	}
}
