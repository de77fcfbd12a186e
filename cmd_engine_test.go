package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/infty-dev/infty/app"
	"github.com/infty-dev/infty/remote/remotetest"
	"github.com/infty-dev/infty/session/sessiontest"
	"github.com/infty-dev/infty/session/synth"
	"github.com/infty-dev/infty/session/trajlog"
)

const (
	servedName = "qwen3-tiny"
	testKey    = "sk-test-7f3a9c1e5b"
)

// userTurn is the question of the last user turn of a prompt rendered with the fixture's template.
func userTurn(ctx string) string {
	const start = "<|im_start|>user\n"
	i := strings.LastIndex(ctx, start)
	if i < 0 {
		return ""
	}
	q, _, _ := strings.Cut(ctx[i+len(start):], "<|im_end|>")
	return q
}

// solver plays a reasoning model on the synthetic task: it concludes after 1 to 3 iterations
// with the right answer, except for problems of a length divisible by 4, and the wrong answer
// "x" for anything else it is asked.
func solver(st sessiontest.State) (string, bool) {
	sc := sessiontest.Script{Reason: func(int) int { return 4 }, SummaryWords: 3, Answer: "x", ConcludeAt: 2}
	if p, ok := synth.Parse(userTurn(st.Context)); ok {
		sc.ConcludeAt = 1 + p.N%3
		if p.N%4 != 0 {
			sc.Answer = p.Answer()
		}
	}
	return sc.Policy()(st)
}

// engine starts a fake server of kind that demands testKey, with the key in the environment.
func engine(t *testing.T, kind remotetest.Kind, policy sessiontest.Policy, delay time.Duration) *remotetest.Server {
	t.Setenv("INFTY_ENGINE", "")
	t.Setenv("INFTY_API_KEY", testKey)
	return remotetest.New(t, remotetest.Config{Kind: kind, Tokenizer: fixtureModel, Model: servedName, Key: testKey, Context: 2048, Delay: delay,
		Policy: func(ctx string, i int, seed uint64) (string, bool) {
			return policy(sessiontest.State{Context: ctx, Index: i, Seed: seed})
		}})
}

// noKey fails the test when the API key shows in any of the texts.
func noKey(t *testing.T, texts ...string) {
	t.Helper()
	for _, s := range texts {
		if strings.Contains(s, testKey) {
			t.Fatalf("the API key is in the output: %q", s)
		}
	}
}

func TestSolveOnEngine(t *testing.T) {
	p, _ := synth.New(5, 10)
	for _, kind := range []remotetest.Kind{remotetest.VLLM, remotetest.Ollama} {
		t.Run(string(kind), func(t *testing.T) {
			srv := engine(t, kind, solver, 0)
			logPath := filepath.Join(t.TempDir(), "log.jsonl")
			out, errOut, err := runInfty(t, "solve", "--engine", srv.URL, "--model", servedName, "--tokenizer", fixtureModel, "--log", logPath, p.Question())
			if err != nil {
				t.Fatalf("%v\n%s", err, errOut)
			}
			wantKind := map[remotetest.Kind]string{remotetest.VLLM: "vLLM", remotetest.Ollama: "Ollama"}[kind]
			if !strings.Contains(out, "── iteration 2 ──") || !strings.Contains(out, "answer: "+p.Answer()+" ✓ correct") || !strings.Contains(errOut, "on "+wantKind+" at "+srv.URL) {
				t.Errorf("stdout:\n%s\nstderr:\n%s", out, errOut)
			}
			runs, _, err := trajlog.ReadFile(logPath)
			if err != nil || len(runs) != 1 {
				t.Fatalf("log: %v, %d runs", err, len(runs))
			}
			if e := runs[0].Engine; e == nil || e.URL != srv.URL || e.Kind != wantKind || e.Model != servedName {
				t.Errorf("the run record's engine: %+v", e)
			}
			raw, _ := os.ReadFile(logPath)
			noKey(t, out, errOut, string(raw))
		})
	}
}

