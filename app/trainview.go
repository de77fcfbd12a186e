package app

import (
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/charmbracelet/x/term"
	"github.com/infty-dev/infty/train"
)

// TrainView is `infty train`'s progress display: a bar redrawn in place on a terminal, a line every few seconds
// otherwise (logs).
type TrainView struct {
	w          io.Writer
	tty        bool
	start      time.Time
	first, all int
	lastPrint  time.Time
	ema        float64
}

// NewTrainView starts the display of a run resumed at step done of steps.
func NewTrainView(w io.Writer, done, steps int) *TrainView {
	v := &TrainView{w: w, start: time.Now(), first: done, all: steps}
	if f, ok := w.(interface{ Fd() uintptr }); ok && term.IsTerminal(f.Fd()) {
		v.tty = true
	}
	return v
}

// Step shows one finished optimizer step.
func (v *TrainView) Step(s train.StepStats) { v.StepNote(s, "") }

// StepNote shows one finished step with a note after the optimizer's numbers (an RL step's
// reward).
func (v *TrainView) StepNote(s train.StepStats, note string) {
	if v.ema == 0 {
		v.ema = s.Loss
	} else {
		v.ema = 0.9*v.ema + 0.1*s.Loss
	}
	elapsed := time.Since(v.start)
	perStep := elapsed / time.Duration(max(1, s.Step-v.first))
	eta := perStep * time.Duration(v.all-s.Step)
	line := fmt.Sprintf("step %d/%d  loss %.4f (avg %.4f)  |g| %.2f  lr %.2e  %.1fs/step  eta %s",
		s.Step, v.all, s.Loss, v.ema, s.GradNorm, s.LR, perStep.Seconds(), eta.Round(time.Second))
	if note != "" {
		line += "  " + note
	}
	if v.tty {
		width := 24
		filled := width * s.Step / max(1, v.all)
		bar := strings.Repeat("█", filled) + strings.Repeat("░", width-filled)
		fmt.Fprintf(v.w, "\r\x1b[2K%s %s", bar, line)
		return
	}
	if time.Since(v.lastPrint) >= 10*time.Second || s.Step == v.all || s.Step == v.first+1 {
		fmt.Fprintln(v.w, line)
		v.lastPrint = time.Now()
	}
}

// Done ends the display.
func (v *TrainView) Done() {
	if v.tty {
		fmt.Fprintln(v.w)
	}
}
