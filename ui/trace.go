package ui

import (
	"fmt"
	"sort"
	"strings"

	"charm.land/lipgloss/v2"
	"github.com/charmbracelet/x/ansi"
	"github.com/infty-dev/infty/session"
	"github.com/infty-dev/infty/themes"
)

// foldPreview is how many body lines a folded pane still shows.
const foldPreview = 3

// iteration is what the workbench knows of one iteration of the branch on screen.
type iteration struct {
	index      int
	history    string
	reasoning  *textBlock
	summary    *textBlock
	conclusion *textBlock
	original   string // the summary before a person's edit; "" when not edited
	edited     bool
	// reasoningEdited: a person rewrote the reasoning of this (paused) iteration.
	reasoningEdited bool
	forced          bool // the engine forced the boundary (η ran out)
	forcedEnd       bool // φ was reached and the engine asked for the conclusion
	finished        bool
	tokens          int
	seconds         float64
	tps             float64
}

type paneKind int

const (
	paneReasoning paneKind = iota
	paneSummary
	paneConclusion
)

// pane is one selectable, foldable block of the trace: an iteration's reasoning, its summary or
// the conclusion. A pane renders itself; it owns no Update loop.
type pane struct {
	kind      paneKind
	it        *iteration
	collapsed bool
	toggled   bool // folded or unfolded by hand: automatic folding leaves it alone

	// The rendered lines of a finished pane, valid for cacheW and cacheSel.
	cache    []string
	cacheW   int
	cacheSel bool
}

// finished panes no longer change: they are rendered once per width and their heights are
// cached in the layout.
func (p *pane) finished() bool { return p.it.finished }

func (p *pane) block() *textBlock {
	switch p.kind {
	case paneSummary:
		return p.it.summary
	case paneConclusion:
		return p.it.conclusion
	}
	return p.it.reasoning
}

// trace is the list of panes of the branch on screen, with the scroll position and selection.
// It is a component: the workbench and the inspector call its methods from their Update.
type trace struct {
	th  *themes.Theme
	its []*iteration

	panes    []*pane
	selected int  // index in panes; -1 when there are none
	autoSel  bool // the selection follows the newest pane until the person moves it
	answer   string
	correct  *bool
	hasAns   bool
	reason   string // why the run ended without an answer, when it did
	paused   bool   // the live panes say paused, not writing
	empty    string // what an empty trace says

	// Layout. offsets[i] is the first line of pane i for the panes before liveFrom, whose heights
	// cannot change until something structural happens (dirty); the live panes at the end are
	// measured on every frame, which costs the same however long the trace is.
	width    int
	height   int
	offset   int
	follow   bool
	dirty    bool
	offsets  []int
	liveFrom int
}

func newTrace(th *themes.Theme) *trace {
	return &trace{th: th, selected: -1, autoSel: true, follow: true, dirty: true, empty: "waiting for the first iteration…"}
}

func (t *trace) reset() {
	t.its = nil
	t.panes = nil
	t.selected = -1
	t.autoSel = true
	t.answer, t.correct, t.hasAns, t.reason = "", nil, false, ""
	t.dirty = true
}

func (t *trace) newIteration(k int, history string) *iteration {
	it := &iteration{
		index:      k,
		history:    history,
		reasoning:  newTextBlock(renderer(t.th.Reasoning)),
		summary:    newTextBlock(renderer(t.th.Summary)),
		conclusion: newTextBlock(renderer(t.th.Conclusion)),
	}
	return it
}

// truncate drops the iterations from k on (a new start of k, an edit before them, a branch).
func (t *trace) truncate(k int) {
	n := 0
	for _, it := range t.its {
		if it.index < k {
			n++
		}
	}
	if n == len(t.its) {
		return
	}
	t.its = t.its[:n]
	keep := t.panes[:0]
	for _, p := range t.panes {
		if p.it.index < k {
			keep = append(keep, p)
		}
	}
	t.panes = keep
	t.hasAns, t.answer, t.correct = false, "", nil
	if t.selected >= len(t.panes) {
		t.selected = len(t.panes) - 1
	}
	t.dirty = true
}

