package ui

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"
	"github.com/infty-dev/infty/session"
	"github.com/infty-dev/infty/session/trajlog"
	"github.com/infty-dev/infty/themes"
)

// The editor opens with the cursor at the end of the summary: typing extends it.
func TestEditorCursorAtEnd(t *testing.T) {
	m, _ := newTestModel(90, 30)
	feed(m, untilIteration(2, 3)...)
	press(m, "e", "!")
	if got := m.editor.Value(); !strings.HasSuffix(got, "computed.!") {
		t.Fatalf("typing did not go to the end of the summary: %q", got)
	}
}

// A paused iteration already writing its summary offers no reasoning edit, and text that could
// not be applied comes back in the editor instead of being lost.
func TestEditNeverDiscardsText(t *testing.T) {
	m, run := newTestModel(90, 30)
	feed(m, untilIteration(2, 3)...)
	feed(m, session.Event{Type: session.EventDelta, Iteration: 2, Part: session.PartReasoning, Text: "Adding. "},
		session.Event{Type: session.EventDelta, Iteration: 2, Part: session.PartSummary, Text: "* so far"},
		session.Event{Type: session.EventPaused, Iteration: 2})
	for i, p := range m.trace.panes { // select iteration 2's reasoning pane by hand
		if p.kind == paneReasoning && p.it.index == 2 {
			m.trace.selected, m.trace.autoSel = i, false
		}
	}
	if p := m.trace.panes[m.trace.selected]; p.kind != paneReasoning || p.it.index != 2 {
		t.Fatalf("selected %v of iteration %d", p.kind, p.it.index)
	}
	press(m, "e")
	if m.mode == modeEdit && m.editPart == session.PartReasoning {
		t.Fatal("the editor opened on reasoning that can no longer be edited")
	}
	if !strings.Contains(plain(t, m), "past its reasoning") {
		t.Fatalf("no word on why:\n%s", plain(t, m))
	}

	run.editErr = errors.New("the run moved on")
	m.mode = modeTrace
	m.trace.autoSel = true
	press(m, "e", "X", "ctrl+s")
	if m.mode != modeEdit || !strings.HasSuffix(m.editor.Value(), "X") || !strings.Contains(plain(t, m), "the run moved on") {
		t.Fatalf("a failed edit lost the text: mode %v, editor %q\n%s", m.mode, m.editor.Value(), plain(t, m))
	}
}

// While paused, the live pane says so; η counts reasoning tokens from the stream; the clock
// stops when the run is done.
func TestStatusLive(t *testing.T) {
	m, _ := newTestModel(120, 30)
	feed(m, untilIteration(2, 2)...)
	feed(m, session.Event{Type: session.EventStats, Iteration: 2, Tokens: 9, ReasoningTokens: 7, TokensPerSecond: 30, Seconds: 0.3},
		session.Event{Type: session.EventPaused, Iteration: 2})
	out := plain(t, m)
	if !strings.Contains(out, "η 7/64") || !strings.Contains(out, "30.0 tok/s") || !strings.Contains(out, "Σ 61 tok") {
		t.Errorf("the status bar does not follow the stream:\n%s", out)
	}
	if !strings.Contains(out, "tok/s · paused") || strings.Contains(out, "writing…") {
		t.Errorf("the live pane does not say paused:\n%s", out)
	}
	feed(m, scripted()[len(untilIteration(2, 2)):]...)
	done := plain(t, m)
	m.Update(tickMsg(t0.Add(time.Hour)))
	if after := plain(t, m); after != done {
		t.Errorf("the clock ran on after done:\n%s\n%s", done, after)
	}
}

// After a run could not start, enter goes back to the question; the prompt's hint names only
// the keys that work there.
func TestBackToQuestionAfterFailedStart(t *testing.T) {
	m := New(Options{Theme: themes.Dark(), Info: testInfo, Coalesce: -1, NoTick: true,
		Start: func(string) (Started, error) {
			return Started{}, errors.New("model folder /tmp/Newcomer/m-trunc/config.json: invalid JSON at offset 12345, the file was cut short while it was being written")
		}})
	m.Update(tea.WindowSizeMsg{Width: 80, Height: 24})
	hint := strings.Split(strings.TrimRight(plain(t, m), "\n"), "\n")
	if bar := hint[len(hint)-2]; strings.Contains(bar, "space") || strings.Contains(bar, "branches") || !strings.Contains(bar, "enter") {
		t.Errorf("the question screen's hint lists keys that do nothing there: %q", bar)
	}
	m.prompt.SetValue("What is 2+2?")
	press(m, "enter")
	out := plain(t, m)
	if !strings.Contains(out, "being written") || !strings.Contains(out, "back to the question") {
		t.Fatalf("the error is cut or there is no way back:\n%s", out)
	}
	press(m, "enter")
	if m.mode != modePrompt || m.prompt.Value() != "What is 2+2?" || m.Err() != nil {
		t.Fatalf("not back at the question: mode %v, prompt %q, err %v", m.mode, m.prompt.Value(), m.Err())
	}
}

