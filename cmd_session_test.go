package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/infty-dev/infty/llm"
	"github.com/infty-dev/infty/session/trajlog"
)

// When the test binary is re-executed with INFTY_TEST_MAIN=1 it is the infty command itself,
// so a test can SIGKILL a real `infty solve` without building a separate binary.
func init() {
	if os.Getenv("INFTY_TEST_MAIN") == "1" {
		root := newRootCmd()
		root.SetArgs(os.Args[1:])
		if err := root.Execute(); err != nil {
			os.Exit(1)
		}
		os.Exit(0)
	}
}

const fixtureModel = "testdata/models/qwen3-tiny-f32"

func runInfty(t *testing.T, args ...string) (string, string, error) {
	t.Helper()
	root := newRootCmd()
	var out, errOut bytes.Buffer
	root.SetOut(&out)
	root.SetErr(&errOut)
	root.SetArgs(args)
	err := root.Execute()
	return out.String(), errOut.String(), err
}

func jsonLines(t *testing.T, s string) []map[string]any {
	t.Helper()
	var out []map[string]any
	for _, line := range strings.Split(strings.TrimSpace(s), "\n") {
		var m map[string]any
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Fatalf("not a JSON line: %q: %v", line, err)
		}
		out = append(out, m)
	}
	return out
}

func TestSolveJSONLContract(t *testing.T) {
	logPath := filepath.Join(t.TempDir(), "log.jsonl")
	out, _, err := runInfty(t, "solve", "--model", fixtureModel, "--eta", "12", "--phi", "2", "--summary-max", "6", "--conclusion-max", "6",
		"--temperature", "1", "--seed", "3", "--answer", "4", "--format", "jsonl", "--log", logPath, "What", "is", "2+2?")
	if err != nil {
		t.Fatal(err)
	}
	evs := jsonLines(t, out)
	seen := map[string]int{}
	for _, ev := range evs {
		typ, _ := ev["type"].(string)
		seen[typ]++
		need := map[string][]string{"iteration_start": {"iteration"}, "delta": {"iteration", "text"}, "summary": {"iteration", "text"},
			"answer": {"text", "correct"}, "done": {"iterations", "tokens", "seconds"}}[typ]
		for _, k := range need {
			if _, ok := ev[k]; !ok {
				t.Errorf("%s event without %q: %v", typ, k, ev)
			}
		}
	}
	if seen["iteration_start"] != 2 || seen["delta"] == 0 || seen["summary"] != 1 || seen["answer"] != 1 || seen["done"] != 1 || seen["error"] != 0 {
		t.Errorf("event counts %v", seen)
	}
	last := evs[len(evs)-1]
	if last["type"] != "done" || last["iterations"].(float64) != 2 || last["tokens"].(float64) <= 0 {
		t.Errorf("last event %v", last)
	}
	runs, _, err := trajlog.ReadFile(logPath)
	if err != nil || len(runs) != 1 || runs[0].Question != "What is 2+2?" || runs[0].Model != fixtureModel || runs[0].Sampling.Seed != 3 || runs[0].Eta != 12 {
		t.Fatalf("log: %v %+v", err, runs)
	}

	// Export: chat by default, one example per iteration.
	out, _, err = runInfty(t, "export", "--log", logPath)
	if err != nil {
		t.Fatal(err)
	}
	exs := jsonLines(t, out)
	if len(exs) != 2 {
		t.Fatalf("%d examples", len(exs))
	}
	msgs := exs[1]["messages"].([]any)
	content := msgs[1].(map[string]any)["content"].(string)
	n := int(exs[1]["no_loss_prefix_bytes"].(float64))
	if !strings.HasPrefix(content, "<history>\n") || content[n-len("</history>"):n] != "</history>" || !strings.HasPrefix(content[n:], "<think>\n") {
		t.Errorf("second example: prefix %d of %q", n, content)
	}
	out, _, err = runInfty(t, "export", "--log", logPath, "--layout", "flat", "--only", "correct")
	if err != nil || strings.TrimSpace(out) != "" {
		t.Errorf("random model verified correct? %q %v", out, err)
	}
}

