package ui

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"charm.land/bubbles/v2/help"
	"charm.land/bubbles/v2/key"
	"charm.land/bubbles/v2/textinput"
	tea "charm.land/bubbletea/v2"
	"charm.land/lipgloss/v2"
	"github.com/infty-dev/infty/session/sft"
	"github.com/infty-dev/infty/session/trajlog"
	"github.com/infty-dev/infty/themes"
)

// InspectOptions configure the log inspector.
type InspectOptions struct {
	Theme themes.Theme
	Path  string // the log, for the title and the default export path
	// Export is the file x offers to write (default: beside the log, its name with .sft.jsonl).
	Export   string
	Runs     []*trajlog.Run
	Warnings []string // lines of the log that were skipped
}

type inspectMode int

const (
	inspList inspectMode = iota
	inspFilter
	inspExport
	inspDetail
	inspBranches
	inspHelp
)

// Inspector browses the trajectories of a log, read-only, and exports a selection as SFT data.
type Inspector struct {
	opts   InspectOptions
	th     *themes.Theme
	keys   keyMap
	help   help.Model
	mode   inspectMode
	back   inspectMode
	width  int
	height int

	rows       []*trajlog.Run // after the filter
	cursor     int
	top        int
	marked     map[string]bool // run ids
	filter     textinput.Model
	onlyEdited bool
	onlyRight  bool

	exportIn     textinput.Model
	exportBranch int    // > 0: export only this branch of the open run
	overwrite    string // an existing file the person was asked about: enter again replaces it

	open      *trajlog.Run
	branch    *trajlog.Branch
	branchSel int
	trace     *trace
	flash     string

	interrupted bool // ended by ctrl+c
}

type exportedMsg struct {
	n      int
	path   string
	err    error
	exists bool // nothing written: the file exists and overwriting it was not confirmed
}

// NewInspector makes the inspector over runs.
func NewInspector(opts InspectOptions) *Inspector {
	th := opts.Theme
	if th.Name == "" {
		th = themes.Plain()
	}
	in := &Inspector{opts: opts, th: &th, keys: defaultKeys(), marked: map[string]bool{}}
	in.help = newHelp(in.th)
	in.filter = textinput.New()
	in.filter.Prompt = "/ "
	in.filter.Placeholder = "words in the question or answer"
	in.exportIn = textinput.New()
	in.exportIn.Prompt = "export to: "
	in.applyFilter()
	if len(opts.Warnings) > 0 {
		in.flash = fmt.Sprintf("%d unreadable line(s) skipped: %s", len(opts.Warnings), opts.Warnings[0])
	}
	return in
}

// Init does nothing: the log is read before the program starts.
func (in *Inspector) Init() tea.Cmd { return nil }

func (in *Inspector) applyFilter() {
	q := strings.ToLower(strings.TrimSpace(in.filter.Value()))
	in.rows = in.rows[:0]
	for _, r := range in.opts.Runs {
		b := r.Branch(r.Current)
		if in.onlyEdited && !runEdited(r) {
			continue
		}
		if in.onlyRight && !anyVerified(r) {
			continue
		}
		if q != "" {
			hay := strings.ToLower(r.Question)
			if b != nil {
				hay += " " + strings.ToLower(b.Answer)
			}
			if !strings.Contains(hay, q) {
				continue
			}
		}
		in.rows = append(in.rows, r)
	}
	in.cursor = min(in.cursor, max(0, len(in.rows)-1))
}

// anyVerified says whether some branch of r reached a verified answer: the run holds a correct
// trajectory even when the person went on to try another branch.
func anyVerified(r *trajlog.Run) bool {
	for _, b := range r.Branches {
		if b.Correct != nil && *b.Correct {
			return true
		}
	}
	return false
}

// Verdicts is each branch's verdict in branch order, as yes/no words ("-" unverified), for a
// run's CORRECT column.
func Verdicts(r *trajlog.Run, yes, no string) []string {
	out := make([]string, len(r.Branches))
	for i, b := range r.Branches {
		out[i] = "-"
		if b.Correct != nil {
			out[i] = map[bool]string{true: yes, false: no}[*b.Correct]
		}
	}
	return out
}

