package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"os"
	"strings"
	"testing"

	"github.com/infty-dev/infty/runtime/chattemplate"
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

func TestChatTemplateCommandErrors(t *testing.T) {
	tmpl, err := chattemplate.Load("runtime/chattemplate/testdata/templates/gemma")
	if err != nil {
		t.Fatal(err)
	}
	in := `{"messages":[{"role":"system","content":"s"}],"add_generation_prompt":true}` + "\n\n" +
		`{"messages":[{"role":"user","content":"hi"}],"add_generation_prompt":true}` + "\n"
	var out bytes.Buffer
	failed, err := renderChatLines(tmpl, strings.NewReader(in), &out)
	if err != nil || failed != 1 {
		t.Fatalf("failed=%d err=%v", failed, err)
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	if len(lines) != 2 || !strings.Contains(lines[0], `"error":`) || !strings.Contains(lines[0], "System role not supported") ||
		!strings.Contains(lines[1], `"rendered":"<bos><start_of_turn>user\nhi<end_of_turn>\n<start_of_turn>model\n"`) {
		t.Errorf("output:\n%s", out.String())
	}
	_, err = renderChatLines(tmpl, strings.NewReader(`{"messages": [`), &out)
	if err == nil || !strings.Contains(err.Error(), "stdin line 1") {
		t.Errorf("bad JSON: %v", err)
	}
}

func TestChatTemplateCommandContinueFinalMessage(t *testing.T) {
	tmpl, err := chattemplate.Load("testdata/models/qwen2-tiny-f32")
	if err != nil {
		t.Fatal(err)
	}
	in := `{"messages":[{"role":"user","content":"q"},{"role":"assistant","content":"<history>\n* s\n</history>"}],"continue_final_message":true}` + "\n"
	var out bytes.Buffer
	if failed, err := renderChatLines(tmpl, strings.NewReader(in), &out); err != nil || failed != 0 {
		t.Fatalf("failed=%d err=%v", failed, err)
	}
	want := `"rendered":"<|im_start|>user\nq<|im_end|>\n<|im_start|>assistant\n<history>\n* s\n</history>"}`
	if !strings.HasSuffix(strings.TrimSpace(out.String()), want) {
		t.Errorf("got %s", out.String())
	}
}