// benchRows are the rows of bench's JSON output without the timings, which differ run to run.
func benchRows(t *testing.T, out string) []map[string]any {
	t.Helper()
	var res struct{ Rows []map[string]any }
	if err := json.Unmarshal([]byte(out), &res); err != nil {
		t.Fatal(err)
	}
	for _, r := range res.Rows {
		delete(r, "lat")
		delete(r, "tok_per_s")
	}
	return res.Rows
}

// A bench through an engine gives the same rows whatever the parallelism, at temperature 0;
// the fake's delay lets requests finish out of order. On problems whose n is a multiple of 5 the
// fake writes on past its boxed answer until the bound cuts it: those runs count as broke, and a
// right answer among them still counts as right.
func TestBenchOnEngineParallel(t *testing.T) {
	babbler := func(st sessiontest.State) (string, bool) {
		if p, ok := synth.Parse(userTurn(st.Context)); ok && p.N%5 == 0 && strings.Contains(st.Assistant(), "}.") {
			return " and so on", false
		}
		return solver(st)
	}
	srv := engine(t, remotetest.VLLM, babbler, 200*time.Microsecond)
	rows := func(parallel int) []map[string]any {
		out, errOut, err := runInfty(t, "bench", "--synthetic", "--n", "12", "--modes", "iterative", "--engine", srv.URL, "--model", servedName,
			"--tokenizer", fixtureModel, "--format", "json", "--parallel", fmt.Sprint(parallel))
		if err != nil {
			t.Fatalf("--parallel %d: %v\n%s", parallel, err, errOut)
		}
		noKey(t, out, errOut)
		if !strings.Contains(errOut, "iterative 12/12") {
			t.Errorf("no summary line: %q", errOut)
		}
		return benchRows(t, out)
	}
	one, many := rows(1), rows(6)
	if fmt.Sprint(one) != fmt.Sprint(many) {
		t.Errorf("--parallel 1: %v\n--parallel 6: %v", one, many)
	}
	problems, err := app.BenchProblems("", 777, 12, "28-39")
	if err != nil {
		t.Fatal(err)
	}
	right, cut := 0, 0
	for _, p := range problems {
		q, _ := synth.Parse(p.Question)
		if q.N%4 != 0 {
			right++
		}
		if q.N%5 == 0 {
			cut++
		}
	}
	if cut == 0 || cut == len(problems) {
		t.Fatalf("%d of %d problems have n a multiple of 5: the test needs some and not all", cut, len(problems))
	}
	if acc, broke := one[0]["acc"].(float64), one[0]["broke"].(float64); acc != 100*float64(right)/12 || broke != 100*float64(cut)/12 {
		t.Errorf("acc %v broke %v, want %v and %v", acc, broke, 100*float64(right)/12, 100*float64(cut)/12)
	}
}

