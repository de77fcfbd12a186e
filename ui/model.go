// Package ui is infty's terminal front end: one Bubble Tea program over the session engine's
// event stream. The top-level models (the workbench here, the log inspector in inspect.go) own
// the Update loop; the components they are made of (the trace of panes, the status bar, the
// branch list) render and expose methods but handle no messages themselves. Nothing in Update
// does I/O: starting a run, pausing, editing, switching branches and writing an export are
// commands. Keys are bound in one key map grouped by screen (keys.go): Update matches keys only
// through it, and the hints and help screens render from it. The views render the session's
// state as it gives it (an edited summary's original comes with the edit), rebuilding none of
// it. Styles come from the themes package.
package ui

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"charm.land/bubbles/v2/help"
	"charm.land/bubbles/v2/key"
	"charm.land/bubbles/v2/textarea"
	"charm.land/bubbles/v2/textinput"
	tea "charm.land/bubbletea/v2"
	"charm.land/lipgloss/v2"
	"github.com/infty-dev/infty/session"
	"github.com/infty-dev/infty/themes"
)

// Minimum window size; below it the workbench says so instead of drawing a broken layout.
const (
	MinWidth  = 40
	MinHeight = 10
)

type mode int

const (
	modePrompt mode = iota
	modeTrace
	modeEdit
	modeBranches
	modeHelp
)

// Options configure the workbench.
type Options struct {
	Theme    themes.Theme
	Question string // empty: ask for one
	// Suggestion fills the prompt when the workbench asks for a question, ready to send as it is
	// or to edit (the embedded model's suggestion is a fresh problem of the task it was trained on).
	Suggestion string
	Start      StartFunc // starts the run of a question
	Info       Info      // what is known before the run starts (model, device, budgets)
	// Coalesce is how long streamed events are gathered before a redraw (DefaultCoalesce when 0;
	// negative: no gathering, for tests that step event by event).
	Coalesce time.Duration
	// NoTick turns off the once-a-second clock that advances the elapsed time (golden tests).
	NoTick bool
}

// Model is the workbench.
type Model struct {
	opts   Options
	th     *themes.Theme
	keys   keyMap
	help   help.Model
	mode   mode
	width  int
	height int

	question string
	prompt   textinput.Model
	editor   textarea.Model
	editIter int
	editPart session.Part // what the editor edits: the summary of editIter or the paused reasoning
	editErr  string       // why the text in the editor was not applied
	// autoPaused: the editor paused the run, so leaving the editor resumes it.
	autoPaused bool

	run    Run
	events <-chan session.Event
	trace  *trace
	status statusBar
	start  time.Time // time of the first event
	now    time.Time
	flash  string
	err    error

	interrupted bool // ended by ctrl+c

	branches    []session.BranchInfo
	branchSel   int
	totalBefore int // tokens of the finished iterations on screen

	title, titleLine, hint string
	hintW                  int
}

// New makes the workbench.
func New(opts Options) *Model {
	th := opts.Theme
	if th.Name == "" {
		th = themes.Plain()
	}
	if opts.Coalesce == 0 {
		opts.Coalesce = DefaultCoalesce
	}
	m := &Model{opts: opts, th: &th, keys: defaultKeys()}
	m.help = newHelp(m.th)
	m.trace = newTrace(m.th)
	m.status.info = opts.Info
	m.question = strings.TrimSpace(opts.Question)

	m.prompt = textinput.New()
	m.prompt.Placeholder = "a question for the model"
	m.prompt.Prompt = "❯ "
	m.editor = textarea.New()
	m.editor.ShowLineNumbers = false
	m.editor.CharLimit = 0
	m.editor.MaxHeight = 0
	if m.question == "" {
		m.prompt.SetValue(opts.Suggestion)
		m.prompt.CursorEnd()
		m.prompt.Focus()
		m.mode = modePrompt
		m.status.state = stateIdle
	} else {
		m.mode = modeTrace
		m.status.state = stateStarting
	}
	return m
}

// Init starts the run when the question is known, or focuses the prompt.
func (m *Model) Init() tea.Cmd {
	var cmds []tea.Cmd
	if m.mode == modePrompt {
		cmds = append(cmds, m.prompt.Focus())
	} else {
		cmds = append(cmds, m.startCmd(m.question))
	}
	if !m.opts.NoTick {
		cmds = append(cmds, tick())
	}
	return tea.Batch(cmds...)
}

