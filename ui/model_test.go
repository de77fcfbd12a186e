package ui

import (
	"strings"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/x/exp/golden"
	"github.com/infty-dev/infty/session"
)

// untilIteration returns the events of the scripted run before iteration k starts, plus extra.
func untilIteration(k, extra int) []session.Event {
	evs := scripted()
	for i, ev := range evs {
		if ev.Type == session.EventIterationStart && ev.Iteration == k {
			return evs[:min(len(evs), i+extra)]
		}
	}
	return evs
}

func TestEditFlowCallsEngineAndShowsOriginal(t *testing.T) {
	m, run := newTestModel(90, 30)
	feed(m, untilIteration(2, 3)...)
	press(m, "space")
	feed(m, session.Event{Type: session.EventPaused, Iteration: 2})
	if !strings.Contains(plain(t, m), "paused") {
		t.Fatal("no paused on screen")
	}
	press(m, "e")
	if m.mode != modeEdit || m.editIter != 1 {
		t.Fatalf("mode %v editing %d, want the editor on summary 1", m.mode, m.editIter)
	}
	if got := m.editor.Value(); got != "* 17·20 = 340 and 17·3 = 51 were computed." {
		t.Fatalf("editor not pre-filled with the summary: %q", got)
	}
	m.editor.SetValue("* 17·23 = 391 (edited by hand).")
	press(m, "ctrl+s")
	want := []string{"pause", `edit 1 "* 17·23 = 391 (edited by hand)."`}
	if got := run.Calls(); strings.Join(got, "|") != strings.Join(want, "|") {
		t.Fatalf("controls %q, want %q (a manual pause is not resumed by the editor)", got, want)
	}
	// The engine answers with the edit event on a new branch; later iterations go away.
	feed(m, session.Event{Type: session.EventEdit, Iteration: 1, Part: session.PartSummary, Text: "* 17·23 = 391 (edited by hand).",
		Original: "* 17·20 = 340 and 17·3 = 51 were computed.", Branch: 2})
	if n := len(m.trace.its); n != 1 {
		t.Fatalf("%d iterations after editing summary 1, want 1", n)
	}
	golden.RequireEqual(t, plain(t, m))
}

func TestEditCancelAndAutoPause(t *testing.T) {
	m, run := newTestModel(80, 24)
	feed(m, untilIteration(2, 3)...)
	press(m, "e") // running: the editor holds the run
	press(m, "esc")
	if m.mode != modeTrace {
		t.Fatal("esc did not close the editor")
	}
	if got := strings.Join(run.Calls(), "|"); got != "pause|resume" {
		t.Fatalf("controls %q, want pause|resume and no edit", got)
	}
}

func TestEditWithoutSummary(t *testing.T) {
	m, run := newTestModel(80, 24)
	feed(m, scripted()[:5]...)
	press(m, "e")
	if m.mode != modeTrace || len(run.Calls()) != 0 {
		t.Fatal("the editor opened with no finished summary")
	}
	if !strings.Contains(plain(t, m), "no finished summary") {
		t.Fatal("no explanation shown")
	}
}

func TestSelectionFoldAndEditSelected(t *testing.T) {
	m, _ := newTestModel(80, 40)
	evs := scripted()
	feed(m, evs...)
	// panes: it1, sum1, it2, sum2, it3, conclusion. shift+tab from the last goes back.
	press(m, "shift+tab", "shift+tab", "shift+tab", "shift+tab", "shift+tab")
	if m.trace.selected != 0 {
		t.Fatalf("selected pane %d, want 0", m.trace.selected)
	}
	press(m, "tab")
	if m.trace.selected != 1 {
		t.Fatalf("tab selected %d, want 1", m.trace.selected)
	}
	press(m, "enter") // fold summary 1
	if !m.trace.panes[1].collapsed {
		t.Fatal("enter did not fold the selected pane")
	}
	golden.RequireEqual(t, plain(t, m))
	press(m, "enter")
	if m.trace.panes[1].collapsed {
		t.Fatal("enter did not unfold")
	}
	press(m, "tab", "tab") // summary 2
	press(m, "e")
	if m.editIter != 2 {
		t.Fatalf("e edits summary %d, want the selected summary 2", m.editIter)
	}
	press(m, "tab") // typed into the editor, not a selection move
	if m.trace.selected != 3 {
		t.Fatal("keys reached the trace while editing")
	}
}

