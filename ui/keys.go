package ui

import (
	"errors"
	"strings"

	"charm.land/bubbles/v2/help"
	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"
	"charm.land/lipgloss/v2"
	"github.com/infty-dev/infty/themes"
)

// keyMap holds every binding of both programs, grouped by the screen or context that reads it
// (as crush's internal/ui/model/keys.go nests its KeyMap): a key means one thing per context,
// Update asks only key.Matches, and the hints and help screens render from these bindings.
// External checks press exactly these keys, so they are part of the interface: change them only
// with the README and scripts/e2e.sh.
type keyMap struct {
	// ForceQuit ends either program from any screen, text inputs included; Quit from any screen
	// that takes no text.
	ForceQuit, Quit key.Binding
	// Trace moves through the panes of a trace: the workbench's run view, the inspector's.
	Trace traceKeys

	// The workbench.
	Prompt struct{ Start, Quit key.Binding } // asking for a question
	Run    struct {                          // the run view, beside Trace
		Pause, Edit, Branches, Help key.Binding
		Dismiss                     key.Binding // clears the message in the hint line
	}
	Failed   struct{ Ask key.Binding } // the run view of a question whose run could not start
	Editor   struct{ Apply, Cancel key.Binding }
	Branches listKeys
	Help     struct{ Close key.Binding }

	// The inspector.
	List struct {
		Up, Down, PageUp, PageDown, Top, Bottom             key.Binding
		Open, Mark, Export, Filter, OnlyEdited, OnlyCorrect key.Binding
		Clear, Help                                         key.Binding
	}
	Filter      struct{ Accept, Clear key.Binding } // typing the filter
	ExportPath  struct{ Write, Cancel key.Binding } // typing where to export
	Detail      struct{ Back, Branches, Export, Help key.Binding }
	RunBranches listKeys
	// InspectHelp.Close documents that every key but Quit closes the help; it is never matched.
	InspectHelp struct{ Close key.Binding }
}

// traceKeys select, fold and scroll the panes of a trace.
type traceKeys struct {
	Next, Prev, Fold, Up, Down, PageUp, PageDown, Top, Bottom key.Binding
}

// listKeys pick one item of a list (the branch lists).
type listKeys struct {
	Up, Down, Choose, Close key.Binding
}

func bind(helpKey, desc string, keys ...string) key.Binding {
	return key.NewBinding(key.WithKeys(keys...), key.WithHelp(helpKey, desc))
}

func defaultKeys() keyMap {
	var m keyMap
	m.ForceQuit = bind("ctrl+c", "quit", "ctrl+c")
	m.Quit = bind("q", "quit", "q")
	m.Trace = traceKeys{
		Next:     bind("tab", "select next pane", "tab"),
		Prev:     bind("shift+tab", "select previous pane", "shift+tab"),
		Fold:     bind("enter", "fold / unfold pane", "enter"),
		Up:       bind("↑/k", "scroll up", "up", "k"),
		Down:     bind("↓/j", "scroll down", "down", "j"),
		PageUp:   bind("pgup", "page up", "pgup", "ctrl+u"),
		PageDown: bind("pgdn", "page down", "pgdown", "ctrl+d"),
		Top:      bind("g/home", "top", "home", "g"),
		Bottom:   bind("G/end", "bottom, follow", "end", "G"),
	}

	m.Prompt.Start = bind("enter", "starts the run", "enter")
	m.Prompt.Quit = bind("esc", "quits", "esc")
	m.Run.Pause = bind("space", "pause / resume", "space")
	m.Run.Edit = bind("e", "edit summary / paused reasoning", "e")
	m.Run.Branches = bind("b", "branches", "b")
	m.Run.Help = bind("?", "help", "?")
	m.Run.Dismiss = bind("esc", "cancel / close", "esc")
	m.Failed.Ask = bind("enter", "back to the question", "enter")
	m.Editor.Apply = bind("ctrl+s", "apply the edit", "ctrl+s")
	m.Editor.Cancel = bind("esc", "cancel / close", "esc")
	m.Branches = listKeys{
		Up:     bind("↑/k", "up", "up", "k", "shift+tab"),
		Down:   bind("↓/j", "down", "down", "j", "tab"),
		Choose: bind("enter", "switches", "enter"),
		Close:  bind("esc", "closes", "esc", "b"),
	}
	m.Help.Close = bind("esc", "close", "esc", "?")

	m.List.Up = bind("↑/k", "up", "up", "k")
	m.List.Down = bind("↓/j", "down", "down", "j")
	m.List.PageUp = bind("pgup", "page up", "pgup", "ctrl+u")
	m.List.PageDown = bind("pgdn", "page down", "pgdown", "ctrl+d")
	m.List.Top = bind("g/home", "first", "home", "g")
	m.List.Bottom = bind("G/end", "last", "end", "G")
	m.List.Open = bind("enter", "open read-only", "enter")
	m.List.Mark = bind("space", "mark for export", "space")
	m.List.Export = bind("x", "export marked (or current) as SFT", "x")
	m.List.Filter = bind("/", "filter by words", "/")
	m.List.OnlyEdited = bind("E", "only edited", "E")
	m.List.OnlyCorrect = bind("c", "only correct", "c")
	m.List.Clear = bind("esc", "clear filters", "esc")
	m.List.Help = bind("?", "help", "?")
	m.Filter.Accept = bind("enter", "keep the filter", "enter")
	m.Filter.Clear = bind("esc", "clear the filter", "esc")
	m.ExportPath.Write = bind("enter", "write", "enter")
	m.ExportPath.Cancel = bind("esc", "cancel", "esc")
	m.Detail.Back = bind("esc", "back", "esc", "backspace")
	m.Detail.Branches = bind("b", "branches", "b")
	m.Detail.Export = bind("x", "export this branch as SFT", "x")
	m.Detail.Help = bind("?", "help", "?")
	m.RunBranches = listKeys{
		Up:     bind("↑/k", "up", "up", "k"),
		Down:   bind("↓/j", "down", "down", "j"),
		Choose: bind("enter", "shows", "enter"),
		Close:  bind("esc", "closes", "esc", "b"),
	}
	m.InspectHelp.Close = bind("any key", "close", "any")
	return m
}