func (m *Model) startCmd(q string) tea.Cmd {
	start := m.opts.Start
	return func() tea.Msg {
		if start == nil {
			return startErrMsg{errors.New("no model to run the question with")}
		}
		s, err := start(q)
		if err != nil {
			return startErrMsg{err}
		}
		return startedMsg{s}
	}
}

// Update handles one message.
func (m *Model) Update(msg tea.Msg) (tea.Model, tea.Cmd) {
	switch msg := msg.(type) {
	case tea.WindowSizeMsg:
		m.resize(msg.Width, msg.Height)
		return m, nil
	case startedMsg:
		m.run, m.events = msg.s.Run, msg.s.Events
		if msg.s.Info != (Info{}) {
			m.status.info = msg.s.Info
		}
		m.status.state = stateRunning
		return m, readEvents(m.events, m.run, m.opts.Coalesce)
	case startErrMsg:
		m.err = msg.err
		m.status.state = stateFailed
		m.trace.reason = "could not start: " + msg.err.Error()
		m.trace.dirty = true
		return m, nil
	case eventsMsg:
		for i, ev := range msg.events {
			m.apply(ev, msg.snaps[i])
		}
		m.trace.clamp()
		if msg.closed {
			// The engine closed its stream: nothing more will come.
			if m.status.state == stateRunning || m.status.state == statePaused {
				m.status.state = stateDone
			}
			return m, nil
		}
		return m, readEvents(m.events, m.run, m.opts.Coalesce)
	case tickMsg:
		// The clock runs while a run is under way and stops when it ends.
		if s := m.status.state; s == stateStarting || s == stateRunning || s == statePaused {
			m.now = time.Time(msg)
		}
		return m, tick()
	case flashMsg:
		m.flash = msg.text
		return m, nil
	case editDoneMsg:
		switch {
		case msg.err != nil:
			// The typed text is never thrown away: the editor comes back with it and the reason.
			m.editErr = "not applied: " + msg.err.Error()
			m.editIter, m.editPart = msg.iteration, msg.part
			m.editor.SetValue(msg.text)
			m.editor.MoveToEnd()
			m.mode = modeEdit
			m.layoutEditor()
			return m, m.editor.Focus()
		case msg.part == session.PartReasoning:
			m.flash = fmt.Sprintf("reasoning of iteration %d edited; it goes on from there on a new branch when resumed", m.editIter)
		default:
			m.flash = fmt.Sprintf("summary %d edited; the run goes on from it on a new branch", m.editIter)
		}
		return m, nil
	case branchesMsg:
		m.branches = msg.list
		m.branchSel = 0
		for i, b := range m.branches {
			if b.Current {
				m.branchSel = i
			}
		}
		m.mode = modeBranches
		return m, nil
	case tea.MouseWheelMsg:
		if m.mode == modeTrace {
			switch msg.Mouse().Button {
			case tea.MouseWheelUp:
				m.trace.scroll(-3)
			case tea.MouseWheelDown:
				m.trace.scroll(3)
			}
		}
		return m, nil
	case tea.PasteMsg:
		return m.updateInput(msg)
	case tea.KeyPressMsg:
		return m.handleKey(msg)
	}
	return m.updateInput(msg)
}

// updateInput passes other messages (cursor blinks, pastes) to the focused input.
func (m *Model) updateInput(msg tea.Msg) (tea.Model, tea.Cmd) {
	var cmd tea.Cmd
	switch m.mode {
	case modePrompt:
		m.prompt, cmd = m.prompt.Update(msg)
	case modeEdit:
		m.editor, cmd = m.editor.Update(msg)
	}
	return m, cmd
}

// handleKey routes a key press to the screen on top.
func (m *Model) handleKey(msg tea.KeyPressMsg) (tea.Model, tea.Cmd) {
	if m.keys.quits(msg, m.mode == modePrompt || m.mode == modeEdit, &m.interrupted) {
		return m, tea.Quit
	}
	switch m.mode {
	case modePrompt:
		return m.promptKey(msg)
	case modeEdit:
		return m.editorKey(msg)
	case modeBranches:
		return m, m.branchesKey(msg)
	case modeHelp:
		return m, m.helpKey(msg)
	}
	return m, m.runKey(msg)
}