func (t *trace) addPane(kind paneKind, it *iteration) *pane {
	p := &pane{kind: kind, it: it}
	t.panes = append(t.panes, p)
	if t.autoSel || t.selected < 0 {
		t.selected = len(t.panes) - 1
	}
	t.dirty = true
	return p
}

func (t *trace) iter(k int) *iteration {
	for i := len(t.its) - 1; i >= 0; i-- {
		if t.its[i].index == k {
			return t.its[i]
		}
	}
	return nil
}

func (t *trace) paneOf(kind paneKind, it *iteration) *pane {
	for i := len(t.panes) - 1; i >= 0; i-- {
		if p := t.panes[i]; p.it == it && p.kind == kind {
			return p
		}
	}
	return nil
}

// startIteration begins iteration k; anything at k or after is stale.
func (t *trace) startIteration(k int, history string) *iteration {
	t.truncate(k)
	it := t.newIteration(k, history)
	t.its = append(t.its, it)
	t.addPane(paneReasoning, it)
	return it
}

// appendText streams text into a part of iteration k.
func (t *trace) appendText(k int, part session.Part, text string) {
	it := t.iter(k)
	if it == nil {
		it = t.startIteration(k, "")
	}
	switch part {
	case session.PartReasoning:
		it.reasoning.Append(text)
	case session.PartSummary:
		if t.paneOf(paneSummary, it) == nil {
			t.addPane(paneSummary, it)
		}
		it.summary.Append(text)
	case session.PartConclusion:
		if t.paneOf(paneConclusion, it) == nil {
			t.addPane(paneConclusion, it)
		}
		it.conclusion.Append(text)
	}
}

// setSummary replaces the summary of iteration k with its finished text.
func (t *trace) setSummary(k int, text string, forced bool) {
	it := t.iter(k)
	if it == nil {
		return
	}
	if t.paneOf(paneSummary, it) == nil {
		t.addPane(paneSummary, it)
	}
	if it.summary.String() != text {
		it.summary.Set(text)
	}
	it.forced = it.forced || forced
	t.touch(it)
}

// setReasoning replaces the reasoning of iteration k with the engine's final text (a scaffold
// cut drops the tail that was streamed).
func (t *trace) setReasoning(k int, text string) {
	it := t.iter(k)
	if it == nil || it.reasoning.String() == text {
		return
	}
	it.reasoning.Set(text)
	t.touch(it)
}

// endIteration marks iteration k finished; its reasoning folds unless the person unfolded it.
func (t *trace) endIteration(k int, forced bool, tokens int, seconds float64) {
	it := t.iter(k)
	if it == nil {
		return
	}
	it.finished = true
	it.forced = it.forced || forced
	if tokens > 0 {
		it.tokens = tokens
	}
	if seconds > 0 {
		it.seconds = seconds
		it.tps = float64(it.tokens) / seconds
	}
	if p := t.paneOf(paneReasoning, it); p != nil && !p.toggled {
		p.collapsed = true
	}
	t.touch(it)
}

// editSummary shows a person's edit of iteration k's summary beside the text it replaced;
// later iterations are stale.
func (t *trace) editSummary(k int, text, original string) {
	it := t.iter(k)
	if it == nil {
		return
	}
	it.original = original
	it.edited = true
	it.summary.Set(text)
	t.truncate(k + 1)
	t.touch(it)
}

// editReasoning shows a person's edit of the in-flight iteration k's reasoning.
func (t *trace) editReasoning(k int, text string) {
	it := t.iter(k)
	if it == nil {
		it = t.startIteration(k, "")
	}
	it.reasoning.Set(text)
	it.reasoningEdited = true
	t.truncate(k + 1)
	t.touch(it)
}

func (t *trace) setAnswer(text string, correct *bool) {
	t.answer, t.correct, t.hasAns = text, correct, true
	if it := t.current(); it != nil {
		t.touch(it)
	}
}