// short is b as a hint shows it, with a shorter description than the help screen's.
func short(b key.Binding, desc string) key.Binding {
	return key.NewBinding(key.WithKeys(b.Keys()...), key.WithHelp(b.Help().Key, desc))
}

// newHelp renders key hints and help screens in the theme's colors.
func newHelp(th *themes.Theme) help.Model {
	h := help.New()
	h.Styles.ShortKey = th.HelpKey
	h.Styles.ShortDesc = th.HelpDesc
	h.Styles.ShortSeparator = th.HelpSep
	h.Styles.FullKey = th.HelpKey
	h.Styles.FullDesc = th.HelpDesc
	h.Styles.FullSeparator = th.HelpSep
	h.Styles.Ellipsis = th.HelpSep
	return h
}

// inline is how a dialog's subtitle names its keys: "enter starts the run · esc quits".
func inline(bindings ...key.Binding) string {
	parts := make([]string, len(bindings))
	for i, b := range bindings {
		parts[i] = b.Help().Key + " " + b.Help().Desc
	}
	return strings.Join(parts, " · ")
}

// press applies a key that moves through a trace (selection, folding, scrolling) to t, the same
// way in the workbench and the inspector, and reports whether msg was one of them.
func (k traceKeys) press(msg tea.KeyPressMsg, t *trace) bool {
	switch {
	case key.Matches(msg, k.Next):
		t.moveSelection(1)
	case key.Matches(msg, k.Prev):
		t.moveSelection(-1)
	case key.Matches(msg, k.Fold):
		t.toggleFold()
	case key.Matches(msg, k.Up):
		t.scroll(-1)
	case key.Matches(msg, k.Down):
		t.scroll(1)
	case key.Matches(msg, k.PageUp):
		t.scroll(-max(1, t.height/2))
	case key.Matches(msg, k.PageDown):
		t.scroll(max(1, t.height/2))
	case key.Matches(msg, k.Top):
		t.scrollToTop()
	case key.Matches(msg, k.Bottom):
		t.scrollToEnd()
	default:
		return false
	}
	return true
}

// ErrInterrupted is what a program ended by ctrl+c returns, so the command exits as an
// interrupted one (130), not as a finished one.
var ErrInterrupted = errors.New("interrupted")

// quits reports whether msg ends the program: ctrl+c anywhere, q where no text is being typed;
// *interrupted records which of the two it was.
func (k keyMap) quits(msg tea.KeyPressMsg, typing bool, interrupted *bool) bool {
	if key.Matches(msg, k.ForceQuit) {
		*interrupted = true
		return true
	}
	return !typing && key.Matches(msg, k.Quit)
}

