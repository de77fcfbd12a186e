package app

import (
	"bytes"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/infty-dev/infty/session"
)

// The defaults shrink to the model's window so that an iteration (history, η, summary or
// conclusion) leaves a quarter of it for the question, and stay the engine's own for long windows.
func TestConfigDefaultsFitTheWindow(t *testing.T) {
	for _, w := range []int{512, 4096, 6000, 8192, 12288, 32768, 131072} {
		cfg, err := (&RunSpec{Format: "text"}).config(w)
		if err != nil {
			t.Fatal(err)
		}
		if used := cfg.SummaryMax + cfg.Eta + max(cfg.SummaryMax, cfg.ConclusionMax); used > w*3/4 {
			t.Errorf("window %d: summary %d + η %d + bound %d = %d leaves less than a quarter", w, cfg.SummaryMax, cfg.Eta, max(cfg.SummaryMax, cfg.ConclusionMax), used)
		}
	}
	cfg, _ := (&RunSpec{Format: "text"}).config(131072)
	if cfg.Eta != session.DefaultEta || cfg.SummaryMax != session.DefaultSummaryMax || cfg.ConclusionMax != session.DefaultConclusionMax {
		t.Errorf("a long window changed the defaults: %+v", cfg)
	}
}

func TestReportPanic(t *testing.T) {
	var buf bytes.Buffer
	ReportPanic(&buf, nil)
	ReportPanic(&buf, errors.New("iteration 2: plain failure"))
	if buf.Len() != 0 {
		t.Fatalf("reported a stack for no panic: %q", buf.String())
	}
	ReportPanic(&buf, fmt.Errorf("generate (iteration 2): %w", &session.PanicError{What: "model m", Value: "boom", Stack: []byte("goroutine 7 [running]")}))
	if s := buf.String(); !strings.Contains(s, "model m panicked: boom") || !strings.Contains(s, "goroutine 7 [running]") || !strings.Contains(s, "bug") {
		t.Fatalf("report %q", s)
	}
}

// A question in the synthetic task's form is checked against its computed answer unless
// --answer says otherwise; any other question is left unchecked.
func TestSyntheticReference(t *testing.T) {
	q := "a=4 d=3 x=5 n=02. Do n steps: d=d+a, x=x+d (mod 10). x=?"
	var cfg session.Config
	syntheticReference(&cfg, q)
	if cfg.Reference != "3" {
		t.Fatalf("reference %q, want 3", cfg.Reference)
	}
	cfg = session.Config{Reference: "7"}
	syntheticReference(&cfg, q)
	if cfg.Reference != "7" {
		t.Fatalf("--answer overridden: %q", cfg.Reference)
	}
	cfg = session.Config{}
	syntheticReference(&cfg, "What is 2+2?")
	if cfg.Reference != "" {
		t.Fatalf("reference %q for a free question", cfg.Reference)
	}
}

func TestAnswerLine(t *testing.T) {
	yes, no := true, false
	for _, c := range []struct {
		answer  string
		correct *bool
		want    string
	}{
		{"42", &yes, "answer: 42 ✓ correct"},
		{"41", &no, "answer: 41 ✗ incorrect"},
		{"", nil, "answer: (none found)"},
	} {
		if got := AnswerLine(c.answer, "(none found)", c.correct); got != c.want {
			t.Errorf("AnswerLine(%q, %v) = %q, want %q", c.answer, c.correct, got, c.want)
		}
	}
}