// At 80 columns the help screen shows every key whole.
func TestHelpFitsNarrow(t *testing.T) {
	m, _ := newTestModel(80, 24)
	press(m, "?")
	out := plain(t, m)
	for _, want := range []string{"G/end", "bottom, follow", "pgdn", "shift+tab", "select previous pane"} {
		if !strings.Contains(out, want) {
			t.Errorf("the help screen lacks %q:\n%s", want, out)
		}
	}
}

// ctrl+c ends either program as interrupted, q as finished.
func TestCtrlCIsInterrupted(t *testing.T) {
	m, _ := newTestModel(80, 24)
	press(m, "ctrl+c")
	if !errors.Is(m.Err(), ErrInterrupted) {
		t.Errorf("workbench: %v", m.Err())
	}
	m, _ = newTestModel(80, 24)
	press(m, "q")
	if m.Err() != nil {
		t.Errorf("q: %v", m.Err())
	}
	in, _ := newTestInspector(t, 80, 24)
	inspKeys(in, "ctrl+c")
	if !errors.Is(in.Err(), ErrInterrupted) {
		t.Errorf("inspector: %v", in.Err())
	}
}

// A run whose first branches verified and whose last did not shows each verdict and stays
// under the "correct" filter.
func TestInspectorVerdictPerBranch(t *testing.T) {
	yes, no := true, false
	r := &trajlog.Run{ID: "r1", Question: "What is six times seven?", Current: 3, Branches: []*trajlog.Branch{
		{ID: 1, Done: true, Answer: "42", Correct: &yes},
		{ID: 2, Parent: 1, Done: true, Answer: "42", Correct: &yes},
		{ID: 3, Parent: 2, Done: true, Answer: "41", Correct: &no},
	}}
	in := NewInspector(InspectOptions{Theme: themes.Dark(), Path: "runs.jsonl", Runs: []*trajlog.Run{r}})
	in.Update(tea.WindowSizeMsg{Width: 100, Height: 24})
	inspKeys(in, "c")
	out := plainInspector(t, in)
	if !strings.Contains(out, "six times seven") || !strings.Contains(out, "✓✓✗") {
		t.Fatalf("the run is hidden or judged by its last branch:\n%s", out)
	}
}

// x asks before it overwrites a file: the first enter writes nothing, the second replaces it.
func TestInspectorExportAsksBeforeOverwriting(t *testing.T) {
	in, _ := newTestInspector(t, 100, 24)
	path := filepath.Join(t.TempDir(), "keep.jsonl")
	if err := os.WriteFile(path, []byte("precious\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	inspKeys(in, "x")
	in.exportIn.SetValue(path)
	enter := func() {
		cmd := inspKeys(in, "enter")
		for cmd != nil {
			msg := cmd()
			if _, ok := msg.(exportedMsg); !ok {
				return
			}
			_, cmd = in.Update(msg)
		}
	}
	enter()
	if b, _ := os.ReadFile(path); string(b) != "precious\n" || !strings.Contains(plainInspector(t, in), "exists") {
		t.Fatalf("overwrote without asking (file %q):\n%s", b, plainInspector(t, in))
	}
	enter()
	if b, _ := os.ReadFile(path); string(b) == "precious\n" {
		t.Fatalf("a confirmed overwrite wrote nothing:\n%s", plainInspector(t, in))
	}
}

// Switching to an unfinished branch says that it waits paused for space.
func TestSwitchToUnfinishedBranchSaysPaused(t *testing.T) {
	m, run := newTestModel(100, 24)
	feed(m, scripted()...)
	run.branches = []session.BranchInfo{
		{ID: 1, Iterations: 1, Current: false},
		{ID: 2, Parent: 1, Fork: 1, Reason: "edit summary", Iterations: 3, Done: true, Current: true},
	}
	press(m, "b", "up", "enter")
	if out := plain(t, m); !strings.Contains(out, "switched to branch 1 (unfinished: paused, space goes on") {
		t.Fatalf("no word that the branch waits for space:\n%s", out)
	}
}
