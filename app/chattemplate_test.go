package app

import (
	"bytes"
	"io"
	"strings"
	"testing"

	"github.com/infty-dev/infty/runtime/chattemplate"
)

func TestRenderChatLinesErrors(t *testing.T) {
	tmpl, err := chattemplate.Load("../runtime/chattemplate/testdata/templates/gemma")
	if err != nil {
		t.Fatal(err)
	}
	in := `{"messages":[{"role":"system","content":"s"}],"add_generation_prompt":true}` + "\n\n" +
		`{"messages":[{"role":"user","content":"hi"}],"add_generation_prompt":true}` + "\n"
	var out, errOut bytes.Buffer
	failed, err := RenderChatLines(tmpl, strings.NewReader(in), &out, &errOut)
	if err != nil || failed != 1 {
		t.Fatalf("failed=%d err=%v", failed, err)
	}
	if !strings.HasPrefix(errOut.String(), "stdin:1: ") || !strings.Contains(errOut.String(), "System role not supported") {
		t.Errorf("stderr %q does not name the failed line", errOut.String())
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	if len(lines) != 2 || !strings.Contains(lines[0], `"error":`) || !strings.Contains(lines[0], "System role not supported") ||
		!strings.Contains(lines[1], `"rendered":"<bos><start_of_turn>user\nhi<end_of_turn>\n<start_of_turn>model\n"`) {
		t.Errorf("output:\n%s", out.String())
	}
	_, err = RenderChatLines(tmpl, strings.NewReader(`{"messages": [`), &out, io.Discard)
	if err == nil || !strings.Contains(err.Error(), "stdin:1") {
		t.Errorf("bad JSON: %v", err)
	}
}

func TestRenderChatLinesContinueFinalMessage(t *testing.T) {
	tmpl, err := chattemplate.Load("../testdata/models/qwen2-tiny-f32")
	if err != nil {
		t.Fatal(err)
	}
	in := `{"messages":[{"role":"user","content":"q"},{"role":"assistant","content":"<history>\n* s\n</history>"}],"continue_final_message":true}` + "\n"
	var out bytes.Buffer
	if failed, err := RenderChatLines(tmpl, strings.NewReader(in), &out, io.Discard); err != nil || failed != 0 {
		t.Fatalf("failed=%d err=%v", failed, err)
	}
	want := `"rendered":"<|im_start|>user\nq<|im_end|>\n<|im_start|>assistant\n<history>\n* s\n</history>"}`
	if !strings.HasSuffix(strings.TrimSpace(out.String()), want) {
		t.Errorf("got %s", out.String())
	}
}