func runEdited(r *trajlog.Run) bool {
	if len(r.Edits) > 0 {
		return true
	}
	for _, b := range r.Branches {
		if b.Edited() {
			return true
		}
	}
	return false
}

// Update handles one message.
func (in *Inspector) Update(msg tea.Msg) (tea.Model, tea.Cmd) {
	switch msg := msg.(type) {
	case tea.WindowSizeMsg:
		in.width, in.height = msg.Width, msg.Height
		if in.trace != nil {
			in.trace.setSize(in.width, max(1, in.height-3))
		}
		in.filter.SetWidth(max(10, in.width-4))
		in.exportIn.SetWidth(max(10, in.width-14))
		return in, nil
	case exportedMsg:
		if msg.exists {
			// Ask before replacing a file: enter again on the same path overwrites it.
			in.overwrite = msg.path
			in.mode = inspExport
			return in, in.exportIn.Focus()
		}
		in.overwrite = ""
		if msg.err != nil {
			in.flash = "export failed: " + msg.err.Error()
		} else {
			in.flash = fmt.Sprintf("wrote %d SFT examples to %s", msg.n, msg.path)
			if msg.n == 0 {
				in.flash += " (unfinished branches are left out)"
			}
		}
		return in, nil
	case tea.MouseWheelMsg:
		delta := 3
		if msg.Mouse().Button == tea.MouseWheelUp {
			delta = -3
		}
		if in.mode == inspDetail {
			in.trace.scroll(delta)
		} else if in.mode == inspList {
			in.moveCursor(delta)
		}
		return in, nil
	case tea.KeyPressMsg:
		return in.handleKey(msg)
	}
	var cmd tea.Cmd
	switch in.mode {
	case inspFilter:
		in.filter, cmd = in.filter.Update(msg)
	case inspExport:
		in.exportIn, cmd = in.exportIn.Update(msg)
	}
	return in, cmd
}

func (in *Inspector) moveCursor(d int) {
	in.cursor = min(max(0, in.cursor+d), max(0, len(in.rows)-1))
}

// handleKey routes a key press to the screen on top.
func (in *Inspector) handleKey(msg tea.KeyPressMsg) (tea.Model, tea.Cmd) {
	if in.keys.quits(msg, in.mode == inspFilter || in.mode == inspExport, &in.interrupted) {
		return in, tea.Quit
	}
	switch in.mode {
	case inspFilter:
		return in, in.filterKey(msg)
	case inspExport:
		return in, in.exportKey(msg)
	case inspHelp:
		in.mode = in.back
		return in, nil
	case inspBranches:
		return in, in.branchesKey(msg)
	case inspDetail:
		return in, in.detailKey(msg)
	}
	return in, in.listKey(msg)
}

func (in *Inspector) filterKey(msg tea.KeyPressMsg) tea.Cmd {
	var cmd tea.Cmd
	switch k := in.keys.Filter; {
	case key.Matches(msg, k.Accept):
		in.mode = inspList
		in.filter.Blur()
	case key.Matches(msg, k.Clear):
		in.filter.SetValue("")
		in.mode = inspList
		in.filter.Blur()
	default:
		in.filter, cmd = in.filter.Update(msg)
	}
	in.applyFilter()
	return cmd
}

func (in *Inspector) exportKey(msg tea.KeyPressMsg) tea.Cmd {
	switch k := in.keys.ExportPath; {
	case key.Matches(msg, k.Write):
		in.mode = in.back
		in.exportIn.Blur()
		path := strings.TrimSpace(in.exportIn.Value())
		return in.exportCmd(path, path != "" && path == in.overwrite)
	case key.Matches(msg, k.Cancel):
		in.mode = in.back
		in.overwrite = ""
		in.exportIn.Blur()
		return nil
	}
	var cmd tea.Cmd
	in.exportIn, cmd = in.exportIn.Update(msg)
	return cmd
}

