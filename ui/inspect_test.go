package ui

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"
	"charm.land/lipgloss/v2"
	"github.com/charmbracelet/colorprofile"
	"github.com/charmbracelet/x/exp/golden"
	"github.com/infty-dev/infty/session"
	"github.com/infty-dev/infty/session/sessiontest"
	"github.com/infty-dev/infty/session/trajlog"
	"github.com/infty-dev/infty/themes"
)

// writeLog runs two questions on the real engine with a scripted model into a log; the first
// gets summary 1 edited after it concluded, which continues on branch 2.
func writeLog(t *testing.T) string { return writeLogEdit(t, 3, 1) }

// writeLogEdit is writeLog with the first question concluding at iteration concludeAt and
// summary editAt edited.
func writeLogEdit(t *testing.T, concludeAt, editAt int) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "runs.jsonl")
	clock := func() time.Time { return t0 }
	for i, q := range []string{"What is six times seven?", "Name the answer to everything."} {
		model := sessiontest.New("scripted", sessiontest.Script{Reason: func(int) int { return 12 }, ConcludeAt: concludeAt, SummaryWords: 3, Answer: "42"}.Policy())
		eng, err := session.New(model, session.Config{Eta: 64, Phi: max(5, concludeAt), Reference: "42", LogPath: path, RunID: []string{"run-a", "run-b"}[i]}, session.WithClock(clock))
		if err != nil {
			t.Fatal(err)
		}
		ch, err := eng.Start(context.Background(), q)
		if err != nil {
			t.Fatal(err)
		}
		go func() {
			for range ch {
			}
		}()
		waitDone := func(branch int) {
			deadline := time.Now().Add(10 * time.Second)
			for s := eng.Snapshot(); !(s.Branch == branch && s.Done); s = eng.Snapshot() {
				if time.Now().After(deadline) {
					t.Fatalf("branch %d did not conclude", branch)
				}
				time.Sleep(2 * time.Millisecond)
			}
		}
		waitDone(1)
		if i == 0 {
			if err := eng.EditSummary(editAt, "* a person rewrote this summary"); err != nil {
				t.Fatal(err)
			}
			waitDone(2)
		}
		eng.Close()
	}
	return path
}

func newTestInspector(t *testing.T, w, h int) (*Inspector, string) {
	path := writeLog(t)
	runs, warnings, err := trajlog.ReadFile(path)
	if err != nil || len(runs) != 2 {
		t.Fatalf("log: %v, %d runs", err, len(runs))
	}
	in := NewInspector(InspectOptions{Theme: themes.Dark(), Path: "runs.jsonl", Runs: runs, Warnings: warnings})
	in.Update(tea.WindowSizeMsg{Width: w, Height: h})
	return in, path
}

func plainInspector(tb testing.TB, in *Inspector) string {
	var buf bytes.Buffer
	w := &colorprofile.Writer{Forward: &buf, Profile: colorprofile.NoTTY}
	w.Write([]byte(in.View().Content))
	return buf.String()
}

func inspKeys(in *Inspector, keys ...string) tea.Cmd {
	var last tea.Cmd
	for _, k := range keys {
		_, last = in.Update(keyMsg(k))
	}
	return last
}

func TestInspectListFilterOpen(t *testing.T) {
	in, _ := newTestInspector(t, 100, 24)
	t.Run("list", func(t *testing.T) { golden.RequireEqual(t, plainInspector(t, in)) })

	inspKeys(in, "E") // only edited
	if len(in.rows) != 1 || in.rows[0].ID != "run-a" {
		t.Fatalf("edited filter kept %d rows", len(in.rows))
	}
	inspKeys(in, "E", "/", "e", "v", "e", "r", "y", "enter")
	if len(in.rows) != 1 || in.rows[0].ID != "run-b" {
		t.Fatalf("word filter kept %d rows", len(in.rows))
	}
	inspKeys(in, "esc")
	if len(in.rows) != 2 {
		t.Fatal("esc did not clear the filter")
	}

	inspKeys(in, "enter") // open run-a, shown on its current branch 2
	if in.mode != inspDetail || in.branch.ID != 2 {
		t.Fatalf("opened mode %v branch %+v", in.mode, in.branch)
	}
	out := plainInspector(t, in)
	for _, want := range []string{"original", "edited", "* a person rewrote this summary", "Answer: 42"} {
		if !strings.Contains(out, want) {
			t.Fatalf("the open trajectory lacks %q:\n%s", want, out)
		}
	}
	t.Run("open", func(t *testing.T) { golden.RequireEqual(t, out) })

	inspKeys(in, "b", "up", "enter")
	if in.branch.ID != 1 {
		t.Fatalf("branch list showed branch %d, want 1", in.branch.ID)
	}
	if strings.Contains(plainInspector(t, in), "a person rewrote") {
		t.Fatal("branch 1 shows the edit of branch 2")
	}
	inspKeys(in, "esc")
	if in.mode != inspList {
		t.Fatal("esc did not go back to the list")
	}
}

