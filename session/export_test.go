package session_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/infty-dev/infty/llm"
	"github.com/infty-dev/infty/session"
	"github.com/infty-dev/infty/session/format"
	"github.com/infty-dev/infty/session/sessiontest"
	"github.com/infty-dev/infty/session/sft"
	"github.com/infty-dev/infty/session/trajlog"
)

func TestMain(m *testing.M) {
	if path := os.Getenv("INFTY_SESSION_KILL_CHILD"); path != "" {
		runKillChild(path)
		os.Exit(3) // never reached: the parent kills us
	}
	os.Exit(m.Run())
}

// runKillChild runs an endless native run that logs to path, until killed.
func runKillChild(path string) {
	m := sessiontest.New("scripted", sessiontest.Script{Reason: words(30), SummaryWords: 3, Answer: "1"}.Policy())
	m.Delay = 200 * time.Microsecond
	e, err := session.New(m, session.Config{Eta: 100, Phi: 1000000, LogPath: path, Sampling: llm.Sampling{Seed: 5}})
	if err != nil {
		panic(err)
	}
	_, _ = e.Solve(context.Background(), question, nil)
}

func TestKillMidRunKeepsLogReadable(t *testing.T) {
	path := filepath.Join(t.TempDir(), "log.jsonl")
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), "INFTY_SESSION_KILL_CHILD="+path)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(20 * time.Second)
	for {
		b, _ := os.ReadFile(path)
		if bytes.Count(b, []byte(`"kind":"iteration"`)) >= 3 {
			break
		}
		if time.Now().After(deadline) {
			cmd.Process.Kill()
			t.Fatal("child logged fewer than 3 iterations in 20s")
		}
		time.Sleep(5 * time.Millisecond)
	}
	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	err := cmd.Wait()
	if ws, ok := cmd.ProcessState.Sys().(syscall.WaitStatus); !ok || !ws.Signaled() {
		t.Fatalf("child not killed by a signal: %v", err)
	}
	runs, warns, err := trajlog.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if len(warns) > 1 {
		t.Errorf("warnings %q", warns)
	}
	if len(runs) != 1 {
		t.Fatalf("%d runs", len(runs))
	}
	b := runs[0].Branch(1)
	if len(b.Iterations) < 3 || b.Done {
		t.Fatalf("branch after kill: %d iterations, done %v", len(b.Iterations), b.Done)
	}
	for i, it := range b.Iterations {
		if it.Index != i+1 || it.Summary == "" || len(strings.Fields(it.Reasoning)) != 30 {
			t.Errorf("iteration %d damaged: %+v", i+1, it)
		}
	}
	var out bytes.Buffer
	n, err := sft.Export(&out, runs, sft.Options{Unfinished: true})
	if err != nil || n != len(b.Iterations) {
		t.Fatalf("export: %d examples, %v", n, err)
	}
	sc := bufio.NewScanner(&out)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		var ex sft.Example
		if err := json.Unmarshal(sc.Bytes(), &ex); err != nil || len(ex.Messages) != 2 {
			t.Fatalf("bad example %q: %v", sc.Text(), err)
		}
	}
}