func (m *Model) promptKey(msg tea.KeyPressMsg) (tea.Model, tea.Cmd) {
	switch k := m.keys.Prompt; {
	case key.Matches(msg, k.Start):
		q := strings.TrimSpace(m.prompt.Value())
		if q == "" {
			return m, nil
		}
		m.question = q
		m.prompt.Blur()
		m.mode = modeTrace
		m.status.state = stateStarting
		return m, m.startCmd(q)
	case key.Matches(msg, k.Quit):
		return m, tea.Quit
	}
	return m.updateInput(msg)
}

func (m *Model) editorKey(msg tea.KeyPressMsg) (tea.Model, tea.Cmd) {
	switch k := m.keys.Editor; {
	case key.Matches(msg, k.Apply):
		text := strings.TrimSpace(m.editor.Value())
		m.mode = modeTrace
		m.editor.Blur()
		if text == "" {
			m.flash = fmt.Sprintf("an empty %s was not applied", m.editPart)
			return m, m.leaveEditor()
		}
		return m, tea.Sequence(m.editCmd(m.editPart, m.editIter, text), m.leaveEditor())
	case key.Matches(msg, k.Cancel):
		m.mode = modeTrace
		m.editor.Blur()
		m.flash = "edit canceled"
		return m, m.leaveEditor()
	}
	return m.updateInput(msg)
}

func (m *Model) branchesKey(msg tea.KeyPressMsg) tea.Cmd {
	switch m.keys.Branches.press(msg, &m.branchSel, len(m.branches)) {
	case listClose:
		m.mode = modeTrace
	case listChoose:
		m.mode = modeTrace
		if m.branchSel >= 0 && m.branchSel < len(m.branches) {
			return m.switchCmd(m.branches[m.branchSel].ID)
		}
	}
	return nil
}

func (m *Model) helpKey(msg tea.KeyPressMsg) tea.Cmd {
	if key.Matches(msg, m.keys.Help.Close) {
		m.mode = modeTrace
	}
	return nil
}

// startFailed says the last question's run could not start: there is no run to control, only
// the way back to the question.
func (m *Model) startFailed() bool { return m.run == nil && m.status.state == stateFailed }

// backToQuestion reopens the prompt with the question that could not start, to fix and resend.
func (m *Model) backToQuestion() tea.Cmd {
	m.mode = modePrompt
	m.status.state = stateIdle
	m.err, m.flash = nil, ""
	m.trace.reason = ""
	m.trace.dirty = true
	m.prompt.SetValue(m.question)
	m.prompt.CursorEnd()
	m.question = ""
	return m.prompt.Focus()
}

func (m *Model) runKey(msg tea.KeyPressMsg) tea.Cmd {
	if m.startFailed() {
		if key.Matches(msg, m.keys.Failed.Ask) {
			return m.backToQuestion()
		}
		return nil
	}
	switch k := m.keys.Run; {
	case key.Matches(msg, k.Help):
		m.mode = modeHelp
	case key.Matches(msg, k.Pause):
		return m.togglePause()
	case key.Matches(msg, k.Edit):
		return m.openEditor()
	case m.keys.Trace.press(msg, m.trace):
	case key.Matches(msg, k.Branches):
		if m.run == nil {
			return nil
		}
		run := m.run
		return func() tea.Msg { return branchesMsg{run.Branches()} }
	case key.Matches(msg, k.Dismiss):
		m.flash = ""
	}
	return nil
}

func (m *Model) togglePause() tea.Cmd {
	run := m.run
	if run == nil {
		return nil
	}
	switch m.status.state {
	case stateRunning:
		return func() tea.Msg { run.Pause(); return nil }
	case statePaused:
		m.autoPaused = false
		return func() tea.Msg { run.Resume(); return nil }
	}
	return nil
}