func (in *Inspector) branchesKey(msg tea.KeyPressMsg) tea.Cmd {
	switch in.keys.RunBranches.press(msg, &in.branchSel, len(in.open.Branches)) {
	case listClose:
		in.mode = inspDetail
	case listChoose:
		in.showBranch(in.open.Branches[in.branchSel])
		in.mode = inspDetail
	}
	return nil
}

func (in *Inspector) detailKey(msg tea.KeyPressMsg) tea.Cmd {
	switch k := in.keys.Detail; {
	case key.Matches(msg, k.Back):
		in.mode = inspList
		in.open, in.trace = nil, nil
	case in.keys.Trace.press(msg, in.trace):
	case key.Matches(msg, k.Branches):
		in.mode = inspBranches
	case key.Matches(msg, k.Export):
		in.exportBranch = in.branch.ID
		return in.askExport()
	case key.Matches(msg, k.Help):
		in.back, in.mode = inspDetail, inspHelp
	}
	return nil
}

func (in *Inspector) listKey(msg tea.KeyPressMsg) tea.Cmd {
	switch k := in.keys.List; {
	case key.Matches(msg, k.Up):
		in.moveCursor(-1)
	case key.Matches(msg, k.Down):
		in.moveCursor(1)
	case key.Matches(msg, k.PageUp):
		in.moveCursor(-max(1, in.listHeight()-1))
	case key.Matches(msg, k.PageDown):
		in.moveCursor(max(1, in.listHeight()-1))
	case key.Matches(msg, k.Top):
		in.cursor = 0
	case key.Matches(msg, k.Bottom):
		in.cursor = max(0, len(in.rows)-1)
	case key.Matches(msg, k.Filter):
		in.mode = inspFilter
		return in.filter.Focus()
	case key.Matches(msg, k.OnlyEdited):
		in.onlyEdited = !in.onlyEdited
		in.applyFilter()
	case key.Matches(msg, k.OnlyCorrect):
		in.onlyRight = !in.onlyRight
		in.applyFilter()
	case key.Matches(msg, k.Clear):
		in.filter.SetValue("")
		in.onlyEdited, in.onlyRight = false, false
		in.applyFilter()
	case key.Matches(msg, k.Mark):
		if r := in.current(); r != nil {
			in.marked[r.ID] = !in.marked[r.ID]
			if !in.marked[r.ID] {
				delete(in.marked, r.ID)
			}
			in.moveCursor(1)
		}
	case key.Matches(msg, k.Open):
		if r := in.current(); r != nil {
			in.openRun(r)
		}
	case key.Matches(msg, k.Export):
		in.exportBranch = 0
		return in.askExport()
	case key.Matches(msg, k.Help):
		in.back, in.mode = inspList, inspHelp
	}
	return nil
}

func (in *Inspector) current() *trajlog.Run {
	if in.cursor < 0 || in.cursor >= len(in.rows) {
		return nil
	}
	return in.rows[in.cursor]
}

func (in *Inspector) openRun(r *trajlog.Run) {
	in.open = r
	b := r.Branch(r.Current)
	if b == nil && len(r.Branches) > 0 {
		b = r.Branches[0]
	}
	in.trace = newTrace(in.th)
	in.trace.empty = "no finished iteration on this branch"
	in.trace.setSize(in.width, max(1, in.height-3))
	in.mode = inspDetail
	if b != nil {
		in.showBranch(b)
	}
}

func (in *Inspector) showBranch(b *trajlog.Branch) {
	in.branch = b
	for i, x := range in.open.Branches {
		if x == b {
			in.branchSel = i
		}
	}
	in.trace.load(b.Iterations)
	if b.Done {
		in.trace.setAnswer(b.Answer, b.Correct)
	}
	in.trace.scrollToTop()
	in.trace.revealFirstEdit()
}

