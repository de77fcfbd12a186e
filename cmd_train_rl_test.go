package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// Bad input to `train rl` is refused with what is wrong, before anything is loaded.
func TestTrainRLErrors(t *testing.T) {
	out := t.TempDir()
	bad := filepath.Join(t.TempDir(), "p.jsonl")
	if err := os.WriteFile(bad, []byte("{\"question\": \"q\"}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"--model", "runtime/tinymodel/model", "--out", out}, "exactly one of --synthetic and --data"},
		{[]string{"--model", "runtime/tinymodel/model", "--out", out, "--synthetic", "--length", "x"}, "invalid --length"},
		{[]string{"--model", "runtime/tinymodel/model", "--out", out, "--synthetic", "--length", "5-120"}, "within 1-99"},
		{[]string{"--model", "runtime/tinymodel/model", "--out", out, "--synthetic", "--length", "11-20,x"}, "invalid --length"},
		{[]string{"--model", "runtime/tinymodel/model", "--out", out, "--synthetic", "--length", "11-20,"}, "invalid --length"},
		{[]string{"--model", "runtime/tinymodel/model", "--out", out, "--synthetic", "--length", "11-20,30-120"}, "30-120: want MIN-MAX within 1-99"},
		{[]string{"--model", "runtime/tinymodel/model", "--out", out, "--synthetic", "--reward", "eff"}, "want task or task+eff"},
		{[]string{"--model", "runtime/tinymodel/model", "--out", out, "--synthetic", "--group", "1"}, "2 rollouts per question"},
		{[]string{"--model", "runtime/tinymodel/model", "--out", out, "--data", bad}, bad + ":1"},
		{[]string{"--model", filepath.Join(out, "none"), "--out", out, "--synthetic"}, filepath.Join(out, "none")},
	} {
		_, _, err := runInfty(t, append([]string{"train", "rl"}, c.args...)...)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%q: %v, want %q", c.args, err, c.want)
		}
	}
}

// --update-memory takes a size, and a budget too small for even one sequence stops the run with
// an error that names the flag, before any update.
func TestTrainRLUpdateMemory(t *testing.T) {
	args := []string{"train", "rl", "--model", "runtime/tinymodel/model", "--out", t.TempDir(), "--synthetic",
		"--length", "2", "--batch", "1", "--group", "2", "--steps", "1", "--seed", "9", "--quiet"}
	if _, _, err := runInfty(t, append(args, "--update-memory", "lots")...); err == nil || !strings.Contains(err.Error(), `"lots" is not a size`) {
		t.Errorf("--update-memory lots: %v", err)
	}
	_, _, err := runInfty(t, append(args, "--update-memory", "1KiB")...)
	if err == nil || !strings.Contains(err.Error(), "more than the 1.0 KiB --update-memory allows") {
		t.Errorf("--update-memory 1KiB: %v, want the budget named", err)
	}
}

// A one-step run writes a checkpoint and a metrics line that `train plot` charts; run again
// with more steps it resumes, but not from a model other than the one it started from.
func TestTrainRLRunAndPlot(t *testing.T) {
	out := t.TempDir()
	run := func(model, steps string) (string, error) {
		_, errOut, err := runInfty(t, "train", "rl", "--model", model, "--out", out, "--synthetic",
			"--length", "2", "--batch", "1", "--group", "2", "--steps", steps, "--seed", "9")
		return errOut, err
	}
	errOut, err := run("runtime/tinymodel/model", "1")
	if err != nil {
		t.Fatalf("%v\n%s", err, errOut)
	}
	if !strings.Contains(errOut, "reward") || !strings.Contains(errOut, "checkpoint-000001") {
		t.Errorf("progress: %q", errOut)
	}
	if _, err := run("runtime/tinymodel/coldstart", "2"); err == nil || !strings.Contains(err.Error(), "started from other weights") {
		t.Errorf("resumed from another start model: %v", err)
	}
	if errOut, err := run("runtime/tinymodel/model", "2"); err != nil || !strings.Contains(errOut, "resumed from") || !strings.Contains(errOut, "checkpoint-000002") {
		t.Errorf("resume: %v\n%s", err, errOut)
	}
	plot, _, err := runInfty(t, "train", "plot", out, "--series", "reward_mean,acc")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(plot, "2 steps") || !strings.Contains(plot, "reward_mean") || !strings.Contains(plot, "last") {
		t.Errorf("plot:\n%s", plot)
	}
	if _, _, err := runInfty(t, "train", "plot", out, "--series", "nope"); err == nil || !strings.Contains(err.Error(), `no series "nope"`) {
		t.Errorf("unknown series: %v", err)
	}
}