// load replaces the trace with finished iterations (a snapshot or a log).
func (t *trace) load(its []session.Iteration) {
	t.reset()
	for _, src := range its {
		it := t.newIteration(src.Index, src.History)
		it.reasoning.Set(src.Reasoning)
		it.summary.Set(src.Summary)
		it.conclusion.Set(src.Conclusion)
		it.edited = src.Edited
		it.original = src.Original
		it.forced = src.ForcedBoundary
		it.forcedEnd = src.ForcedConclusion
		it.finished = true
		it.tokens = src.Tokens
		it.seconds = src.Seconds
		if src.Seconds > 0 {
			it.tps = float64(src.Tokens) / src.Seconds
		}
		t.its = append(t.its, it)
		t.addPane(paneReasoning, it).collapsed = true
		if src.Summary != "" {
			t.addPane(paneSummary, it)
		}
		if src.Final || src.Conclusion != "" {
			t.addPane(paneConclusion, it)
		}
	}
}

// current is the iteration being written, or the last one.
func (t *trace) current() *iteration {
	if len(t.its) == 0 {
		return nil
	}
	return t.its[len(t.its)-1]
}

// latestSummary is the newest finished iteration that has a summary: what `e` edits by default.
func (t *trace) latestSummary() *iteration {
	for i := len(t.its) - 1; i >= 0; i-- {
		if it := t.its[i]; it.finished && it.summary.Len() > 0 {
			return it
		}
	}
	return nil
}

// selectedSummary is the summary `e` edits: the selected pane's iteration when it has a
// finished summary, else the latest.
func (t *trace) selectedSummary() *iteration {
	if !t.autoSel && t.selected >= 0 && t.selected < len(t.panes) {
		if it := t.panes[t.selected].it; it.finished && it.summary.Len() > 0 {
			return it
		}
	}
	return t.latestSummary()
}

// selectedLiveReasoning is the in-flight iteration when the person selected its reasoning pane
// (by hand: the automatic selection keeps `e` on the latest summary).
func (t *trace) selectedLiveReasoning() *iteration {
	if t.autoSel || t.selected < 0 || t.selected >= len(t.panes) {
		return nil
	}
	if p := t.panes[t.selected]; p.kind == paneReasoning && !p.it.finished {
		return p.it
	}
	return nil
}

// touch drops the rendered lines of iteration it's panes: the rest of the trace keeps its cache,
// so finishing an iteration costs the same however long the trace is.
func (t *trace) touch(it *iteration) {
	t.dirty = true
	for i := len(t.panes) - 1; i >= 0 && t.panes[i].it.index >= it.index; i-- {
		if t.panes[i].it == it {
			t.panes[i].cache = nil
		}
	}
}

// invalidate drops every rendered line (the width changed).
func (t *trace) invalidate() {
	t.dirty = true
	for _, p := range t.panes {
		p.cache = nil
	}
}

// moveSelection moves the selection by delta panes, wrapping around, and scrolls to it.
func (t *trace) moveSelection(delta int) {
	if len(t.panes) == 0 {
		return
	}
	old := t.selected
	if t.autoSel && delta > 0 {
		// The first tab takes hold of the newest pane, where the eye already is, rather than
		// jumping to the top of the trace.
		delta = 0
	}
	t.selected = ((t.selected+delta)%len(t.panes) + len(t.panes)) % len(t.panes)
	t.autoSel = false
	t.uncache(old)
	t.uncache(t.selected)
	t.reveal(t.selected)
}

func (t *trace) uncache(i int) {
	if i >= 0 && i < len(t.panes) {
		t.panes[i].cache = nil
	}
}

// toggleFold folds or unfolds the selected pane.
func (t *trace) toggleFold() {
	if t.selected < 0 || t.selected >= len(t.panes) {
		return
	}
	p := t.panes[t.selected]
	p.collapsed = !p.collapsed
	p.toggled = true
	p.cache = nil
	t.dirty = true
	t.reveal(t.selected)
}

// ---- layout ----

