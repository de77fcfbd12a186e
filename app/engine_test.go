package app

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	"github.com/infty-dev/infty/remote/remotetest"
)

const fixtureTokenizer = "../testdata/models/qwen3-tiny-f32"

// Ctrl-C during a bench stops the requests in flight and says how far it got.
func TestBenchInterrupted(t *testing.T) {
	srv := remotetest.New(t, remotetest.Config{Kind: remotetest.VLLM, Tokenizer: fixtureTokenizer, Model: "m", Context: 2048, Delay: 20 * time.Millisecond,
		Policy: func(string, int, uint64) (string, bool) { return " word", false }})
	problems, err := BenchProblems("", 777, 6, "28-39")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 150*time.Millisecond)
	defer cancel()
	o := BenchOptions{Model: "m", Modes: "iterative", Phi: 4, Parallel: 2, Engine: EngineSpec{URL: srv.URL, Tokenizer: fixtureTokenizer}}
	var out, progress bytes.Buffer
	start := time.Now()
	err = Bench(ctx, o, problems, "table", &out, &progress)
	if err == nil || !strings.Contains(err.Error(), "iterative: interrupted after 0 of 6 problems") {
		t.Fatalf("error %v; progress %q", err, progress.String())
	}
	if d := time.Since(start); d > 10*time.Second {
		t.Errorf("stopping took %v", d)
	}
	if out.Len() != 0 {
		t.Errorf("a table after an interrupted run: %q", out.String())
	}
}