func TestSolveErrors(t *testing.T) {
	dir := t.TempDir()
	cases := [][]string{
		{"solve", "--model", filepath.Join(dir, "missing"), "q"},
		{"solve", "--model", fixtureModel, "--mode", "dream", "q"},
		{"solve", "--model", fixtureModel, "--format", "xml", "q"},
		{"solve", "--model", fixtureModel, "--eta", "-3", "--log", filepath.Join(dir, "l.jsonl"), "q"},
		{"solve", "--model", fixtureModel, "--step1-prompt", filepath.Join(dir, "nope.txt"), "--log", filepath.Join(dir, "l.jsonl"), "q"},
		{"export", "--log", filepath.Join(dir, "missing.jsonl")},
		{"export", "--log", filepath.Join(dir, "l.jsonl"), "--branches", "some"},
	}
	for _, args := range cases {
		if _, _, err := runInfty(t, args...); err == nil {
			t.Errorf("infty %s: no error", strings.Join(args, " "))
		}
	}
}

// Budgets that the fixture model's 512-token window cannot hold are refused before the run,
// with the numbers that do not fit.
func TestSolveRefusesBudgetPastTheWindow(t *testing.T) {
	_, _, err := runInfty(t, "solve", "--model", fixtureModel, "--eta", "480", "--log", filepath.Join(t.TempDir(), "l.jsonl"), "q")
	if err == nil || !strings.Contains(err.Error(), "context window too small") || !strings.Contains(err.Error(), "attends to 512 tokens") || !strings.Contains(err.Error(), "η 480") {
		t.Fatalf("solve --eta 480 on a 512-token model: %v", err)
	}
}

func TestCurateCommand(t *testing.T) {
	dir := t.TempDir()
	input := filepath.Join(dir, "traces.jsonl")
	long := "Start here.\n\nThen more work on it.\n\nAnother step with numbers 1 2 3.\n\nFinally it adds up."
	lines := []string{
		`{"question":"What is 1+1?","reasoning":` + mustJSON(long) + `,"answer":"So \\boxed{2}.","source":"extra fields are fine"}`,
		``,
		`{"question":"Skip me","reasoning":` + mustJSON("A"+strings.Repeat(" word", 800)) + `}`,
	}
	os.WriteFile(input, []byte(strings.Join(lines, "\n")+"\n"), 0o644)
	logPath := filepath.Join(dir, "log.jsonl")
	out, errOut, err := runInfty(t, "curate", "--input", input, "--summarizer", fixtureModel, "--eta", "8", "--summary-max", "6", "--log", logPath)
	if err != nil {
		t.Fatal(err, errOut)
	}
	if !strings.Contains(out, "traces.jsonl:1: run ") || !strings.Contains(errOut, "traces.jsonl:3: skipped") || !strings.Contains(errOut, "curated 1 traces (1 skipped)") {
		t.Errorf("stdout %q stderr %q", out, errOut)
	}
	runs, _, err := trajlog.ReadFile(logPath)
	if err != nil || len(runs) != 1 || runs[0].Mode != "curate" {
		t.Fatalf("%v %+v", err, runs)
	}
	its := runs[0].Branch(1).Iterations
	if len(its) < 2 || !its[len(its)-1].Final || its[len(its)-1].Conclusion != `So \boxed{2}.` || runs[0].Branch(1).Answer != "2" {
		t.Errorf("curated iterations %+v", its)
	}
	bad := filepath.Join(dir, "bad.jsonl")
	os.WriteFile(bad, []byte(`{"question":"q","reasoning":"r"}`+"\n"+`{"question": 3}`+"\n"), 0o644)
	if _, _, err := runInfty(t, "curate", "--input", bad, "--summarizer", fixtureModel, "--eta", "8", "--summary-max", "6", "--log", logPath); err == nil || !strings.Contains(err.Error(), "bad.jsonl:2") {
		t.Errorf("bad input: %v", err)
	}
}