func (t *trace) setSize(w, h int) {
	if w != t.width {
		t.invalidate()
	}
	t.width, t.height = w, h
	t.clamp()
}

func (t *trace) relayout() {
	if !t.dirty && len(t.offsets) == t.liveFrom+1 {
		return
	}
	t.liveFrom = len(t.panes)
	for i, p := range t.panes {
		if !p.finished() {
			t.liveFrom = i
			break
		}
	}
	t.offsets = t.offsets[:0]
	y := 0
	for i := 0; i < t.liveFrom; i++ {
		t.offsets = append(t.offsets, y)
		y += t.paneHeight(i)
	}
	t.offsets = append(t.offsets, y)
	t.dirty = false
}

// totalHeight counts the lines of the whole trace.
func (t *trace) totalHeight() int {
	t.relayout()
	y := t.offsets[t.liveFrom]
	for i := t.liveFrom; i < len(t.panes); i++ {
		y += t.paneHeight(i)
	}
	return y + t.footerHeight()
}

func (t *trace) paneTop(i int) int {
	t.relayout()
	if i <= t.liveFrom {
		return t.offsets[i]
	}
	y := t.offsets[t.liveFrom]
	for j := t.liveFrom; j < i; j++ {
		y += t.paneHeight(j)
	}
	return y
}

func (t *trace) maxOffset() int {
	return max(0, t.totalHeight()-t.height)
}

func (t *trace) clamp() {
	if t.follow {
		t.offset = t.maxOffset()
		return
	}
	t.offset = min(max(t.offset, 0), t.maxOffset())
}

// scroll moves the view by n lines; reaching the bottom resumes following the stream.
func (t *trace) scroll(n int) {
	t.offset += n
	t.follow = false
	if t.offset >= t.maxOffset() {
		t.follow = true
	}
	t.clamp()
}

func (t *trace) scrollToEnd() {
	t.follow = true
	t.clamp()
}

func (t *trace) scrollToTop() {
	t.follow = false
	t.offset = 0
	if t.maxOffset() == 0 {
		t.follow = true
	}
	t.clamp()
}

// revealFirstEdit scrolls to the first iteration a person edited (its summary, beside the
// original, when it has one), where a reader of an edited branch looks first; a branch without
// an edit stays where it is.
func (t *trace) revealFirstEdit() {
	at := -1
	for i, p := range t.panes {
		if !p.it.edited && !p.it.reasoningEdited {
			continue
		}
		if at >= 0 && p.it != t.panes[at].it {
			break
		}
		if at < 0 || p.kind == paneSummary {
			at = i
		}
	}
	if at >= 0 {
		t.reveal(at)
	}
}

// reveal scrolls so that pane i's header is on screen.
func (t *trace) reveal(i int) {
	if i < 0 || i >= len(t.panes) {
		return
	}
	top := t.paneTop(i)
	bottom := top + t.paneHeight(i)
	switch {
	case top < t.offset:
		t.offset = top
	case bottom > t.offset+t.height:
		t.offset = min(top, bottom-t.height)
	}
	t.follow = t.offset >= t.maxOffset()
	t.clamp()
}

// ---- rendering ----

func (t *trace) contentWidth() int { return max(1, t.width-2) }

// paneHeight is the number of lines pane i takes.
func (t *trace) paneHeight(i int) int {
	p := t.panes[i]
	if p.finished() {
		return len(t.paneLines(i))
	}
	n := p.block().Lines(t.contentWidth())
	if p.collapsed && n > foldPreview+1 {
		n = foldPreview + 1
	}
	return 1 + n + 1 // header, body, blank line
}

// paneLine renders line j of pane i without building the pane's other lines when it is live.
func (t *trace) paneLine(i, j int) string {
	p := t.panes[i]
	if p.finished() {
		return t.paneLines(i)[j]
	}
	w := t.contentWidth()
	n := p.block().Lines(w)
	switch {
	case j == 0:
		return t.header(i)
	case p.collapsed && n > foldPreview+1 && j == foldPreview+1:
		return t.foldNote(n - foldPreview)
	case j-1 < n && !(p.collapsed && j-1 >= foldPreview && n > foldPreview+1):
		return t.bodyLine(p, p.block().Line(w, j-1))
	}
	return ""
}