func TestFoldHidesLines(t *testing.T) {
	m, _ := newTestModel(60, 30)
	long := strings.Repeat("A line of careful reasoning about the product.\n", 12)
	feed(m,
		session.Event{Type: session.EventIterationStart, Iteration: 1, Time: t0},
		session.Event{Type: session.EventDelta, Iteration: 1, Part: session.PartReasoning, Text: long},
		session.Event{Type: session.EventSummary, Iteration: 1, Text: "* short"},
		session.Event{Type: session.EventIterationEnd, Iteration: 1, Tokens: 99, Seconds: 3},
	)
	out := plain(t, m)
	if !strings.Contains(out, "… 9 more lines hidden") {
		t.Fatalf("a folded pane does not say how many lines are hidden:\n%s", out)
	}
	golden.RequireEqual(t, out)
}

func TestFollowAndScroll(t *testing.T) {
	m, _ := newTestModel(60, 12)
	feed(m, scripted()[:3]...)
	para := "word word word word word word word word word word word word\n"
	for i := 0; i < 20; i++ {
		feed(m, session.Event{Type: session.EventDelta, Iteration: 1, Part: session.PartReasoning, Text: para})
	}
	if !m.trace.follow || m.trace.offset != m.trace.maxOffset() {
		t.Fatal("the view does not follow the stream")
	}
	press(m, "up", "up")
	off := m.trace.offset
	if m.trace.follow {
		t.Fatal("scrolling up kept following")
	}
	feed(m, session.Event{Type: session.EventDelta, Iteration: 1, Part: session.PartReasoning, Text: para + para})
	if m.trace.offset != off {
		t.Fatal("new text moved a view the person scrolled away")
	}
	m.Update(tea.MouseWheelMsg{Button: tea.MouseWheelDown})
	m.Update(tea.MouseWheelMsg{Button: tea.MouseWheelDown})
	if !m.trace.follow {
		t.Fatal("scrolling back to the bottom did not resume following")
	}
	m.Update(tea.MouseWheelMsg{Button: tea.MouseWheelUp})
	if m.trace.follow || m.trace.offset != m.trace.maxOffset()-3 {
		t.Fatal("the mouse wheel does not scroll")
	}
	press(m, "end")
	if !m.trace.follow {
		t.Fatal("end does not return to following")
	}
}

func TestResizeReflows(t *testing.T) {
	m, _ := newTestModel(100, 30)
	feed(m, scripted()...)
	wide := m.trace.totalHeight()
	m.Update(tea.WindowSizeMsg{Width: 44, Height: 30})
	if m.trace.totalHeight() <= wide {
		t.Fatal("a narrower window did not reflow into more lines")
	}
	for _, l := range strings.Split(plain(t, m), "\n") {
		if w := len([]rune(l)); w > 44 {
			t.Fatalf("line wider than the window: %q", l)
		}
	}
}

func TestBranchSwitch(t *testing.T) {
	m, run := newTestModel(80, 24)
	feed(m, scripted()...)
	yes := true
	run.branches = []session.BranchInfo{
		{ID: 1, Iterations: 3, Done: true, Answer: "391", Correct: &yes},
		{ID: 2, Parent: 1, Fork: 1, Reason: "edit summary", Iterations: 1, Current: true},
	}
	run.snaps = map[int]session.Snapshot{2: {Branch: 2, Iterations: []session.Iteration{
		{Index: 1, Reasoning: "Edited branch reasoning.", Summary: "* an edited summary", Edited: true, Original: "* what the model wrote", Tokens: 9, Seconds: 1},
	}, Paused: true}}
	press(m, "b")
	if m.mode != modeBranches {
		t.Fatal("b did not open the branch list")
	}
	out := plain(t, m)
	if !strings.Contains(out, "branch 2  from 1 at iteration 1") {
		t.Fatalf("branch list:\n%s", out)
	}
	press(m, "up", "enter")
	if got := run.Calls(); len(got) != 1 || got[0] != "switch 1" {
		t.Fatalf("controls %q, want switch 1", got)
	}
	// The engine's branch event arrives with the snapshot the reader took.
	m.Update(eventsMsg{events: []session.Event{{Type: session.EventBranch, Branch: 2, Parent: 1}}, snaps: map[int]session.Snapshot{0: run.snaps[2]}})
	if len(m.trace.its) != 1 || m.trace.its[0].summary.String() != "* an edited summary" || m.status.state != statePaused {
		t.Fatal("the branch snapshot was not shown")
	}
	// The snapshot says what the edit replaced; the view shows that, not what it had on screen.
	if out := plain(t, m); !strings.Contains(out, "* what the model wrote") {
		t.Fatalf("the edited summary is not beside the original the snapshot holds:\n%s", out)
	}
}

