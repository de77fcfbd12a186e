package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"os"
	"strings"
	"testing"
)

// The command's contract: every input object comes back, keys in order, with "rendered" added
// (replacing a "rendered" already there), and the renderings match the fixture's reference.
func TestChatTemplateCommandMatchesReference(t *testing.T) {
	ref, err := os.ReadFile("testdata/tokenizers/qwen3.chat.reference.jsonl")
	if err != nil {
		t.Fatal(err)
	}
	cmd := newRootCmd()
	var out bytes.Buffer
	cmd.SetIn(bytes.NewReader(ref))
	cmd.SetOut(&out)
	cmd.SetArgs([]string{"chat-template", "--tokenizer", "testdata/tokenizers/qwen3"})
	if err := cmd.Execute(); err != nil {
		t.Fatal(err)
	}
	want := bufio.NewScanner(bytes.NewReader(ref))
	got := bufio.NewScanner(&out)
	n := 0
	for want.Scan() {
		if !got.Scan() {
			t.Fatalf("output has %d lines, want more", n)
		}
		n++
		var w, g map[string]any
		if err := json.Unmarshal(want.Bytes(), &w); err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal(got.Bytes(), &g); err != nil {
			t.Fatalf("line %d: %v: %s", n, err, got.Bytes())
		}
		if g["rendered"] != w["rendered"] {
			t.Errorf("line %d:\n got %q\nwant %q", n, g["rendered"], w["rendered"])
		}
		if len(g) != len(w) {
			t.Errorf("line %d: keys %v, want %v", n, g, w)
		}
		// Same key order as the input, as the reference tool writes it.
		if !strings.HasPrefix(got.Text(), `{"messages":`) {
			t.Errorf("line %d: key order changed: %.40s", n, got.Text())
		}
	}
	if got.Scan() {
		t.Errorf("extra output line %q", got.Text())
	}
}
