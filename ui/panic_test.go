package ui

import (
	"bytes"
	"errors"
	"strings"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"
	"github.com/infty-dev/infty/themes"
)

// A panic while starting a run (model loading runs in a command) must end the program with the
// terminal restored: alternate screen left, cursor shown.
func TestPanicRestoresTerminal(t *testing.T) {
	m := New(Options{Theme: themes.Dark(), Question: "q", NoTick: true, Start: func(string) (Started, error) {
		time.Sleep(200 * time.Millisecond) // after the first frame entered the alternate screen
		panic("model loader exploded")
	}})
	var out bytes.Buffer
	p := tea.NewProgram(m, tea.WithInput(strings.NewReader("")), tea.WithOutput(&out), tea.WithWindowSize(80, 24), tea.WithoutSignals())
	done := make(chan error, 1)
	go func() { _, err := p.Run(); done <- err }()
	select {
	case err := <-done:
		if !errors.Is(err, tea.ErrProgramPanic) {
			t.Fatalf("program ended with %v, want ErrProgramPanic", err)
		}
	case <-time.After(10 * time.Second):
		p.Kill()
		t.Fatal("the program did not end after the panic")
	}
	s := out.String()
	enter, leave := strings.LastIndex(s, "\x1b[?1049h"), strings.LastIndex(s, "\x1b[?1049l")
	if enter < 0 || leave < enter {
		t.Fatalf("the alternate screen was not left after the panic: %q", s[max(0, len(s)-200):])
	}
	if !strings.Contains(s[leave:]+s[:leave], "\x1b[?25h") {
		t.Fatal("the cursor was not shown again")
	}
}
