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
	iterTok   int
	total     int
	tps       float64
	elapsed   time.Duration
	branch    int
}

func (s statusBar) render(th *themes.Theme, width int) string {
	sep := th.StatusBar.Render(" │ ")
	var st string
	switch s.state {
	case stateRunning, stateStarting:
		st = th.Running.Render("● " + s.state.String())
	case statePaused:
		st = th.Paused.Render("‖ " + s.state.String())
	case stateDone:
		st = th.Done.Render("✓ " + s.state.String())
	case stateFailed:
		st = th.Paused.Render("✗ " + s.state.String())
	default:
		st = th.StatusValue.Render(s.state.String())
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
	kv := func(k, v string) string { return th.StatusKey.Render(k) + th.StatusValue.Render(v) }
	type part struct {
		text string
		prio int // lower survives longer on a narrow window
	}
	parts := []part{
		{th.StatusValue.Render(model), 6},
		{th.StatusValue.Render(dev), 7},
		{st, 0},
		{kv("iter ", fmt.Sprintf("%d/%d", s.iteration, s.info.Phi)), 1},
		{kv("η ", fmt.Sprintf("%d/%d", s.iterTok, s.info.Eta)), 2},
		{kv("Σ ", fmt.Sprintf("%d tok", s.total)), 4},
		{th.StatusValue.Render(fmt.Sprintf("%.1f tok/s", s.tps)), 5},
		{th.StatusValue.Render(formatElapsed(s.elapsed)), 3},
	}
	if dev == "" {
		parts = append(parts[:1], parts[2:]...)
	}
	if s.branch > 1 {
		parts = append(parts, part{kv("branch ", fmt.Sprint(s.branch)), 4})
	}
	join := func(ps []part) string {
		texts := make([]string, len(ps))
		for i, p := range ps {
			texts[i] = p.text
		}
		return th.StatusBar.Render(" ") + strings.Join(texts, sep)
	}
	line := join(parts)
	for lipgloss.Width(line) > width && len(parts) > 1 {
		worst := 0
		for i, p := range parts {
			if p.prio > parts[worst].prio {
				worst = i
			}
		}
		parts = append(parts[:worst], parts[worst+1:]...)
		line = join(parts)
	}
	return th.StatusBar.Width(width).MaxWidth(width).Render(truncateLine(line, width))
}

func formatElapsed(d time.Duration) string {
	d = d.Round(time.Second)
	h := int(d / time.Hour)
	m := int(d/time.Minute) % 60
	s := int(d/time.Second) % 60
	return fmt.Sprintf("%02d:%02d:%02d", h, m, s)
}