func (in *Inspector) askExport() tea.Cmd {
	def := in.opts.Export
	if def == "" {
		def = strings.TrimSuffix(in.opts.Path, filepath.Ext(in.opts.Path)) + ".sft.jsonl"
	}
	in.exportIn.SetValue(def)
	in.exportIn.CursorEnd()
	in.back = in.mode
	in.mode = inspExport
	return in.exportIn.Focus()
}

// selection is what an export writes: the open branch, else the marked runs, else the run
// under the cursor.
func (in *Inspector) selection() ([]*trajlog.Run, sft.Options) {
	opts := sft.Options{Layout: sft.LayoutChat}
	if in.exportBranch > 0 && in.open != nil {
		opts.Branch = in.exportBranch
		return []*trajlog.Run{in.open}, opts
	}
	var runs []*trajlog.Run
	for _, r := range in.opts.Runs {
		if in.marked[r.ID] {
			runs = append(runs, r)
		}
	}
	if len(runs) == 0 {
		if r := in.current(); r != nil {
			runs = append(runs, r)
		}
	}
	return runs, opts
}

func (in *Inspector) exportCmd(path string, overwrite bool) tea.Cmd {
	runs, opts := in.selection()
	return func() tea.Msg {
		if path == "" {
			return exportedMsg{err: fmt.Errorf("no file name given")}
		}
		if _, err := os.Lstat(path); err == nil && !overwrite {
			return exportedMsg{path: path, exists: true}
		}
		n, err := sft.WriteFile(path, runs, opts)
		return exportedMsg{n: n, path: path, err: err}
	}
}

func (in *Inspector) listHeight() int { return max(1, in.height-5) }

// View draws the screen.
func (in *Inspector) View() tea.View { return screenView(in.render(), "infty inspect") }

func (in *Inspector) render() string {
	if s, ok := unusableWindow(in.width, in.height); ok {
		return s
	}
	th := in.th
	title := th.Title.Render("infty inspect") + "  " + th.Muted.Render(in.opts.Path)
	var body, hint string
	bodyH := in.height - 3
	switch in.mode {
	case inspDetail, inspBranches:
		r := in.open
		title = th.Title.Render("infty inspect") + "  " + th.Muted.Render("Q: ") + strings.ReplaceAll(r.Question, "\n", " ")
		if in.mode == inspBranches {
			body = fit(in.renderBranches(), in.width, bodyH)
		} else {
			body = in.trace.view()
		}
		hint = in.help.ShortHelpView(detailHelp{in.keys}.ShortHelp())
	case inspHelp:
		body = fit(in.renderHelp(), in.width, bodyH)
		hint = in.help.ShortHelpView([]key.Binding{in.keys.InspectHelp.Close})
	default:
		body = in.renderList(bodyH)
		hint = in.help.ShortHelpView(listHelp{in.keys}.ShortHelp())
	}
	switch {
	case in.mode == inspFilter:
		hint = in.filter.View()
	case in.mode == inspExport && in.overwrite != "" && strings.TrimSpace(in.exportIn.Value()) == in.overwrite:
		hint = th.Error.Render(in.overwrite+" exists: enter overwrites it, esc cancels") + "  " + in.exportIn.View()
	case in.mode == inspExport:
		hint = in.exportIn.View()
	case in.flash != "":
		hint = th.Muted.Render(in.flash)
	}
	status := in.statusLine()
	return strings.Join([]string{truncateLine(title, in.width), body, truncateLine(hint, in.width), status}, "\n")
}

func (in *Inspector) renderHelp() string {
	th := in.th
	return th.DialogTitle.Render("Keys") + "\n\n" +
		th.Muted.Render("the list") + "\n" + fullHelp(in.help, listHelp{in.keys}.FullHelp(), in.width) + "\n\n" +
		th.Muted.Render("an open run") + "\n" + fullHelp(in.help, detailHelp{in.keys}.FullHelp(), in.width) + "\n\n" +
		th.Muted.Render("An edited summary is shown beside its original.")
}