// paneLines renders a finished pane, once per width and selection state.
func (t *trace) paneLines(i int) []string {
	p := t.panes[i]
	sel := i == t.selected
	if p.cache != nil && p.cacheW == t.width && p.cacheSel == sel {
		return p.cache
	}
	lines := []string{t.header(i)}
	w := t.contentWidth()
	var body []string
	if p.kind == paneSummary && p.it.edited && p.it.original != "" {
		body = t.sideBySide(p)
	} else {
		b := p.block()
		for j := 0; j < b.Lines(w); j++ {
			body = append(body, t.bodyLine(p, b.Line(w, j)))
		}
	}
	if p.kind == paneConclusion && t.hasAns {
		body = append(body, "", t.answerLine())
	}
	if p.collapsed && len(body) > foldPreview+1 {
		hidden := len(body) - foldPreview
		body = append(body[:foldPreview:foldPreview], t.foldNote(hidden))
	}
	lines = append(lines, body...)
	lines = append(lines, "")
	p.cache, p.cacheW, p.cacheSel = lines, t.width, sel
	return lines
}

func (t *trace) bodyPrefix(p *pane) string {
	if p.kind == paneSummary {
		return t.th.SummaryBar.Render("│") + " "
	}
	return "  "
}

func (t *trace) bodyLine(p *pane, line string) string {
	if line == "" && p.kind != paneSummary {
		return ""
	}
	return t.bodyPrefix(p) + line
}

func (t *trace) foldNote(hidden int) string {
	noun := "lines"
	if hidden == 1 {
		noun = "line"
	}
	return "  " + t.th.Folded.Render(fmt.Sprintf("… %d more %s hidden (enter unfolds)", hidden, noun))
}

// sideBySide lays an edited summary beside its original (stacked when the window is narrow).
func (t *trace) sideBySide(p *pane) []string {
	w := t.contentWidth()
	bar := t.bodyPrefix(p)
	if w < 50 {
		var out []string
		out = append(out, bar+t.th.Muted.Render("original:"))
		for _, l := range WrapText(p.it.original, w) {
			out = append(out, bar+t.th.Muted.Render(l))
		}
		out = append(out, bar+t.th.Edited.Render("edited:"))
		for _, l := range WrapText(p.it.summary.String(), w) {
			out = append(out, bar+t.th.Summary.Render(l))
		}
		return out
	}
	col := (w - 3) / 2
	left := append([]string{t.th.Muted.Render("original")}, styleAll(WrapText(p.it.original, col), t.th.Muted)...)
	right := append([]string{t.th.Edited.Render("edited")}, styleAll(WrapText(p.it.summary.String(), col), t.th.Summary)...)
	n := max(len(left), len(right))
	out := make([]string, 0, n)
	pad := lipgloss.NewStyle().Width(col)
	for i := 0; i < n; i++ {
		var l, r string
		if i < len(left) {
			l = left[i]
		}
		if i < len(right) {
			r = right[i]
		}
		out = append(out, bar+pad.Render(l)+" "+t.th.SummaryBar.Render("│")+" "+r)
	}
	return out
}

func renderer(s lipgloss.Style) func(string) string {
	return func(l string) string {
		if l == "" {
			return ""
		}
		return s.Render(l)
	}
}

func styleAll(lines []string, s lipgloss.Style) []string {
	for i, l := range lines {
		lines[i] = s.Render(l)
	}
	return lines
}

func (t *trace) answerLine() string {
	a := t.answer
	if a == "" {
		a = "(none found)"
	}
	s := "  " + t.th.Answer.Render("Answer: "+a)
	switch {
	case t.correct == nil:
		s += "  " + t.th.Muted.Render("(no reference to verify against)")
	case *t.correct:
		s += "  " + t.th.Correct.Render("✓ verified")
	default:
		s += "  " + t.th.Wrong.Render("✗ does not match the reference")
	}
	return s
}

