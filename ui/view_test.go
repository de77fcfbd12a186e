package ui

import (
	"strings"
	"testing"

	"charm.land/lipgloss/v2"
	"github.com/charmbracelet/x/exp/golden"
	"github.com/infty-dev/infty/session"
)

func TestKeyNames(t *testing.T) {
	for _, k := range []string{"space", "enter", "tab", "shift+tab", "esc", "ctrl+s", "ctrl+c", "e", "b", "?", "q"} {
		if got := keyMsg(k).String(); got != k {
			t.Errorf("key %q reads as %q", k, got)
		}
	}
}

func TestGoldenStreaming(t *testing.T) {
	m, _ := newTestModel(80, 24)
	evs := scripted()
	feed(m, evs[:30]...)
	golden.RequireEqual(t, plain(t, m))
}

func TestGoldenDone(t *testing.T) {
	m, _ := newTestModel(80, 30)
	feed(m, scripted()...)
	golden.RequireEqual(t, plain(t, m))
}

func TestGoldenDoneNarrow(t *testing.T) {
	m, _ := newTestModel(48, 20)
	feed(m, scripted()...)
	golden.RequireEqual(t, plain(t, m))
}

func TestGoldenTooSmall(t *testing.T) {
	m, _ := newTestModel(30, 8)
	feed(m, scripted()...)
	golden.RequireEqual(t, plain(t, m))
}

func TestGoldenPausedEditor(t *testing.T) {
	m, run := newTestModel(80, 24)
	evs := scripted()
	n := 0
	for i, ev := range evs {
		if ev.Type == session.EventIterationStart && ev.Iteration == 2 {
			n = i + 5
		}
	}
	feed(m, evs[:n]...)
	press(m, "space")
	feed(m, session.Event{Type: session.EventPaused, Iteration: 2, Time: t0.Add(6e9)})
	if !strings.Contains(plain(t, m), "paused") {
		t.Fatal("the screen does not say paused")
	}
	press(m, "e")
	golden.RequireEqual(t, plain(t, m))
	if got := run.Calls(); len(got) != 1 || got[0] != "pause" {
		t.Fatalf("controls used: %q, want one pause", got)
	}
}

// Every window size draws exactly the window: no panic, no line wider than it, no more lines
// than it has, in every mode.
func TestEverySizeFits(t *testing.T) {
	evs := scripted()
	for w := 1; w <= 130; w += 3 {
		for h := 1; h <= 40; h += 3 {
			m, _ := newTestModel(w, h)
			feed(m, evs...)
			for _, keys := range [][]string{nil, {"?"}, {"e"}, {"esc", "tab", "enter"}} {
				press(m, keys...)
				out := plain(t, m)
				lines := strings.Split(out, "\n")
				if len(lines) > h {
					t.Fatalf("%d×%d after %v: %d lines", w, h, keys, len(lines))
				}
				for _, l := range lines {
					if lw := lipgloss.Width(l); lw > w {
						t.Fatalf("%d×%d after %v: line %q is %d wide", w, h, keys, l, lw)
					}
				}
			}
		}
	}
}