// curate summarizes traces several at once, reports them in input order, and a rerun on the
// same input and log skips those the log holds.
func TestCurateOnEngineInOrderAndResumes(t *testing.T) {
	summarizer := func(st sessiontest.State) (string, bool) {
		if st.Assistant() == "" {
			return "* the gist so far", false
		}
		return "", true
	}
	srv := engine(t, remotetest.Ollama, summarizer, 100*time.Microsecond)
	dir := t.TempDir()
	input, logPath := filepath.Join(dir, "traces.jsonl"), filepath.Join(dir, "log.jsonl")
	trace := func(i int) string {
		var paras []string
		for k := range 2 + i%3 {
			paras = append(paras, fmt.Sprintf("Step %d of trace %d works on it.", k, i))
		}
		b, _ := json.Marshal(map[string]string{"question": fmt.Sprintf("Question %d?", i), "reasoning": strings.Join(paras, "\n\n"), "answer": fmt.Sprintf("So \\boxed{%d}.", i)})
		return string(b) + "\n"
	}
	var lines string
	for i := 1; i <= 6; i++ {
		lines += trace(i)
	}
	os.WriteFile(input, []byte(lines), 0o644)
	curate := func() (string, string) {
		out, errOut, err := runInfty(t, "curate", "--input", input, "--engine", srv.URL, "--tokenizer", fixtureModel, "--eta", "8", "--summary-max", "6", "--log", logPath, "--parallel", "4")
		if err != nil {
			t.Fatalf("%v\n%s", err, errOut)
		}
		noKey(t, out, errOut)
		return out, errOut
	}
	out, errOut := curate()
	var where []string
	for _, l := range strings.Split(strings.TrimSpace(out), "\n") {
		w, _, _ := strings.Cut(l, ": run ")
		where = append(where, filepath.Base(w))
	}
	want := []string{"traces.jsonl:1", "traces.jsonl:2", "traces.jsonl:3", "traces.jsonl:4", "traces.jsonl:5", "traces.jsonl:6"}
	if !slices.Equal(where, want) || !strings.Contains(errOut, "curated 6 traces (0 skipped)") {
		t.Fatalf("stdout:\n%s\nstderr:\n%s", out, errOut)
	}
	requests := len(srv.Requests())

	os.WriteFile(input, []byte(lines+trace(7)), 0o644)
	out, errOut = curate()
	if !strings.HasPrefix(out, "traces.jsonl:7: run ") && !strings.Contains(out, "/traces.jsonl:7: run ") || strings.Count(out, "\n") != 1 ||
		!strings.Contains(errOut, "curated 1 traces (0 skipped, 6 already in the log)") {
		t.Errorf("rerun: stdout:\n%s\nstderr:\n%s", out, errOut)
	}
	runs, _, err := trajlog.ReadFile(logPath)
	if err != nil || len(runs) != 7 {
		t.Fatalf("%v, %d runs", err, len(runs))
	}
	if n, want := len(srv.Requests())-requests, len(runs[6].Branch(1).Iterations)-1; n != want {
		t.Errorf("the rerun sent %d requests, want %d (the new trace's summaries)", n, want)
	}
	for _, r := range runs {
		if r.Source == "" || r.SummarizerEngine == nil || r.SummarizerEngine.Kind != "Ollama" {
			t.Errorf("run %s: source %q, summarizer engine %+v", r.ID, r.Source, r.SummarizerEngine)
		}
	}
}

func TestEngineErrors(t *testing.T) {
	srv := engine(t, remotetest.VLLM, solver, 0)
	_, _, err := runInfty(t, "solve", "--engine", srv.URL, "--model", "nope", "--tokenizer", fixtureModel, "--log", filepath.Join(t.TempDir(), "l.jsonl"), "q")
	if err == nil || !strings.Contains(err.Error(), `unknown model "nope"`) || !strings.Contains(err.Error(), servedName) {
		t.Errorf("unknown model: %v", err)
	}
	srv.Close()
	_, _, err = runInfty(t, "bench", "--synthetic", "--n", "1", "--modes", "iterative", "--engine", srv.URL, "--model", servedName, "--tokenizer", fixtureModel)
	if err == nil || !strings.Contains(err.Error(), srv.URL) || !strings.Contains(err.Error(), "unreachable") {
		t.Errorf("unreachable: %v", err)
	}
	t.Setenv("MY_KEY", "")
	_, _, err = runInfty(t, "solve", "--engine", srv.URL, "--api-key-env", "MY_KEY", "--tokenizer", fixtureModel, "q")
	if err == nil || !strings.Contains(err.Error(), "$MY_KEY is not set") {
		t.Errorf("unset key variable: %v", err)
	}
}

// INFTY_ENGINE stands for --engine, and the key comes from the variable --api-key-env names.
func TestEngineFromEnvironment(t *testing.T) {
	srv := engine(t, remotetest.LlamaCpp, solver, 0)
	t.Setenv("INFTY_API_KEY", "")
	t.Setenv("MY_KEY", testKey)
	t.Setenv("INFTY_ENGINE", srv.URL)
	out, errOut, err := runInfty(t, "backend", "--api-key-env", "MY_KEY")
	if err != nil {
		t.Fatal(err, errOut)
	}
	for _, want := range []string{"engine: " + srv.URL, "server: llama.cpp", "serves: " + servedName, "model: " + servedName, "context length: 2048"} {
		if !strings.Contains(out, want) {
			t.Errorf("backend --engine output lacks %q:\n%s", want, out)
		}
	}
	noKey(t, out, errOut)
}