// header renders the first line of pane i.
func (t *trace) header(i int) string {
	p := t.panes[i]
	it := p.it
	sel := "  "
	style := t.th.PaneHeader
	if i == t.selected && !t.autoSel {
		sel = "❯ "
		style = t.th.PaneSelected
	} else if i == t.selected {
		sel = "› "
	}
	fold := "▾ "
	if p.collapsed {
		fold = "▸ "
	}
	var title string
	var info []string
	switch p.kind {
	case paneReasoning:
		title = fmt.Sprintf("Iteration %d", it.index)
		if it.tokens > 0 || it.finished {
			info = append(info, fmt.Sprintf("%d tok", it.tokens), fmt.Sprintf("%.1f s", it.seconds))
		}
		if it.tps > 0 {
			info = append(info, fmt.Sprintf("%.1f tok/s", it.tps))
		}
		if it.reasoningEdited {
			info = append(info, t.th.Edited.Render("edited"))
		}
		switch {
		case !it.finished:
			info = append(info, t.liveState())
		case it.conclusion.Len() > 0 && it.forcedEnd:
			info = append(info, t.th.Forced.Render("conclusion forced (φ)"))
		case it.conclusion.Len() > 0:
			info = append(info, t.th.Natural.Render("concluded"))
		case it.forced:
			info = append(info, t.th.Forced.Render("boundary forced (η)"))
		default:
			info = append(info, t.th.Natural.Render("boundary by model"))
		}
	case paneSummary:
		title = fmt.Sprintf("Summary %d", it.index)
		style = t.th.SummaryTitle
		if i == t.selected && !t.autoSel {
			style = t.th.PaneSelected
		}
		if it.edited {
			info = append(info, t.th.Edited.Render("edited"))
		}
		if !it.finished {
			info = append(info, t.liveState())
		}
	case paneConclusion:
		title = "Conclusion"
		if !it.finished {
			info = append(info, t.liveState())
		}
	}
	line := sel + style.Render(fold+title)
	if len(info) > 0 {
		line += t.th.Muted.Render("  ·  ") + strings.Join(info, t.th.Muted.Render(" · "))
	}
	return truncateLine(line, t.width)
}

// liveState is what the header of a pane still being written says.
func (t *trace) liveState() string {
	if t.paused {
		return "paused"
	}
	return "writing…"
}

func (t *trace) footerHeight() int { return len(t.reasonLines()) }

// reasonLines is why the run ended, wrapped to the width (an error quotes paths and messages
// longer than a line).
func (t *trace) reasonLines() []string {
	if t.reason == "" {
		return nil
	}
	return WrapText(t.reason, max(10, t.width-2))
}

// view renders the visible lines.
func (t *trace) view() string {
	t.clamp()
	out := make([]string, 0, t.height)
	if len(t.panes) == 0 {
		out = append(out, "  "+t.th.Muted.Render(t.empty))
	}
	y := t.offset
	end := t.offset + t.height
	// Find the first pane on screen: binary search among the finished ones.
	t.relayout()
	i := sort.Search(t.liveFrom, func(i int) bool { return t.offsets[i+1] > y })
	top := t.paneTop(i)
	for ; i < len(t.panes) && len(out) < t.height; i++ {
		h := t.paneHeight(i)
		for j := max(0, y-top); j < h && top+j < end; j++ {
			out = append(out, t.paneLine(i, j))
		}
		top += h
	}
	for _, l := range t.reasonLines() {
		if len(out) < t.height && top >= y {
			out = append(out, "  "+t.th.Error.Render(l))
		}
	}
	for len(out) < t.height {
		out = append(out, "")
	}
	return strings.Join(out, "\n")
}

// truncateLine cuts a styled line to width cells.
func truncateLine(s string, width int) string {
	if lipgloss.Width(s) <= width {
		return s
	}
	return ansi.Truncate(s, width, "…")
}
