package session_test

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"testing"

	"github.com/infty-dev/infty/session"
	"github.com/infty-dev/infty/session/sessiontest"
	"github.com/infty-dev/infty/session/trajlog"
)

func TestCurate(t *testing.T) {
	calls := 0
	summarizer := sessiontest.New("summarizer", func(st sessiontest.State) (string, bool) {
		if st.Assistant() == "" {
			calls++
			return "* summary " + strings.Repeat("I", calls), false
		}
		return "", true
	})
	logPath := filepath.Join(t.TempDir(), "log.jsonl")
	w, err := trajlog.Open(logPath)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	para := func(c string) string { return "A paragraph " + strings.Repeat(c, 10) } // 22 tokens (one per character)
	reasoning := "<think>\n" + para("a") + "\n\nlower case joins it\n\n" + para("b") + "\n\n" + para("c") + "\n</think>"
	var evs []session.Event
	snap, err := session.Curate(context.Background(), summarizer, session.Config{Eta: 40}, session.Trace{Question: "q?", Reasoning: reasoning, Answer: "So \\boxed{3}.", Reference: "3"}, w,
		func(ev session.Event) { evs = append(evs, ev) })
	if err != nil {
		t.Fatal(err)
	}
	if len(snap.Iterations) != 2 || snap.Answer != "3" || snap.Correct == nil || !*snap.Correct {
		t.Fatalf("snapshot %+v", snap)
	}
	first, last := snap.Iterations[0], snap.Iterations[1]
	if first.Reasoning != para("a")+"\n\nlower case joins it" || first.Summary != "* summary I" || first.Final {
		t.Errorf("first %+v", first)
	}
	if last.Reasoning != para("b")+"\n\n"+para("c") || last.History != "* summary I" || !last.Final || last.Conclusion != "So \\boxed{3}." {
		t.Errorf("last %+v", last)
	}
	if calls != 1 {
		t.Errorf("%d summarizer calls, want 1 (the last segment concludes)", calls)
	}
	if evs[len(evs)-1].Type != session.EventDone {
		t.Errorf("last event %+v", evs[len(evs)-1])
	}
	runs, _, err := trajlog.ReadFile(logPath)
	if err != nil || len(runs) != 1 || runs[0].Mode != "curate" || len(runs[0].Branch(1).Iterations) != 2 || !runs[0].Branch(1).Done {
		t.Fatalf("log %v %+v", err, runs)
	}

	long := "A" + strings.Repeat("x", 600)
	if _, err := session.Curate(context.Background(), summarizer, session.Config{Eta: 40}, session.Trace{Question: "q", Reasoning: long}, nil, nil); !errors.Is(err, session.ErrSkipped) {
		t.Errorf("long paragraph: %v", err)
	}
	if _, err := session.Curate(context.Background(), summarizer, session.Config{Eta: 40}, session.Trace{Question: "q"}, nil, nil); err == nil {
		t.Error("empty reasoning accepted")
	}
}
