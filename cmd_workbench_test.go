package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/infty-dev/infty/runtime/tinymodel"
)

func noTerminal(t *testing.T) {
	old := stdioIsTerminal
	stdioIsTerminal = func() bool { return false }
	t.Cleanup(func() { stdioIsTerminal = old })
}

// Without a terminal, `infty QUESTION` prints what `infty solve` prints, with the same flags.
func TestWorkbenchHeadlessFallback(t *testing.T) {
	noTerminal(t)
	logPath := filepath.Join(t.TempDir(), "log.jsonl")
	out, _, err := runInfty(t, "--model", fixtureModel, "--eta", "8", "--phi", "2", "--summary-max", "4", "--conclusion-max", "4",
		"--temperature", "0.7", "--seed", "5", "--log", logPath, "What", "is", "2+2?")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out, "── iteration 1 ──") || !strings.Contains(out, "── iteration 2 ──") {
		t.Fatalf("headless output:\n%s", out)
	}
	if _, err := os.Stat(logPath); err != nil {
		t.Fatal("the headless run wrote no log")
	}

	// The log it wrote, listed by inspect without a terminal.
	out, _, err = runInfty(t, "inspect", logPath)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out, "QUESTION") || !strings.Contains(out, "What is 2+2?") || !strings.Contains(out, "  2  ") {
		t.Fatalf("inspect listing:\n%s", out)
	}
}

func TestWorkbenchNoTerminalNoQuestion(t *testing.T) {
	noTerminal(t)
	_, _, err := runInfty(t)
	if err == nil || !strings.Contains(err.Error(), "no terminal") {
		t.Fatalf("got %v, want an error saying there is no terminal", err)
	}
}

func TestWorkbenchBadTheme(t *testing.T) {
	old := stdioIsTerminal
	stdioIsTerminal = func() bool { return true }
	t.Cleanup(func() { stdioIsTerminal = old })
	_, _, err := runInfty(t, "--theme", "solarized", "q")
	if err == nil || !strings.Contains(err.Error(), "unknown theme") {
		t.Fatalf("got %v, want an unknown theme error", err)
	}
}

func TestInspectErrors(t *testing.T) {
	noTerminal(t)
	missing := filepath.Join(t.TempDir(), "nope.jsonl")
	if _, _, err := runInfty(t, "inspect", missing); err == nil || !strings.Contains(err.Error(), "nope.jsonl") {
		t.Fatalf("a missing log gives %v, want an error naming it", err)
	}
	torn := filepath.Join(t.TempDir(), "torn.jsonl")
	os.WriteFile(torn, []byte("{\"v\":1,\"kind\":\"run\"\nnot json at all\n"), 0o644)
	out, errOut, err := runInfty(t, "inspect", torn)
	if err != nil && !strings.Contains(err.Error(), "torn.jsonl") {
		t.Fatalf("a torn log gives %v, want warnings or an error naming it", err)
	}
	if err == nil && !strings.Contains(errOut, "warning") {
		t.Fatalf("torn lines were skipped silently: out %q err %q", out, errOut)
	}
}

func TestWorkbenchSaysWhenNoDefaultModel(t *testing.T) {
	if _, err := tinymodel.FS(tinymodel.Iterative); err == nil {
		t.Skip("this build embeds the default model")
	}
	old := stdioIsTerminal
	stdioIsTerminal = func() bool { return true }
	t.Cleanup(func() { stdioIsTerminal = old })
	_, _, err := runInfty(t, "--theme", "plain", "q")
	if err == nil || !strings.Contains(err.Error(), "--model") {
		t.Fatalf("got %v, want an error asking for --model", err)
	}
}

// An unknown --theme is refused without a terminal too, not ignored.
func TestBadThemeRefusedHeadless(t *testing.T) {
	noTerminal(t)
	logPath := filepath.Join(t.TempDir(), "log.jsonl")
	if _, _, err := runInfty(t, "--model", fixtureModel, "--theme", "purple", "--log", logPath, "2+2?"); err == nil || !strings.Contains(err.Error(), "unknown theme") {
		t.Fatalf("got %v, want an unknown theme error", err)
	}
	if _, err := os.Stat(logPath); err == nil {
		t.Error("the run went ahead with a bad theme")
	}
	if _, _, err := runInfty(t, "inspect", "--theme", "purple", logPath); err == nil || !strings.Contains(err.Error(), "unknown theme") {
		t.Fatalf("inspect: got %v, want an unknown theme error", err)
	}
}

// inspect without LOG reads the per-user log folder, as export does; export counts the runs it
// exported, not the runs it read.
func TestInspectAndExportShareDefaults(t *testing.T) {
	noTerminal(t)
	data := t.TempDir()
	t.Setenv("XDG_DATA_HOME", data)
	logDir := filepath.Join(data, "infty", "logs")
	for i, q := range []string{"What is 2+2?", "What is 3+3?"} {
		args := []string{"--model", fixtureModel, "--eta", "8", "--phi", "2", "--summary-max", "4", "--conclusion-max", "4",
			"--log", filepath.Join(logDir, []string{"a.jsonl", "b.jsonl"}[i]), q}
		if _, _, err := runInfty(t, args...); err != nil {
			t.Fatal(err)
		}
	}
	out, _, err := runInfty(t, "inspect")
	if err != nil || !strings.Contains(out, "What is 2+2?") || !strings.Contains(out, "What is 3+3?") {
		t.Fatalf("inspect without LOG: %v\n%s", err, out)
	}
	_, errOut, err := runInfty(t, "export", "--only", "edited")
	if err != nil || !strings.Contains(errOut, "exported 0 examples from 0 runs") {
		t.Fatalf("export --only edited: %v, %q", err, errOut)
	}
}