func (in *Inspector) statusLine() string {
	th := in.th
	var filters []string
	if q := in.filter.Value(); q != "" {
		filters = append(filters, fmt.Sprintf("%q", q))
	}
	if in.onlyEdited {
		filters = append(filters, "edited")
	}
	if in.onlyRight {
		filters = append(filters, "correct")
	}
	s := fmt.Sprintf(" %d trajectories · %d shown · %d marked", len(in.opts.Runs), len(in.rows), len(in.marked))
	if len(filters) > 0 {
		s += " · filter " + strings.Join(filters, " ")
	}
	if in.mode == inspDetail && in.branch != nil {
		s += fmt.Sprintf(" · branch %d of %d", in.branch.ID, len(in.open.Branches))
	}
	return th.StatusBar.Width(in.width).MaxWidth(in.width).Render(truncateLine(s, in.width))
}

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return ""
}

func (in *Inspector) renderList(h int) string {
	th := in.th
	qw := max(10, in.width-2-2-14-8-6-7-9)
	header := fmt.Sprintf("  %-2s%-*s %-13s %-7s %-5s %-6s %-8s", "", qw, "question", "answer", "correct", "iter", "edited", "branches")
	lines := []string{th.Muted.Render(truncateLine(header, in.width))}
	if len(in.rows) == 0 {
		lines = append(lines, "  "+th.Muted.Render("no trajectories match"))
	}
	rows := h - 1
	if in.cursor < in.top {
		in.top = in.cursor
	}
	if in.cursor >= in.top+rows {
		in.top = in.cursor - rows + 1
	}
	for i := in.top; i < len(in.rows) && i < in.top+rows; i++ {
		r := in.rows[i]
		b := r.Branch(r.Current)
		ans, correct, iters := "", "-", 0
		if b != nil {
			ans = b.Answer
			if !b.Done {
				ans = "(unfinished)"
			}
			iters = len(b.Iterations)
		}
		if v := Verdicts(r, "✓", "✗"); len(v) > 0 {
			correct = strings.Join(v, "") // one mark per branch, in order
		}
		mark := "  "
		if in.marked[r.ID] {
			mark = "● "
		}
		q := strings.ReplaceAll(r.Question, "\n", " ")
		line := fmt.Sprintf("%s%-*s %-13s %-7s %-5d %-6s %-8d", mark, qw, clip(q, qw), clip(ans, 13), correct, iters, yesNo(runEdited(r)), len(r.Branches))
		if i == in.cursor {
			line = th.ListSelected.Render("❯ " + line)
		} else {
			line = th.ListItem.Render("  " + line)
		}
		lines = append(lines, truncateLine(line, in.width))
	}
	return fit(strings.Join(lines, "\n"), in.width, h)
}

func clip(s string, w int) string {
	if lipgloss.Width(s) <= w {
		return s
	}
	return truncateLine(s, w)
}

func (in *Inspector) renderBranches() string {
	th := in.th
	var b strings.Builder
	b.WriteString(th.DialogTitle.Render("Branches") + "  " + th.Muted.Render(inline(in.keys.RunBranches.Choose, in.keys.RunBranches.Close)) + "\n\n")
	for i, br := range in.open.Branches {
		line := fmt.Sprintf("branch %d", br.ID)
		if br.Parent > 0 {
			line += fmt.Sprintf("  from %d at iteration %d", br.Parent, br.Fork)
		}
		line += fmt.Sprintf("  · %d iterations", len(br.Iterations))
		if br.Edited() {
			line += " · edited"
		}
		if br.Done {
			line += "  · answer " + br.Answer
			if br.Correct != nil {
				line += map[bool]string{true: " ✓", false: " ✗"}[*br.Correct]
			}
		} else {
			line += "  · unfinished"
		}
		if in.branch == br {
			line += "  (shown)"
		}
		if i == in.branchSel {
			line = th.ListSelected.Render("❯ " + line)
		} else {
			line = th.ListItem.Render("  " + line)
		}
		b.WriteString(line + "\n")
	}
	return b.String()
}

// Err is ErrInterrupted when ctrl+c ended the inspector.
func (in *Inspector) Err() error {
	if in.interrupted {
		return ErrInterrupted
	}
	return nil
}
