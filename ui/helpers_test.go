package ui

import (
	"bytes"
	"fmt"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/colorprofile"
	"github.com/infty-dev/infty/session"
	"github.com/infty-dev/infty/themes"
)

var t0 = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

// fakeRun records the controls the workbench used; it generates nothing.
type fakeRun struct {
	mu       sync.Mutex
	calls    []string
	branches []session.BranchInfo
	snaps    map[int]session.Snapshot
	editErr  error
}

func (f *fakeRun) record(s string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, s)
}

func (f *fakeRun) Calls() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.calls...)
}

func (f *fakeRun) Pause()  { f.record("pause") }
func (f *fakeRun) Resume() { f.record("resume") }
func (f *fakeRun) EditSummary(i int, text string) error {
	f.record(fmt.Sprintf("edit %d %q", i, text))
	return f.editErr
}
func (f *fakeRun) EditReasoning(text string) error {
	f.record(fmt.Sprintf("edit reasoning %q", text))
	return f.editErr
}
func (f *fakeRun) Branches() []session.BranchInfo { return f.branches }
func (f *fakeRun) SwitchBranch(id int) error {
	f.record(fmt.Sprintf("switch %d", id))
	return nil
}
func (f *fakeRun) BranchSnapshot(id int) (session.Snapshot, error) {
	s, ok := f.snaps[id]
	if !ok {
		return session.Snapshot{}, session.ErrNoBranch
	}
	return s, nil
}

var testInfo = Info{Model: "qwen2-tiny", Backend: "go", Device: "cpu", Eta: 64, Phi: 4}

// scripted is a three-iteration run: a boundary the model wrote, one the engine forced at η,
// and a conclusion with a verified answer.
func scripted() []session.Event {
	at := func(s float64) time.Time { return t0.Add(time.Duration(s * float64(time.Second))) }
	yes := true
	var evs []session.Event
	add := func(e session.Event, s float64) { e.Time = at(s); e.Branch = 1; evs = append(evs, e) }
	words := func(it int, part session.Part, text string, s float64) {
		for _, w := range strings.SplitAfter(text, " ") {
			add(session.Event{Type: session.EventDelta, Iteration: it, Part: part, Text: w}, s)
		}
	}
	add(session.Event{Type: session.EventIterationStart, Iteration: 1}, 0)
	words(1, session.PartReasoning, "We need 17 times 23. First 17 times 20 is 340, and 17 times 3 is 51.\n\nSo far the partial products are 340 and 51; their sum is next.", 1)
	add(session.Event{Type: session.EventStats, Iteration: 1, Tokens: 40, ReasoningTokens: 40, Seconds: 2, TokensPerSecond: 20}, 2)
	words(1, session.PartSummary, "* 17·20 = 340 and 17·3 = 51 were computed.", 2.2)
	add(session.Event{Type: session.EventSummary, Iteration: 1, Text: "* 17·20 = 340 and 17·3 = 51 were computed."}, 2.4)
	add(session.Event{Type: session.EventIterationEnd, Iteration: 1, Tokens: 52, Seconds: 2.5}, 2.5)
	add(session.Event{Type: session.EventIterationStart, Iteration: 2, Text: "* 17·20 = 340 and 17·3 = 51 were computed."}, 2.5)
	words(2, session.PartReasoning, "Adding 340 and 51 gives 391. Let me double check by another route: 23 times 17 is 23 times 10 plus 23 times 7, which is 230 plus 161, also 391.", 3)
	add(session.Event{Type: session.EventStats, Iteration: 2, Tokens: 64, ReasoningTokens: 64, Seconds: 3, TokensPerSecond: 21.3}, 5.5)
	words(2, session.PartSummary, "* The product 17·23 = 391, checked two ways.", 5.6)
	add(session.Event{Type: session.EventSummary, Iteration: 2, Forced: true, Text: "* The product 17·23 = 391, checked two ways."}, 5.8)
	add(session.Event{Type: session.EventIterationEnd, Iteration: 2, Forced: true, Tokens: 75, Seconds: 3.4}, 5.9)
	add(session.Event{Type: session.EventIterationStart, Iteration: 3, Text: "* The product 17·23 = 391, checked two ways."}, 5.9)
	words(3, session.PartReasoning, "The history already holds the verified product.", 6)
	add(session.Event{Type: session.EventStats, Iteration: 3, Tokens: 12, ReasoningTokens: 12, Seconds: 0.5, TokensPerSecond: 24}, 6.4)
	words(3, session.PartConclusion, "The answer is \\boxed{391}.", 6.5)
	add(session.Event{Type: session.EventIterationEnd, Iteration: 3, Tokens: 20, Seconds: 1}, 6.9)
	add(session.Event{Type: session.EventAnswer, Text: "391", Correct: &yes}, 6.9)
	add(session.Event{Type: session.EventDone, Iterations: 3, Tokens: 147, Seconds: 7}, 7)
	return evs
}