// listAction is what a key pressed in a list asks of the screen that shows it.
type listAction int

const (
	listStay listAction = iota
	listChoose
	listClose
)

// press moves the selection *sel of a list of n items, or says what else the key asks for.
func (k listKeys) press(msg tea.KeyPressMsg, sel *int, n int) listAction {
	switch {
	case key.Matches(msg, k.Close):
		return listClose
	case key.Matches(msg, k.Up):
		*sel = max(0, *sel-1)
	case key.Matches(msg, k.Down):
		*sel = min(n-1, *sel+1)
	case key.Matches(msg, k.Choose):
		return listChoose
	}
	return listStay
}

// runHelp is the help.KeyMap of the workbench's run view.
type runHelp struct{ k keyMap }

func (h runHelp) ShortHelp() []key.Binding {
	k := h.k
	return []key.Binding{
		short(k.Run.Pause, "pause"), short(k.Run.Edit, "edit"), short(k.Trace.Next, "select"),
		short(k.Trace.Fold, "fold"), k.Run.Branches, k.Run.Help, k.Quit,
	}
}

func (h runHelp) FullHelp() [][]key.Binding {
	k := h.k
	return [][]key.Binding{
		{k.Run.Pause, k.Run.Edit, k.Editor.Apply, k.Editor.Cancel, k.Run.Branches},
		{k.Trace.Next, k.Trace.Prev, k.Trace.Fold, k.Run.Help, k.Quit},
		{k.Trace.Up, k.Trace.Down, k.Trace.PageUp, k.Trace.PageDown, k.Trace.Top, k.Trace.Bottom},
	}
}

// promptHint is the hint line while the workbench asks for a question: only what works there.
func (k keyMap) promptHint() []key.Binding {
	return []key.Binding{short(k.Prompt.Start, "start"), short(k.Prompt.Quit, "quit"), k.ForceQuit}
}

// failedHint is the hint line after a run could not start.
func (k keyMap) failedHint() []key.Binding {
	return []key.Binding{k.Failed.Ask, k.Quit}
}

// fullHelp renders the help screen's columns of keys; on a window too narrow for them all the
// last columns are stacked, so that no column is cut.
func fullHelp(h help.Model, groups [][]key.Binding, width int) string {
	h.SetWidth(0) // measured whole, not cut
	for {
		s := h.FullHelpView(groups)
		if len(groups) == 1 || lipgloss.Width(s) <= width {
			return s
		}
		n := len(groups)
		merged := append(append([]key.Binding(nil), groups[n-2]...), groups[n-1]...)
		groups = append(groups[:n-2:n-2], merged)
	}
}

// editorHint is the hint line under the editor.
func (k keyMap) editorHint() []key.Binding {
	return []key.Binding{short(k.Editor.Apply, "apply"), short(k.Editor.Cancel, "cancel")}
}

// listHelp is the help.KeyMap of the inspector's list.
type listHelp struct{ k keyMap }

func (h listHelp) ShortHelp() []key.Binding {
	l := h.k.List
	return []key.Binding{
		short(l.Open, "open"), short(l.Mark, "mark"), short(l.Export, "export"), short(l.Filter, "filter"),
		short(l.OnlyEdited, "edited"), short(l.OnlyCorrect, "correct"), l.Help, h.k.Quit,
	}
}

func (h listHelp) FullHelp() [][]key.Binding {
	l := h.k.List
	return [][]key.Binding{
		{l.Up, l.Down, l.PageUp, l.PageDown, l.Top, l.Bottom},
		{l.Open, l.Mark, l.Export, l.Filter, l.OnlyEdited, l.OnlyCorrect, l.Clear},
		{l.Help, h.k.Quit},
	}
}

// detailHelp is the help.KeyMap of the inspector's run view.
type detailHelp struct{ k keyMap }

func (h detailHelp) ShortHelp() []key.Binding {
	d, t := h.k.Detail, h.k.Trace
	return []key.Binding{
		short(t.Next, "select"), short(t.Fold, "fold"), d.Branches, short(d.Export, "export branch"), d.Back, h.k.Quit,
	}
}

func (h detailHelp) FullHelp() [][]key.Binding {
	d, t := h.k.Detail, h.k.Trace
	return [][]key.Binding{
		{t.Next, t.Prev, t.Fold, d.Branches, d.Export, d.Back},
		{t.Up, t.Down, t.PageUp, t.PageDown, t.Top, t.Bottom},
		{d.Help, h.k.Quit},
	}
}