func mustJSON(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

// A `kill -9` of a running `infty solve` loses at most the iteration in flight: the log stays
// readable and exports.
func TestSolveSIGKILL(t *testing.T) {
	logPath := filepath.Join(t.TempDir(), "log.jsonl")
	cmd := exec.Command(os.Args[0], "solve", "--model", fixtureModel, "--eta", "16", "--phi", "100000", "--summary-max", "8",
		"--conclusion-max", "8", "--temperature", "1", "--seed", "1", "--format", "jsonl", "--log", logPath, "Count forever")
	cmd.Env = append(os.Environ(), "INFTY_TEST_MAIN=1")
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	// Read events until the third iteration is under way, then kill mid-iteration.
	sc := bufio.NewScanner(stdout)
	sc.Buffer(nil, 1<<20)
	timer := time.AfterFunc(60*time.Second, func() { cmd.Process.Kill() })
	defer timer.Stop()
	ends := 0
	for sc.Scan() {
		if strings.Contains(sc.Text(), `"type":"iteration_end"`) {
			ends++
		}
		if ends >= 3 && strings.Contains(sc.Text(), `"type":"delta"`) {
			break
		}
	}
	if ends < 3 {
		t.Fatalf("the run ended or stalled after %d iterations", ends)
	}
	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	go func() {
		for sc.Scan() {
		}
	}()
	cmd.Wait()
	if ws, ok := cmd.ProcessState.Sys().(syscall.WaitStatus); !ok || !ws.Signaled() || ws.Signal() != syscall.SIGKILL {
		t.Fatalf("child state %v", cmd.ProcessState)
	}
	runs, warns, err := trajlog.ReadFile(logPath)
	if err != nil || len(runs) != 1 {
		t.Fatal(err, warns)
	}
	b := runs[0].Branch(1)
	if len(b.Iterations) < 3 || b.Done {
		t.Fatalf("%d iterations logged, done %v", len(b.Iterations), b.Done)
	}
	out, _, err := runInfty(t, "export", "--log", logPath, "--unfinished")
	if err != nil {
		t.Fatal(err)
	}
	if exs := jsonLines(t, out); len(exs) != len(b.Iterations) {
		t.Errorf("%d examples for %d iterations", len(exs), len(b.Iterations))
	}
}

// Without a sampling flag a run decodes as the model's generation_config.json asks (as
// transformers reads it: greedy without one); any sampling flag takes over entirely.
func TestSolveSamplingDefaultsFromGenerationConfig(t *testing.T) {
	dir := t.TempDir()
	entries, err := os.ReadDir(fixtureModel)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		data, err := os.ReadFile(filepath.Join(fixtureModel, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, e.Name()), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	sampling := func(model string, flags ...string) llm.Sampling {
		t.Helper()
		logPath := filepath.Join(t.TempDir(), "log.jsonl")
		args := append([]string{"solve", "--model", model, "--eta", "8", "--phi", "1", "--summary-max", "4", "--conclusion-max", "4",
			"--seed", "9", "--format", "jsonl", "--log", logPath}, flags...)
		if _, errOut, err := runInfty(t, append(args, "q")...); err != nil {
			t.Fatalf("%v: %v\n%s", flags, err, errOut)
		}
		runs, _, err := trajlog.ReadFile(logPath)
		if err != nil || len(runs) != 1 {
			t.Fatalf("log: %v %d runs", err, len(runs))
		}
		return runs[0].Sampling
	}
	if got := sampling(dir); got != (llm.Sampling{Seed: 9}) {
		t.Errorf("no generation_config.json: sampling %+v, want greedy", got)
	}
	gen := `{"do_sample": true, "temperature": 0.6, "top_p": 0.95, "eos_token_id": 505}`
	if err := os.WriteFile(filepath.Join(dir, "generation_config.json"), []byte(gen), 0o644); err != nil {
		t.Fatal(err)
	}
	if got, want := sampling(dir), (llm.Sampling{Temperature: 0.6, TopK: 50, TopP: 0.95, Seed: 9}); got != want {
		t.Errorf("generation_config.json sampling: %+v, want %+v", got, want)
	}
	if got, want := sampling(dir, "--temperature", "1"), (llm.Sampling{Temperature: 1, Seed: 9}); got != want {
		t.Errorf("--temperature 1: %+v, want %+v", got, want)
	}
}