func TestHelpAndQuit(t *testing.T) {
	m, _ := newTestModel(80, 24)
	press(m, "?")
	if !strings.Contains(plain(t, m), "fold / unfold pane") {
		t.Fatal("? shows no full help")
	}
	press(m, "esc")
	for _, k := range []string{"q", "ctrl+c"} {
		_, cmd := m.Update(keyMsg(k))
		if cmd == nil {
			t.Fatalf("%s does nothing", k)
		}
		if _, ok := cmd().(tea.QuitMsg); !ok {
			t.Fatalf("%s does not quit", k)
		}
	}
}

func TestPromptStartsRun(t *testing.T) {
	var asked string
	run := &fakeRun{}
	m := New(Options{Coalesce: -1, NoTick: true, Start: func(q string) (Started, error) {
		asked = q
		ch := make(chan session.Event)
		close(ch)
		return Started{Run: run, Events: ch, Info: testInfo}, nil
	}})
	m.Update(tea.WindowSizeMsg{Width: 80, Height: 24})
	if !strings.Contains(plain(t, m), "Ask a question") {
		t.Fatal("no question prompt")
	}
	for _, r := range "2+2?" {
		m.Update(tea.KeyPressMsg{Code: r, Text: string(r)})
	}
	_, cmd := m.Update(keyMsg("enter"))
	msg := cmd()
	if asked != "2+2?" {
		t.Fatalf("started %q", asked)
	}
	m.Update(msg)
	if m.status.state != stateRunning || m.Question() != "2+2?" {
		t.Fatal("the run did not start")
	}
}

// A suggested question fills the prompt: Enter sends it as it is, and it can be edited first.
func TestPromptSuggestion(t *testing.T) {
	var asked string
	m := New(Options{Coalesce: -1, NoTick: true, Suggestion: "a=4 d=3", Start: func(q string) (Started, error) {
		asked = q
		ch := make(chan session.Event)
		close(ch)
		return Started{Run: &fakeRun{}, Events: ch, Info: testInfo}, nil
	}})
	m.Update(tea.WindowSizeMsg{Width: 80, Height: 24})
	if !strings.Contains(plain(t, m), "a=4 d=3") {
		t.Fatal("the suggestion is not in the prompt")
	}
	m.Update(keyMsg("backspace"))
	m.Update(tea.KeyPressMsg{Code: '9', Text: "9"})
	_, cmd := m.Update(keyMsg("enter"))
	cmd()
	if asked != "a=4 d=9" {
		t.Fatalf("started %q", asked)
	}
}

func TestStartErrorShown(t *testing.T) {
	m := New(Options{Question: "q", Coalesce: -1, NoTick: true, Start: func(string) (Started, error) {
		return Started{}, errTest
	}})
	m.Update(tea.WindowSizeMsg{Width: 80, Height: 24})
	m.Update(m.startCmd("q")())
	if !strings.Contains(plain(t, m), "could not start: boom") || m.Err() == nil {
		t.Fatal("a start error is not shown")
	}
}

var errTest = errorString("boom")

type errorString string

func (e errorString) Error() string { return string(e) }

