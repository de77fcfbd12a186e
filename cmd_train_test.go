package main

import (
	"path/filepath"
	"strings"
	"testing"
)

// A fine-tuning run whose longest batch would need more memory than --update-memory allows is
// refused before its first step, saying what to lower; within the budget the same run trains.
func TestTrainSFTRefusesABatchTooBigForMemory(t *testing.T) {
	dir := t.TempDir()
	data := filepath.Join(dir, "it.jsonl")
	if _, errOut, err := runInfty(t, "train", "synth", "--mode", "iterative", "--n", "4", "--out", data); err != nil {
		t.Fatalf("%v\n%s", err, errOut)
	}
	args := []string{"train", "sft", "--data", data, "--model", "runtime/tinymodel/model", "--steps", "1", "--warmup", "0", "--batch-size", "4", "--quiet"}
	_, _, err := runInfty(t, append(args, "--out", filepath.Join(dir, "a"), "--update-memory", "1MiB")...)
	if err == nil || !strings.Contains(err.Error(), "a step of 4 conversations") || !strings.Contains(err.Error(), "lower --batch-size or --max-len") {
		t.Errorf("--update-memory 1MiB: %v, want the step refused", err)
	}
	if _, errOut, err := runInfty(t, append(args, "--out", filepath.Join(dir, "b"), "--update-memory", "1GiB")...); err != nil {
		t.Errorf("--update-memory 1GiB: %v\n%s", err, errOut)
	}
}
