package ui

import (
	"fmt"
	"path/filepath"
	"strings"
	"time"

	"charm.land/lipgloss/v2"
	"github.com/infty-dev/infty/themes"
)

// runState is what the status bar calls the run.
type runState int

const (
	stateIdle runState = iota // asking for a question
	stateStarting
	stateRunning
	statePaused
	stateDone
	stateFailed
)

func (s runState) String() string {
	return [...]string{"idle", "starting", "running", "paused", "done", "failed"}[s]
}

// statusBar is the data of the bottom line; it renders itself.
type statusBar struct {
	info      Info
	state     runState
	iteration int
	iterTok   int // tokens of the iteration on screen so far (Σ)
	reasonTok int // its reasoning tokens, what η bounds
	total     int
	tps       float64
	elapsed   time.Duration
	branch    int
}

func (s statusBar) render(th *themes.Theme, width int) string {
	// Laid out in plain text first and styled in three pieces (before the state, the state,
	// after it): the bar is drawn on every frame, so it must cost a few renders, not dozens.
	var icon string
	stateStyle := th.StatusValue
	switch s.state {
	case stateRunning, stateStarting:
		icon, stateStyle = "● ", th.Running
	case statePaused:
		icon, stateStyle = "‖ ", th.Paused
	case stateDone:
		icon, stateStyle = "✓ ", th.Done
	case stateFailed:
		icon, stateStyle = "✗ ", th.Paused
	}
	model := s.info.Model
	if model == "" {
		model = "model?"
	}
	if strings.ContainsAny(model, `/\`) && !strings.HasSuffix(model, "/") {
		// A folder or a hub id: the last element names the model; the full one is in the log.
		model = filepath.Base(model)
	}
	dev := strings.Trim(strings.Join([]string{s.info.Backend, s.info.Device}, "/"), "/")
	type part struct {
		text string
		prio int // lower survives longer on a narrow window
	}
	parts := []part{
		{model, 6},
		{dev, 7},
		{icon + s.state.String(), 0},
		{fmt.Sprintf("iter %d/%d", s.iteration, s.info.Phi), 1},
		{fmt.Sprintf("η %d/%d", s.reasonTok, s.info.Eta), 2},
		{fmt.Sprintf("Σ %d tok", s.total), 4},
		{fmt.Sprintf("%.1f tok/s", s.tps), 5},
		{formatElapsed(s.elapsed), 3},
	}
	if dev == "" {
		parts = append(parts[:1], parts[2:]...)
	}
	if s.branch > 1 {
		parts = append(parts, part{fmt.Sprintf("branch %d", s.branch), 4})
	}
	const sep = " │ "
	total := func() int {
		n := 1
		for i, p := range parts {
			if i > 0 {
				n += 3
			}
			n += lipgloss.Width(p.text)
		}
		return n
	}
	for total() > width && len(parts) > 1 {
		worst := 0
		for i, p := range parts {
			if p.prio > parts[worst].prio {
				worst = i
			}
		}
		parts = append(parts[:worst], parts[worst+1:]...)
	}
	var before, state, after strings.Builder
	before.WriteString(" ")
	cur := &before
	for i, p := range parts {
		if i > 0 {
			cur.WriteString(sep)
		}
		if p.prio == 0 {
			state.WriteString(p.text)
			cur = &after
			continue
		}
		cur.WriteString(p.text)
	}
	used := lipgloss.Width(before.String()) + lipgloss.Width(state.String()) + lipgloss.Width(after.String())
	if used > width {
		return truncateLine(th.StatusBar.Render(before.String()+state.String()+after.String()), width)
	}
	after.WriteString(strings.Repeat(" ", width-used))
	return th.StatusBar.Render(before.String()) + stateStyle.Render(state.String()) + th.StatusBar.Render(after.String())
}

func formatElapsed(d time.Duration) string {
	d = d.Round(time.Second)
	h := int(d / time.Hour)
	m := int(d/time.Minute) % 60
	s := int(d/time.Second) % 60
	return fmt.Sprintf("%02d:%02d:%02d", h, m, s)
}
