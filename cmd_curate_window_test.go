package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// A summarizer whose window cannot hold a summary turn at the configured η is refused up front,
// naming the option, before the log is touched; the JSON Lines stream ends with an error event.
func TestCurateRefusesSmallSummarizerWindowUpFront(t *testing.T) {
	dir := t.TempDir()
	input := filepath.Join(dir, "traces.jsonl")
	trace := `{"question":"What is 1+1?","reasoning":` + mustJSON("Start here.\n\nThen more.\n\nFinally 2.") + `}`
	if err := os.WriteFile(input, []byte(trace+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	logPath := filepath.Join(dir, "log.jsonl")
	out, _, err := runInfty(t, "curate", "--input", input, "--summarizer", fixtureModel, "--eta", "400", "--summary-max", "100",
		"--format", "jsonl", "--log", logPath)
	if err == nil || !strings.Contains(err.Error(), "--summarizer") {
		t.Fatalf("err %v: want a refusal naming --summarizer", err)
	}
	if _, serr := os.Stat(logPath); !os.IsNotExist(serr) {
		t.Errorf("the log was written before the refusal (%v)", serr)
	}
	evs := jsonLines(t, out)
	if last := evs[len(evs)-1]; last["type"] != "error" || !strings.Contains(last["message"].(string), "--summarizer") {
		t.Errorf("the stream does not end with the error: %v", evs)
	}
}

// Without --eta, curate lowers the default η until the summaries fit the summarizer's window.
func TestCurateFitsDefaultEtaToSummarizer(t *testing.T) {
	dir := t.TempDir()
	input := filepath.Join(dir, "traces.jsonl")
	trace := `{"question":"What is 1+1?","reasoning":` + mustJSON("Start here.\n\nThen more.\n\nFinally 2.") + `,"answer":"\\boxed{2}"}`
	if err := os.WriteFile(input, []byte(trace+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	logPath := filepath.Join(dir, "log.jsonl")
	if _, errOut, err := runInfty(t, "curate", "--input", input, "--summarizer", fixtureModel, "--summary-max", "6", "--log", logPath); err != nil {
		t.Fatalf("%v\n%s", err, errOut)
	}
}