// The scaffold's summarizer on another engine: the log names both.
func TestSolveScaffoldWithSummarizerEngine(t *testing.T) {
	reasoner := engine(t, remotetest.LlamaCpp, func(st sessiontest.State) (string, bool) {
		switch a := st.Assistant(); {
		case !strings.Contains(a, "</think>"):
			return "w\n\n", false
		case strings.HasSuffix(a, "}"):
			return "", true
		}
		return `\boxed{1}`, false
	}, 0)
	summarizer := engine(t, remotetest.Ollama, func(st sessiontest.State) (string, bool) { return "* the summary", st.Assistant() != "" }, 0)
	logPath := filepath.Join(t.TempDir(), "log.jsonl")
	out, errOut, err := runInfty(t, "solve", "--mode", "scaffold", "--engine", reasoner.URL, "--tokenizer", fixtureModel, "--eta", "6", "--phi", "2",
		"--summarizer-engine", summarizer.URL, "--summarizer-tokenizer", fixtureModel, "--log", logPath, "What is 1?")
	if err != nil {
		t.Fatalf("%v\n%s", err, errOut)
	}
	if !strings.Contains(out, "* the summary") || !strings.Contains(out, "answer: 1") {
		t.Errorf("stdout:\n%s", out)
	}
	runs, _, err := trajlog.ReadFile(logPath)
	if err != nil || len(runs) != 1 {
		t.Fatal(err)
	}
	if e, s := runs[0].Engine, runs[0].SummarizerEngine; e == nil || e.Kind != "llama.cpp" || s == nil || s.Kind != "Ollama" || s.URL != summarizer.URL {
		t.Errorf("engines in the log: %+v, %+v", e, s)
	}
}

// Without --tokenizer, and with the served name in no cache, vLLM's and llama.cpp's tokenize
// endpoints stand in for the local tokenizer: the same rows as with it. Ollama has none, and
// says to pass --tokenizer.
func TestEngineServerTokenizer(t *testing.T) {
	t.Setenv("HF_HOME", t.TempDir())
	t.Setenv("HF_HUB_CACHE", "")
	for _, kind := range []remotetest.Kind{remotetest.VLLM, remotetest.LlamaCpp} {
		t.Run(string(kind), func(t *testing.T) {
			srv := engine(t, kind, solver, 0)
			rows := func(tok ...string) string {
				args := append([]string{"bench", "--synthetic", "--n", "6", "--modes", "iterative", "--engine", srv.URL, "--model", servedName, "--format", "json"}, tok...)
				out, errOut, err := runInfty(t, args...)
				if err != nil {
					t.Fatalf("%v: %v\n%s", tok, err, errOut)
				}
				return fmt.Sprint(benchRows(t, out))
			}
			if local, server := rows("--tokenizer", fixtureModel), rows(); local != server {
				t.Errorf("with --tokenizer: %s\nwith the server's: %s", local, server)
			}
			p, _ := synth.New(5, 10)
			out, errOut, err := runInfty(t, "solve", "--engine", srv.URL, "--model", servedName, "--log", filepath.Join(t.TempDir(), "l.jsonl"), p.Question())
			if err != nil || !strings.Contains(out, "── iteration 2 ──") || !strings.Contains(out, "answer: "+p.Answer()+" ✓ correct") {
				t.Errorf("solve: %v\nstdout:\n%s\nstderr:\n%s", err, out, errOut)
			}
		})
	}
	srv := engine(t, remotetest.Ollama, solver, 0)
	_, _, err := runInfty(t, "solve", "--engine", srv.URL, "--model", servedName, "--log", filepath.Join(t.TempDir(), "l.jsonl"), "q")
	if err == nil || !strings.Contains(err.Error(), "--tokenizer") || !strings.Contains(err.Error(), `"`+servedName+`"`) || !strings.Contains(err.Error(), "Ollama") {
		t.Errorf("Ollama without a tokenizer: %v", err)
	}
}
