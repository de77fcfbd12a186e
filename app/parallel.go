package app

import (
	"context"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/charmbracelet/x/term"
)

// inOrder runs work on the items next yields with up to parallel of them in flight (at least
// one), and hands each result to done in the order the items came, as soon as those before it
// are done: a run with parallel 1 and one with N see the same sequence. It stops taking items
// when ctx ends or done or next fails, lets those in flight finish, and returns the first error
// of next or done (work reports its own failures in its result).
func inOrder[T, R any](ctx context.Context, parallel int, next func() (T, bool, error), work func(context.Context, T) R, done func(T, R) error) error {
	type slot struct {
		item T
		res  chan R
	}
	// The channel holds the items started and not yet handed on, in order; with the one done
	// waits for, that bounds what is in flight to parallel.
	order := make(chan slot, max(parallel, 1)-1)
	stop := make(chan struct{})
	var nextErr error
	go func() {
		defer close(order)
		for ctx.Err() == nil {
			item, ok, err := next()
			if err != nil || !ok {
				nextErr = err
				return
			}
			s := slot{item, make(chan R, 1)}
			select {
			case order <- s:
			case <-stop:
				return
			}
			go func() { s.res <- work(ctx, s.item) }()
		}
	}()
	var err error
	for s := range order {
		r := <-s.res
		if err == nil {
			if err = done(s.item, r); err != nil {
				close(stop)
			}
		}
	}
	if err != nil {
		return err
	}
	return nextErr
}

// checkParallel refuses a negative --parallel (0 means 1, the zero value of the options).
func checkParallel(n int) error {
	if n < 0 {
		return fmt.Errorf("invalid --parallel %d: want 1 or more", n)
	}
	return nil
}

// progress is one line on a terminal, rewritten as items finish, with the rate and the time
// left; elsewhere it says nothing until finish prints a plain summary.
type progress struct {
	w       io.Writer
	tty     bool
	label   string
	total   int // 0: unknown
	start   time.Time
	done    int
	extra   string
	printed bool
}

func newProgress(w io.Writer, label string, total int) *progress {
	p := &progress{w: w, label: label, total: total, start: time.Now()}
	if f, ok := w.(interface{ Fd() uintptr }); ok && term.IsTerminal(f.Fd()) {
		p.tty = true
	}
	p.draw()
	return p
}

// update records that done items are finished; extra is shown after the counts.
func (p *progress) update(done int, extra string) {
	p.done, p.extra = done, extra
	p.draw()
}

func (p *progress) draw() {
	if !p.tty {
		return
	}
	p.printed = true
	fmt.Fprint(p.w, "\r\x1b[2K"+p.line(true))
}

func (p *progress) line(live bool) string {
	el := time.Since(p.start)
	var b strings.Builder
	fmt.Fprintf(&b, "%s %d", p.label, p.done)
	if p.total > 0 {
		fmt.Fprintf(&b, "/%d", p.total)
		if live {
			const width = 24
			filled := width * min(p.done, p.total) / p.total
			b.WriteString(" " + strings.Repeat("█", filled) + strings.Repeat("░", width-filled))
		}
	}
	if p.extra != "" {
		b.WriteString("  " + p.extra)
	}
	if s := el.Seconds(); s > 0 && p.done > 0 {
		rate := float64(p.done) / s
		fmt.Fprintf(&b, "  %.2f/s", rate)
		if live && p.total > p.done {
			eta := time.Duration(float64(p.total-p.done) / rate * float64(time.Second))
			fmt.Fprintf(&b, "  ETA %s", eta.Round(time.Second))
		}
	}
	fmt.Fprintf(&b, "  %s", el.Round(100*time.Millisecond))
	return b.String()
}

// finish clears the live line and prints the summary: on a terminal and off it alike, so a
// log of a batch run says what finished.
func (p *progress) finish() {
	p.clear()
	fmt.Fprintln(p.w, p.line(false))
}

// clear takes the live line off the terminal.
func (p *progress) clear() {
	if p.printed {
		fmt.Fprint(p.w, "\r\x1b[2K")
		p.printed = false
	}
}

// rate is " (TIME, R/s)": how long the items took and how fast they went.
func (p *progress) rate() string {
	el := time.Since(p.start)
	return fmt.Sprintf(" (%s, %.2f/s)", el.Round(100*time.Millisecond), float64(p.done)/max(el.Seconds(), 1e-9))
}