// openEditor edits the selected (by default the latest) finished summary, or, while the run is
// paused, the in-flight reasoning when the person selected its pane.
func (m *Model) openEditor() tea.Cmd {
	if live := m.trace.selectedLiveReasoning(); live != nil && m.status.state == statePaused {
		if live.summary.Len() > 0 || live.conclusion.Len() > 0 {
			// Its reasoning is closed: an edit could not be applied, so none is offered.
			m.flash = fmt.Sprintf("iteration %d is past its reasoning; edit its summary once it is written", live.index)
			return nil
		}
		m.editErr = ""
		m.editIter, m.editPart = live.index, session.PartReasoning
		m.editor.SetValue(live.reasoning.String())
		m.editor.MoveToEnd()
		m.mode = modeEdit
		m.layoutEditor()
		return m.editor.Focus()
	}
	it := m.trace.selectedSummary()
	if it == nil {
		m.flash = "no finished summary to edit yet"
		return nil
	}
	m.editErr = ""
	m.editIter, m.editPart = it.index, session.PartSummary
	m.editor.SetValue(it.summary.String())
	m.editor.MoveToEnd() // typing goes on from the text, backspace takes back its end
	m.mode = modeEdit
	m.layoutEditor()
	cmds := []tea.Cmd{m.editor.Focus()}
	if m.status.state == stateRunning && m.run != nil {
		// Hold the run while the person reads and edits; leaving the editor lets it go on.
		m.autoPaused = true
		run := m.run
		cmds = append(cmds, func() tea.Msg { run.Pause(); return nil })
	}
	return tea.Batch(cmds...)
}

// leaveEditor resumes a run the editor paused.
func (m *Model) leaveEditor() tea.Cmd {
	if !m.autoPaused || m.run == nil {
		return nil
	}
	m.autoPaused = false
	run := m.run
	return func() tea.Msg { run.Resume(); return nil }
}

func (m *Model) editCmd(part session.Part, iteration int, text string) tea.Cmd {
	run := m.run
	return func() tea.Msg {
		msg := editDoneMsg{part: part, iteration: iteration, text: text}
		switch {
		case run == nil:
			msg.err = errors.New("no run")
		case part == session.PartReasoning:
			msg.err = run.EditReasoning(text)
		default:
			msg.err = run.EditSummary(iteration, text)
		}
		return msg
	}
}

func (m *Model) switchCmd(id int) tea.Cmd {
	run := m.run
	note := ""
	for _, b := range m.branches {
		if b.ID == id && !b.Done && !b.Current {
			// The engine holds an unfinished branch paused: say what brings it back to life.
			note = " (unfinished: paused, space goes on generating on it)"
		}
	}
	return func() tea.Msg {
		if err := run.SwitchBranch(id); err != nil {
			return flashMsg{"switch failed: " + err.Error()}
		}
		return flashMsg{fmt.Sprintf("switched to branch %d%s", id, note)}
	}
}

// apply folds one event into the view. snap is the branch snapshot read with a branch event.
func (m *Model) apply(ev session.Event, snap session.Snapshot) {
	if !ev.Time.IsZero() {
		if m.start.IsZero() {
			m.start = ev.Time
		}
		if ev.Time.After(m.now) {
			m.now = ev.Time
		}
	}
	t := m.trace
	switch ev.Type {
	case session.EventIterationStart:
		t.startIteration(ev.Iteration, ev.Text)
		m.status.iteration = ev.Iteration
		m.status.iterTok, m.status.reasonTok = 0, 0
		if ev.Branch > 0 {
			m.status.branch = ev.Branch
		}
		if m.status.state == stateDone {
			m.status.state = stateRunning
		}
		m.recount()
	case session.EventDelta:
		t.appendText(ev.Iteration, ev.Part, ev.Text)
	case session.EventSummary:
		t.setSummary(ev.Iteration, ev.Text, ev.Forced)
	case session.EventReasoning:
		t.setReasoning(ev.Iteration, ev.Text)
	case session.EventIterationEnd:
		t.endIteration(ev.Iteration, ev.Forced, ev.Tokens, ev.Seconds)
		if ev.Tokens > 0 {
			m.status.iterTok = ev.Tokens
		}
		m.recount()
	case session.EventStats:
		if it := t.iter(ev.Iteration); it != nil && !it.finished {
			it.tokens, it.seconds, it.tps = ev.Tokens, ev.Seconds, ev.TokensPerSecond
		}
		m.status.iterTok = ev.Tokens
		if ev.ReasoningTokens > 0 {
			m.status.reasonTok = ev.ReasoningTokens
		}
		m.status.tps = ev.TokensPerSecond
	case session.EventAnswer:
		t.setAnswer(ev.Text, ev.Correct)
	case session.EventEdit:
		if ev.Part == session.PartSummary || ev.Part == "" {
			t.editSummary(ev.Iteration, ev.Text, ev.Original)
		}
		if ev.Part == session.PartReasoning {
			t.editReasoning(ev.Iteration, ev.Text)
		}
		if ev.Branch > 0 {
			m.status.branch = ev.Branch
		}
		m.recount()
	case session.EventBranch:
		if snap.Branch == ev.Branch && ev.Branch > 0 {
			m.loadSnapshot(snap)
		}
		m.status.branch = ev.Branch
	case session.EventPaused:
		m.status.state = statePaused
	case session.EventResumed:
		m.status.state = stateRunning
	case session.EventDone:
		m.status.state = stateDone
		if ev.Tokens > 0 {
			m.status.total = ev.Tokens
		}
	case session.EventError:
		m.flash = "error: " + ev.Message
		t.reason = ev.Message
		t.dirty = true
		m.status.state = stateFailed
	}
}