// newTestModel is a workbench at a fixed size with no clock, fed by hand.
func newTestModel(w, h int) (*Model, *fakeRun) {
	run := &fakeRun{}
	m := New(Options{Theme: themes.Dark(), Question: "What is 17 × 23?", Info: testInfo, Coalesce: -1, NoTick: true})
	m.Update(tea.WindowSizeMsg{Width: w, Height: h})
	m.Update(startedMsg{Started{Run: run, Info: testInfo}})
	return m, run
}

func feed(m *Model, evs ...session.Event) {
	m.Update(eventsMsg{events: evs})
}

// plain renders the view as a terminal without color would show it.
func plain(tb testing.TB, m *Model) string {
	tb.Helper()
	var buf bytes.Buffer
	w := &colorprofile.Writer{Forward: &buf, Profile: colorprofile.NoTTY}
	if _, err := w.Write([]byte(m.View().Content)); err != nil {
		tb.Fatal(err)
	}
	return buf.String()
}

// press sends keys and carries out the commands they return, as the program would (commands
// that do not answer within a moment, like cursor blinks and stream reads, are dropped).
func press(m *Model, keys ...string) {
	for _, k := range keys {
		_, cmd := m.Update(keyMsg(k))
		execCmd(m, cmd)
	}
}

func execCmd(m *Model, cmd tea.Cmd) {
	if cmd == nil {
		return
	}
	ch := make(chan tea.Msg, 1)
	go func() { ch <- cmd() }()
	var msg tea.Msg
	select {
	case msg = <-ch:
	case <-time.After(50 * time.Millisecond):
		return
	}
	switch msg := msg.(type) {
	case nil:
	case tea.BatchMsg:
		for _, c := range msg {
			execCmd(m, c)
		}
	default:
		if v := reflect.ValueOf(msg); v.Kind() == reflect.Slice && v.Type().Elem() == reflect.TypeOf(tea.Cmd(nil)) {
			for i := 0; i < v.Len(); i++ { // tea.Sequence
				execCmd(m, v.Index(i).Interface().(tea.Cmd))
			}
			return
		}
		_, next := m.Update(msg)
		execCmd(m, next)
	}
}

// keyMsg builds the key press a terminal would send for a key name.
func keyMsg(k string) tea.KeyPressMsg {
	switch k {
	case "space":
		return tea.KeyPressMsg{Code: tea.KeySpace, Text: " "}
	case "enter":
		return tea.KeyPressMsg{Code: tea.KeyEnter}
	case "tab":
		return tea.KeyPressMsg{Code: tea.KeyTab}
	case "shift+tab":
		return tea.KeyPressMsg{Code: tea.KeyTab, Mod: tea.ModShift}
	case "esc":
		return tea.KeyPressMsg{Code: tea.KeyEscape}
	case "ctrl+s":
		return tea.KeyPressMsg{Code: 's', Mod: tea.ModCtrl}
	case "ctrl+c":
		return tea.KeyPressMsg{Code: 'c', Mod: tea.ModCtrl}
	case "up":
		return tea.KeyPressMsg{Code: tea.KeyUp}
	case "down":
		return tea.KeyPressMsg{Code: tea.KeyDown}
	case "end":
		return tea.KeyPressMsg{Code: tea.KeyEnd}
	}
	r := []rune(k)
	return tea.KeyPressMsg{Code: r[0], Text: k}
}
