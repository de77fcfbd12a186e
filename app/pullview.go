package app

import (
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/charmbracelet/x/term"
	"github.com/infty-dev/infty/runtime/hub"
)

// PullView shows download progress: on a terminal one line redrawn in place (bar, bytes, speed,
// ETA); otherwise a plain line per finished file, so logs stay readable.
type PullView struct {
	w     io.Writer
	tty   bool
	width int

	file      string
	fileStart int64 // FileDone when the file's first event arrived (resume point or 0)
	fetched   int64 // bytes received in this run
	fileGot   int64 // of which for the current file
	lastFile  int64
	start     time.Time
	lastDraw  time.Time
	last      hub.Progress
	drawn     bool
}

func NewPullView(w io.Writer) *PullView {
	pv := &PullView{w: w, width: 80}
	if f, ok := w.(interface{ Fd() uintptr }); ok && term.IsTerminal(f.Fd()) {
		pv.tty = true
		if cols, _, err := term.GetSize(f.Fd()); err == nil && cols > 20 {
			pv.width = cols
		}
	}
	return pv
}

func (pv *PullView) Update(p hub.Progress) {
	now := time.Now()
	if p.File != pv.file {
		pv.file, pv.fileStart, pv.lastFile, pv.fileGot = p.File, p.FileDone, p.FileDone, 0
	}
	arriving := p.Phase == hub.PhaseDownload ||
		(p.Phase == hub.PhaseFileDone || p.Phase == hub.PhaseVerify) && (pv.last.Phase == hub.PhaseDownload || pv.last.Phase == hub.PhaseVerify)
	if arriving && p.FileDone > pv.lastFile {
		if pv.fetched == 0 {
			pv.start = now
		}
		pv.fetched += p.FileDone - pv.lastFile
		pv.fileGot += p.FileDone - pv.lastFile
	}
	if p.FileDone < pv.lastFile { // the server ignored Range: the file restarted
		pv.fileStart = 0
	}
	pv.lastFile = p.FileDone
	pv.last = p
	if !pv.tty {
		switch p.Phase {
		case hub.PhaseFileDone:
			how := "cached"
			switch {
			case pv.fileGot > 0 && pv.fileStart > 0:
				how = "resumed at " + hub.FormatBytes(pv.fileStart)
			case pv.fileGot > 0:
				how = "downloaded"
			}
			fmt.Fprintf(pv.w, "%s  %s  %s\n", p.File, hub.FormatBytes(p.FileTotal), how)
		case hub.PhaseWaiting:
			fmt.Fprintf(pv.w, "%s  waiting for another process downloading it\n", p.File)
		case hub.PhaseRetry:
			fmt.Fprintf(pv.w, "%s  transfer interrupted at %s; resuming\n", p.File, hub.FormatBytes(p.FileDone))
		}
		return
	}
	if p.Phase != hub.PhaseFileDone && now.Sub(pv.lastDraw) < 100*time.Millisecond {
		return
	}
	pv.lastDraw = now
	pv.draw(now)
}

func (pv *PullView) draw(now time.Time) {
	p := pv.last
	frac := 0.0
	if p.Total > 0 {
		frac = float64(p.Done) / float64(p.Total)
	}
	stats := fmt.Sprintf(" %3.0f%%  %s / %s", 100*frac, hub.FormatBytes(p.Done), hub.FormatBytes(p.Total))
	if el := now.Sub(pv.start).Seconds(); pv.fetched > 0 && el > 0.2 {
		rate := float64(pv.fetched) / el
		stats += fmt.Sprintf("  %s/s", hub.FormatBytes(int64(rate)))
		if rate > 0 && p.Total > p.Done {
			eta := time.Duration(float64(p.Total-p.Done) / rate * float64(time.Second)).Round(time.Second)
			stats += "  ETA " + eta.String()
		}
	}
	switch p.Phase {
	case hub.PhaseVerify:
		stats += "  verifying"
	case hub.PhaseWaiting:
		stats += "  waiting for another process"
	case hub.PhaseRetry:
		stats += "  resuming"
	}
	name := p.File
	barW := 24
	room := pv.width - len(stats) - barW - 4
	if room < 8 {
		barW, room = 10, max(pv.width-len(stats)-14, 4)
	}
	if len(name) > room {
		name = "…" + name[len(name)-room+1:]
	}
	filled := int(frac * float64(barW))
	bar := strings.Repeat("━", filled) + strings.Repeat("─", barW-filled)
	fmt.Fprintf(pv.w, "\r\x1b[2K%-*s %s%s", room, name, bar, stats)
	pv.drawn = true
}

func (pv *PullView) Finish() {
	if pv.tty && pv.drawn {
		pv.draw(time.Now())
		fmt.Fprintln(pv.w)
	}
}