// loadSnapshot shows a branch from its snapshot (after a switch).
func (m *Model) loadSnapshot(s session.Snapshot) {
	m.trace.load(s.Iterations)
	if p := s.Partial; p != nil {
		// The branch's iteration in flight (an unfinished branch, or one a reasoning edit made).
		it := m.trace.startIteration(p.Index, p.History)
		it.reasoning.Set(p.Reasoning)
		if p.Summary != "" {
			m.trace.appendText(p.Index, session.PartSummary, p.Summary)
		}
		if p.Conclusion != "" {
			m.trace.appendText(p.Index, session.PartConclusion, p.Conclusion)
		}
	}
	if s.Done {
		m.trace.setAnswer(s.Answer, s.Correct)
		m.status.state = stateDone
	} else if s.Paused {
		m.status.state = statePaused
	} else {
		m.status.state = stateRunning
	}
	m.status.iteration = len(s.Iterations)
	if s.Partial != nil {
		m.status.iteration = s.Partial.Index
	}
	m.status.iterTok, m.status.reasonTok = 0, 0
	m.trace.scrollToEnd()
	m.recount()
}

// recount sums the tokens of the finished iterations on screen (on structural changes only).
func (m *Model) recount() {
	n := 0
	for _, it := range m.trace.its {
		if it.finished {
			n += it.tokens
		}
	}
	m.totalBefore = n
}

func (m *Model) resize(w, h int) {
	m.width, m.height = w, h
	m.help.SetWidth(w)
	m.prompt.SetWidth(max(10, w-6))
	m.trace.setSize(w, max(1, h-3))
	m.layoutEditor()
}

func (m *Model) layoutEditor() {
	m.editor.SetWidth(max(10, m.width-4))
	h := m.height - 7
	if m.editErr != "" {
		h-- // the line that says why the text was not applied
	}
	m.editor.SetHeight(max(3, h))
}

// View draws the screen.
func (m *Model) View() tea.View { return screenView(m.render(), "infty") }

// screenView is how both programs show a screen: full window, mouse wheel, a window title.
func screenView(content, title string) tea.View {
	v := tea.NewView(content)
	v.AltScreen = true
	v.MouseMode = tea.MouseModeCellMotion
	v.WindowTitle = title
	return v
}

// unusableWindow is what a window that cannot hold the layout shows (nothing before its size is
// known, a notice cut to fit below the minimum), and whether that is the case.
func unusableWindow(w, h int) (string, bool) {
	if w == 0 || h == 0 {
		return "", true
	}
	if w < MinWidth || h < MinHeight {
		msg := fmt.Sprintf("The window is too small (%d×%d); infty needs at least %d×%d.", w, h, MinWidth, MinHeight)
		return fit(lipgloss.NewStyle().Width(w).Render(msg), w, h), true
	}
	return "", false
}

func (m *Model) render() string {
	if s, ok := unusableWindow(m.width, m.height); ok {
		return s
	}
	th := m.th
	title := th.Title.Render("infty") + "  "
	if m.question != "" {
		title += th.Muted.Render("Q: ") + strings.ReplaceAll(m.question, "\n", " ")
	}
	if title != m.title {
		m.title, m.hintW = title, 0
	}
	m.trace.paused = m.status.state == statePaused
	var body string
	bodyH := m.height - 3
	switch m.mode {
	case modePrompt:
		body = m.renderPrompt(bodyH)
	case modeEdit:
		body = m.renderEditor(bodyH)
	case modeBranches:
		body = m.renderBranches(bodyH)
	case modeHelp:
		body = m.renderHelp(bodyH)
	default:
		body = m.trace.view()
	}
	if m.hintW != m.width {
		// The key hint and the title only change with the width: drawn once, not per token.
		m.hint = truncateLine(m.help.ShortHelpView(runHelp{m.keys}.ShortHelp()), m.width)
		m.titleLine = truncateLine(title, m.width)
		m.hintW = m.width
	}
	hint := m.hint
	switch {
	case m.mode == modeEdit:
		hint = m.help.ShortHelpView(m.keys.editorHint())
	case m.mode == modePrompt:
		hint = m.help.ShortHelpView(m.keys.promptHint())
	case m.startFailed() && m.mode == modeTrace:
		hint = m.help.ShortHelpView(m.keys.failedHint())
	case m.flash != "":
		hint = th.Muted.Render(m.flash)
	}
	m.status.total = m.totalBefore
	if it := m.trace.current(); it != nil && !it.finished {
		m.status.total += m.status.iterTok
	}
	if !m.start.IsZero() && m.now.After(m.start) {
		m.status.elapsed = m.now.Sub(m.start)
	}
	lines := []string{
		m.titleLine,
		body,
		truncateLine(hint, m.width),
		m.status.render(th, m.width),
	}
	return strings.Join(lines, "\n")
}