// Exported examples, rendered through the model's chat template, are exactly the text the model
// saw at each iteration (prompt and generated text, forced insertions included), followed by the
// template's end of turn.
func TestExportRoundTrip(t *testing.T) {
	for _, sc := range []struct {
		name   string
		script sessiontest.Script
		cfg    session.Config
	}{
		{"model decides", sessiontest.Script{Reason: words(6), SummaryWords: 3, ConcludeAt: 3, Answer: "42"}, session.Config{Eta: 100, Phi: 5}},
		{"budget and φ forced", sessiontest.Script{Reason: words(-1), SummaryWords: 2, Answer: "42"}, session.Config{Eta: 9, Phi: 3}},
		{"summary bound", sessiontest.Script{Reason: words(3), SummaryWords: -1, ConcludeAt: 2, Answer: "42"}, session.Config{Eta: 30, Phi: 3, SummaryMax: 5}},
	} {
		t.Run(sc.name, func(t *testing.T) {
			m := sessiontest.New("scripted", sc.script.Policy())
			cfg := sc.cfg
			cfg.LogPath = filepath.Join(t.TempDir(), "log.jsonl")
			cfg.Reference = "42"
			solve(t, m, cfg)
			runs, _, err := trajlog.ReadFile(cfg.LogPath)
			if err != nil {
				t.Fatal(err)
			}
			var out bytes.Buffer
			n, err := sft.Export(&out, runs, sft.Options{Only: sft.Correct})
			if err != nil || n < 2 {
				t.Fatalf("%d examples, %v", n, err)
			}
			seen := map[string]bool{}
			for _, s := range m.Seen() {
				seen[s] = true
			}
			dec := json.NewDecoder(&out)
			for i := 0; dec.More(); i++ {
				var ex sft.Example
				if err := dec.Decode(&ex); err != nil {
					t.Fatal(err)
				}
				msgs := []llm.Message{{Role: ex.Messages[0].Role, Content: ex.Messages[0].Content}, {Role: ex.Messages[1].Role, Content: ex.Messages[1].Content}}
				prompt, _ := m.RenderChat(msgs[:1], true)
				full, _ := m.RenderChat(msgs, false)
				saw := prompt + msgs[1].Content
				if sc.cfg.SummaryMax > 0 && !seen[saw] {
					// A bounded summary is closed by the engine after the model's last token: the
					// model saw everything but the appended "\n</summary>".
					saw = strings.TrimSuffix(saw, format.ForcedSummaryClose)
				}
				if !seen[saw] {
					t.Errorf("example %d: the model never saw %q", i+1, prompt+msgs[1].Content)
				}
				if full != prompt+msgs[1].Content+"<|im_end|>\n" {
					t.Errorf("example %d: rendering %q", i+1, full)
				}
				prefix := msgs[1].Content[:*ex.NoLossPrefixBytes]
				if (ex.Iteration > 1) != (prefix != "") || (prefix != "" && (!strings.HasPrefix(prefix, "<history>\n") || !strings.HasSuffix(prefix, "\n</history>"))) {
					t.Errorf("example %d: no-loss prefix %q", i+1, prefix)
				}
			}
		})
	}
}

func TestExportFilters(t *testing.T) {
	m := sessiontest.New("scripted", sessiontest.Script{Reason: words(4), SummaryWords: 2, ConcludeAt: 3, Answer: "9"}.Policy())
	logPath := filepath.Join(t.TempDir(), "log.jsonl")
	e := newEngine(t, m, session.Config{Eta: 100, Phi: 5, LogPath: logPath, Reference: "8"})
	ch, _ := e.Start(context.Background(), question)
	collect(t, ch)
	if err := e.EditSummary(2, "[it=2] better"); err != nil {
		t.Fatal(err)
	}
	collect(t, ch)
	e.Close()
	runs, _, err := trajlog.ReadFile(logPath)
	if err != nil {
		t.Fatal(err)
	}
	count := func(o sft.Options) int {
		n, err := sft.Export(&bytes.Buffer{}, runs, o)
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	if n := count(sft.Options{}); n != 3 {
		t.Errorf("current branch: %d examples", n)
	}
	if n := count(sft.Options{AllBranches: true}); n != 6 {
		t.Errorf("all branches: %d examples", n)
	}
	if n := count(sft.Options{AllBranches: true, Only: sft.Edited}); n != 3 {
		t.Errorf("edited: %d examples", n)
	}
	if n := count(sft.Options{AllBranches: true, Only: sft.Correct}); n != 0 {
		t.Errorf("correct (reference 8, answer 9): %d examples", n)
	}
	if n := count(sft.Options{Branch: 1}); n != 3 {
		t.Errorf("branch 1: %d examples", n)
	}
	var flat bytes.Buffer
	sft.Export(&flat, runs, sft.Options{Layout: sft.LayoutFlat})
	var first, last map[string]any
	lines := strings.Split(strings.TrimSpace(flat.String()), "\n")
	json.Unmarshal([]byte(lines[0]), &first)
	json.Unmarshal([]byte(lines[len(lines)-1]), &last)
	if first["question"] != question || first["history"] != "" || first["summary"] == "" || first["conclusion"] != "" || first["reasoning_process"] == "" {
		t.Errorf("flat first %v", first)
	}
	if last["history"] != "[it=2] better" || last["summary"] != "" || !strings.Contains(last["conclusion"].(string), `\boxed{9}`) {
		t.Errorf("flat last %v", last)
	}
	if _, err := sft.Export(&bytes.Buffer{}, runs, sft.Options{Layout: "xml"}); err == nil {
		t.Error("unknown layout accepted")
	}
}