// Events that arrive together are read as one batch (one update, one view), and a branch event
// carries the snapshot of the branch it names.
func TestReadEventsCoalesces(t *testing.T) {
	ch := make(chan session.Event, 200)
	for i := 0; i < 150; i++ {
		ch <- session.Event{Type: session.EventDelta, Iteration: 1, Part: session.PartReasoning, Text: "x "}
	}
	ch <- session.Event{Type: session.EventBranch, Branch: 3}
	run := &fakeRun{snaps: map[int]session.Snapshot{3: {Branch: 3}}}
	msg := readEvents(ch, run, 30*time.Millisecond)().(eventsMsg)
	if len(msg.events) != 151 || msg.closed {
		t.Fatalf("one read gathered %d events (closed %v), want all 151", len(msg.events), msg.closed)
	}
	if msg.snaps[150].Branch != 3 {
		t.Fatal("the branch event came without its snapshot")
	}
	close(ch)
	if msg := readEvents(ch, run, 30*time.Millisecond)().(eventsMsg); !msg.closed || len(msg.events) != 0 {
		t.Fatal("a closed stream is not reported")
	}
}

// `e` edits the in-flight reasoning only when the run is paused and its pane was selected by hand;
// otherwise it keeps editing the latest summary.
func TestEditPausedReasoningSelected(t *testing.T) {
	m, run := newTestModel(90, 30)
	feed(m, untilIteration(2, 3)...)
	press(m, "tab") // selects the newest pane: iteration 2's reasoning, being written
	press(m, "e")   // running: the summary, as by default
	if m.mode != modeEdit || m.editPart != session.PartSummary || m.editIter != 1 {
		t.Fatalf("running: editing %s %d, want summary 1", m.editPart, m.editIter)
	}
	press(m, "esc")
	feed(m, session.Event{Type: session.EventPaused, Iteration: 2})
	press(m, "e")
	if m.editPart != session.PartReasoning || m.editIter != 2 || m.editor.Value() != m.trace.iter(2).reasoning.String() {
		t.Fatalf("paused with the reasoning selected: editing %s %d %q", m.editPart, m.editIter, m.editor.Value())
	}
	if !strings.Contains(plain(t, m), "Edit reasoning 2") {
		t.Fatalf("the editor does not say it edits the reasoning:\n%s", plain(t, m))
	}
	m.editor.SetValue("Adding 340 and 51 gives 392.")
	press(m, "ctrl+s")
	calls := run.Calls()
	if last := calls[len(calls)-1]; last != `edit reasoning "Adding 340 and 51 gives 392."` {
		t.Fatalf("controls %q", calls)
	}
	if !strings.Contains(plain(t, m), "reasoning of iteration 2 edited") {
		t.Fatal("no word of the edit")
	}
	feed(m, session.Event{Type: session.EventEdit, Iteration: 2, Part: session.PartReasoning, Text: "Adding 340 and 51 gives 392.", Branch: 2},
		session.Event{Type: session.EventDelta, Iteration: 2, Part: session.PartReasoning, Text: " Hmm."})
	if got := m.trace.iter(2).reasoning.String(); got != "Adding 340 and 51 gives 392. Hmm." || !m.trace.iter(2).reasoningEdited {
		t.Fatalf("reasoning on screen %q", got)
	}
	// A branch whose iteration is in flight (the edit's new branch, read from its snapshot) shows
	// that iteration, and the status bar counts it.
	it1 := session.Iteration{Index: 1, Reasoning: "r", Summary: "s"}
	feed2 := eventsMsg{events: []session.Event{{Type: session.EventBranch, Branch: 2, Parent: 1, Iteration: 2}},
		snaps: map[int]session.Snapshot{0: {Branch: 2, Paused: true, Iterations: []session.Iteration{it1},
			Partial: &session.Partial{Index: 2, History: "s", Reasoning: "Adding 340 and 51 gives 392.", Part: session.PartReasoning}}}}
	m.Update(feed2)
	if it := m.trace.iter(2); it == nil || it.reasoning.String() != "Adding 340 and 51 gives 392." || m.status.iteration != 2 || m.status.state != statePaused {
		t.Fatalf("branch snapshot with a partial iteration: %+v, status iteration %d", it, m.status.iteration)
	}

	// With the default selection `e` still edits the latest summary while paused.
	m2, _ := newTestModel(90, 30)
	feed(m2, untilIteration(2, 3)...)
	feed(m2, session.Event{Type: session.EventPaused, Iteration: 2})
	press(m2, "e")
	if m2.editPart != session.PartSummary || m2.editIter != 1 {
		t.Fatalf("default selection, paused: editing %s %d, want summary 1", m2.editPart, m2.editIter)
	}
}