func (m *Model) renderPrompt(h int) string {
	box := th(m).Dialog.Width(min(m.width-2, 100))
	content := th(m).DialogTitle.Render("Ask a question") + "\n\n" + m.prompt.View() + "\n\n" +
		th(m).Muted.Render(inline(m.keys.Prompt.Start, m.keys.Prompt.Quit))
	return fit(box.Render(content), m.width, h)
}

func (m *Model) renderEditor(h int) string {
	title := th(m).DialogTitle.Render(fmt.Sprintf("Edit summary %d", m.editIter)) + "  " +
		th(m).Muted.Render("the next iteration starts from this text (a new branch)")
	if m.editPart == session.PartReasoning {
		title = th(m).DialogTitle.Render(fmt.Sprintf("Edit reasoning %d", m.editIter)) + "  " +
			th(m).Muted.Render("the paused iteration goes on from this text when resumed (a new branch)")
	}
	if m.editErr != "" {
		title += "\n" + th(m).Error.Render(m.editErr)
	}
	return fit(title+"\n"+m.editor.View(), m.width, h)
}

func (m *Model) renderBranches(h int) string {
	var b strings.Builder
	b.WriteString(th(m).DialogTitle.Render("Branches") + "  " + th(m).Muted.Render(inline(m.keys.Branches.Choose, m.keys.Branches.Close)) + "\n\n")
	for i, br := range m.branches {
		cur := "  "
		if br.Current {
			cur = "* "
		}
		line := fmt.Sprintf("%sbranch %d", cur, br.ID)
		if br.Parent > 0 {
			line += fmt.Sprintf("  from %d at iteration %d", br.Parent, br.Fork)
		}
		if br.Reason != "" {
			line += "  (" + br.Reason + ")"
		}
		line += fmt.Sprintf("  · %d iterations", br.Iterations)
		if br.Done {
			line += "  · answer " + br.Answer
			if br.Correct != nil {
				if *br.Correct {
					line += " ✓"
				} else {
					line += " ✗"
				}
			}
		}
		if i == m.branchSel {
			line = th(m).ListSelected.Render("❯ " + line)
		} else {
			line = th(m).ListItem.Render("  " + line)
		}
		b.WriteString(truncateLine(line, m.width) + "\n")
	}
	return fit(b.String(), m.width, h)
}

func (m *Model) renderHelp(h int) string {
	content := th(m).DialogTitle.Render("Keys") + "\n\n" + fullHelp(m.help, runHelp{m.keys}.FullHelp(), m.width) +
		"\n\n" + th(m).Muted.Render("The view follows the stream until you scroll away; G or end returns to it.\nEsc or ? closes this help.")
	return fit(content, m.width, h)
}

func th(m *Model) *themes.Theme { return m.th }

// fit pads or cuts s to exactly h lines.
func fit(s string, w, h int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > h {
		lines = lines[:h]
	}
	for i, l := range lines {
		lines[i] = truncateLine(l, w)
	}
	for len(lines) < h {
		lines = append(lines, "")
	}
	return strings.Join(lines, "\n")
}

// Question is the question being run (after the prompt, the one typed).
func (m *Model) Question() string { return m.question }

// Err is ErrInterrupted when ctrl+c ended the workbench, else the error that kept the last run
// from starting, if any.
func (m *Model) Err() error {
	if m.interrupted {
		return ErrInterrupted
	}
	return m.err
}
