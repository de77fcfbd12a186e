package main

import (
	"bytes"
	"path/filepath"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/infty-dev/infty/ui"
	"github.com/spf13/cobra"
)

func executeCapture(args ...string) (int, string, string) {
	var out, errOut bytes.Buffer
	code := execute(args, &out, &errOut)
	return code, out.String(), errOut.String()
}

// A mistyped command is refused, not run as a question that lands in the log.
func TestMistypedCommandIsNotAQuestion(t *testing.T) {
	logPath := filepath.Join(t.TempDir(), "run.jsonl")
	for _, args := range [][]string{{"exprot", "--log", logPath}, {"inspcet"}, {"--log", logPath, "sovle"}} {
		code, out, errOut := executeCapture(args...)
		if code == 0 || !strings.Contains(errOut, "unknown command") || !strings.Contains(errOut, "did you mean") {
			t.Errorf("%q: exit %d, stdout %q, stderr %q; want an unknown-command error", args, code, out, errOut)
		}
	}
	if _, _, errOut := executeCapture("exprot"); !strings.Contains(errOut, "did you mean export?") {
		t.Errorf("no suggestion of export: %q", errOut)
	}
}

func TestVersion(t *testing.T) {
	for _, args := range [][]string{{"version"}, {"--version"}} {
		code, out, _ := executeCapture(args...)
		if code != 0 || strings.TrimSpace(out) != "infty "+version {
			t.Errorf("%q: exit %d, %q", args, code, out)
		}
	}
}

// Errors keep the case of what they quote (the styling library used to title-case them).
func TestErrorsPrintedAsWritten(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "newcomer", "m-trunc")
	code, _, errOut := executeCapture("solve", "--model", dir, "hi")
	if code != 1 || !strings.Contains(errOut, dir) {
		t.Fatalf("exit %d, stderr %q: want the path %s as given", code, errOut, dir)
	}
}

// Help keeps η, φ and flag names as written and wraps between words at 80 columns.
func TestHelpAsWrittenAndWrappedAtWords(t *testing.T) {
	t.Setenv("COLUMNS", "80")
	code, out, _ := executeCapture("--help")
	if code != 0 {
		t.Fatalf("exit %d", code)
	}
	for _, want := range []string{"reasoning budget η", "maximum number of iterations φ", "--summary-max"} {
		if !strings.Contains(out, want) {
			t.Errorf("help lacks %q", want)
		}
	}
	for _, bad := range []string{"Η:", "Json Lines", "USAGE"} {
		if strings.Contains(out, bad) {
			t.Errorf("help has %q", bad)
		}
	}
	words := map[string]bool{}
	for _, w := range strings.Fields(newRootCmd().Long) {
		words[w] = true
	}
	for _, line := range strings.Split(out, "\n") {
		if n := utf8.RuneCountInString(line); n > 80 {
			t.Errorf("line of %d columns: %q", n, line)
		}
	}
	// Every word of the description comes out whole.
	outWords := map[string]bool{}
	for _, w := range strings.Fields(out) {
		outWords[w] = true
	}
	for w := range words {
		if !outWords[w] {
			t.Errorf("the word %q was broken or changed", w)
		}
	}
}

// A program ended by ctrl+c exits 130, as an interrupted one, and prints no error.
func TestInterruptedExits130(t *testing.T) {
	old := commandFactories
	t.Cleanup(func() { commandFactories = old })
	commandFactories = append(append([]func() *cobra.Command(nil), old...), func() *cobra.Command {
		return &cobra.Command{Use: "interrupt-me", Hidden: true, RunE: func(*cobra.Command, []string) error { return ui.ErrInterrupted }}
	})
	code, _, errOut := executeCapture("interrupt-me")
	if code != exitInterrupted || errOut != "" {
		t.Errorf("exit %d, stderr %q; want 130 and nothing printed", code, errOut)
	}
}