// An edit far down a long branch is what its reader opens it for: the view starts there, not at
// a top where the edit is out of sight (the e2e script met this under load).
func TestInspectOpensAtTheEdit(t *testing.T) {
	path := writeLogEdit(t, 9, 7)
	runs, _, err := trajlog.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	in := NewInspector(InspectOptions{Theme: themes.Dark(), Path: "runs.jsonl", Runs: runs})
	in.Update(tea.WindowSizeMsg{Width: 100, Height: 16})
	inspKeys(in, "enter")
	if in.branch == nil || in.branch.ID != 2 {
		t.Fatalf("opened branch %+v, want 2", in.branch)
	}
	out := plainInspector(t, in)
	for _, want := range []string{"original", "* a person rewrote this summary"} {
		if !strings.Contains(out, want) {
			t.Fatalf("the open branch does not show %q:\n%s", want, out)
		}
	}
	inspKeys(in, "b", "up", "enter")
	if in.branch.ID != 1 || in.trace.offset != 0 {
		t.Fatalf("branch %d opened at line %d; a branch without an edit starts at its top", in.branch.ID, in.trace.offset)
	}
}

func TestInspectExportMarked(t *testing.T) {
	in, _ := newTestInspector(t, 100, 24)
	out := filepath.Join(t.TempDir(), "sft.jsonl")
	inspKeys(in, "space") // mark run-a
	cmd := inspKeys(in, "x")
	_ = cmd
	if in.mode != inspExport {
		t.Fatal("x did not ask where to export")
	}
	in.exportIn.SetValue(out)
	cmd = inspKeys(in, "enter")
	in.Update(cmd())
	if !strings.Contains(in.flash, "wrote 3 SFT examples") {
		t.Fatalf("flash %q", in.flash)
	}
	f, err := os.Open(out)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var n, edited int
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		var ex struct {
			Run      string `json:"run"`
			Branch   int    `json:"branch"`
			Edited   bool   `json:"edited"`
			Messages []struct{ Content string }
		}
		if err := json.Unmarshal(sc.Bytes(), &ex); err != nil {
			t.Fatal(err)
		}
		if ex.Run != "run-a" || ex.Branch != 2 {
			t.Fatalf("exported %s branch %d, want the marked run's current branch", ex.Run, ex.Branch)
		}
		if ex.Edited {
			edited++
			if !strings.Contains(ex.Messages[1].Content, "a person rewrote") {
				t.Fatal("the edited example lacks the edit")
			}
		}
		n++
	}
	if n != 3 || edited != 1 {
		t.Fatalf("%d examples, %d edited; want 3 and 1", n, edited)
	}
}

func TestInspectExportError(t *testing.T) {
	in, _ := newTestInspector(t, 100, 24)
	inspKeys(in, "x")
	in.exportIn.SetValue(filepath.Join(t.TempDir(), "missing-dir", "x.jsonl"))
	in.Update(inspKeys(in, "enter")())
	if !strings.Contains(in.flash, "export failed") {
		t.Fatalf("flash %q", in.flash)
	}
}

func TestInspectEverySizeFits(t *testing.T) {
	in, _ := newTestInspector(t, 80, 24)
	for w := 1; w <= 130; w += 7 {
		for h := 1; h <= 40; h += 5 {
			for _, keys := range [][]string{nil, {"enter"}, {"b"}, {"esc", "esc", "?"}, {"esc", "x"}, {"esc"}} {
				in.Update(tea.WindowSizeMsg{Width: w, Height: h})
				inspKeys(in, keys...)
				lines := strings.Split(plainInspector(t, in), "\n")
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
