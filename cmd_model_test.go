package main

import (
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
)

func TestLogitsAndGenerateCommands(t *testing.T) {
	var ref struct {
		PromptIDs []int `json:"prompt_ids"`
		F32       struct {
			PromptLogits [][]float64 `json:"prompt_logits"`
			GreedyIDs    []int       `json:"greedy_ids"`
		} `json:"f32"`
	}
	data, err := os.ReadFile(filepath.Join("testdata", "models", "qwen3-tiny.reference.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(data, &ref); err != nil {
		t.Fatal(err)
	}
	model := filepath.Join("testdata", "models", "qwen3-tiny-f32")
	var ids []string
	for _, id := range ref.PromptIDs {
		ids = append(ids, strconv.Itoa(id))
	}

	out, errOut, err := runHubCLI(t, "logits", "--model", model, "--ids", strings.Join(ids, ","))
	if err != nil {
		t.Fatalf("logits: %v\n%s", err, errOut)
	}
	var logits struct{ Logits [][]float64 }
	if err := json.Unmarshal([]byte(out), &logits); err != nil {
		t.Fatalf("logits output is not one JSON object: %v\n%.200s", err, out)
	}
	if len(logits.Logits) != len(ref.PromptIDs) {
		t.Fatalf("%d rows, want %d", len(logits.Logits), len(ref.PromptIDs))
	}
	for i, want := range ref.F32.PromptLogits {
		maxDiff, maxAbs := 0.0, 0.0
		for j := range want {
			maxDiff = max(maxDiff, math.Abs(logits.Logits[i][j]-want[j]))
			maxAbs = max(maxAbs, math.Abs(want[j]))
		}
		if maxDiff/maxAbs > 1e-4 {
			t.Errorf("row %d: relative error %.3g", i, maxDiff/maxAbs)
		}
	}

	out, errOut, err = runHubCLI(t, "generate", "--model", model, "--ids", strings.Join(ids, ","),
		"--max-tokens", "10", "--temperature", "0", "--backend", "go")
	if err != nil {
		t.Fatalf("generate: %v\n%s", err, errOut)
	}
	var gen struct{ IDs []int }
	if err := json.Unmarshal([]byte(out), &gen); err != nil {
		t.Fatalf("generate output: %v\n%s", err, out)
	}
	if !slices.Equal(gen.IDs, ref.F32.GreedyIDs[:10]) {
		t.Errorf("generate ids %v, want %v", gen.IDs, ref.F32.GreedyIDs[:10])
	}
}

func TestModelCommandErrors(t *testing.T) {
	broken := t.TempDir()
	os.WriteFile(filepath.Join(broken, "config.json"), []byte(`{"architectures":["GPT2LMHeadModel"]}`), 0o644)
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"logits", "--model", broken, "--ids", "1,2"}, "config.json"},
		{[]string{"generate", "--model", filepath.Join(broken, "missing"), "--ids", "1"}, "missing"},
		{[]string{"logits", "--model", filepath.Join("testdata", "models", "qwen2-tiny-f32"), "--ids", "1,x"}, `"x"`},
		{[]string{"generate", "--model", filepath.Join("testdata", "models", "qwen2-tiny-f32"), "--ids", "1", "--max-tokens", "0"}, "MaxTokens"},
	} {
		_, _, err := runHubCLI(t, tc.args...)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%v: error %v, want one mentioning %s", tc.args, err, tc.want)
		}
	}
}
