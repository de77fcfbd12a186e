package sft

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"

	"github.com/infty-dev/infty/llm"
	"github.com/infty-dev/infty/session/format"
	"github.com/infty-dev/infty/session/trajlog"
)

func TestChatPrefixSpans(t *testing.T) {
	ex := NewChat("q", format.Iteration{Index: 2, History: "x = π/2 ✓", Reasoning: "r", Summary: "s"})
	content := ex.Messages[1].Content
	wantPrefix := "<history>\nx = π/2 ✓\n</history>"
	n := *ex.NoLossPrefixBytes
	if content[:n] != wantPrefix || string([]rune(content)[:ex.NoLossPrefixChars]) != wantPrefix {
		t.Errorf("spans %d bytes / %d chars of %q", n, ex.NoLossPrefixChars, content)
	}
	if n == ex.NoLossPrefixChars {
		t.Error("byte and code point counts should differ for non-ASCII history")
	}
	if content != wantPrefix+"<think>\nr\n</think><summary>\ns\n</summary>" {
		t.Errorf("content %q", content)
	}
	if p, err := ex.Prefill(); p != wantPrefix || err != nil {
		t.Errorf("Prefill = %q, %v", p, err)
	}
	first := NewChat("q", format.Iteration{Index: 1, Reasoning: "r", Conclusion: `\boxed{1}`, Final: true})
	if *first.NoLossPrefixBytes != 0 || first.Messages[1].Content != "<think>\nr\n</think>\n\\boxed{1}\n" {
		t.Errorf("first %+v", first)
	}
}

// A line written by hand may leave no_loss_prefix_bytes out; a leading <history> block is then
// the prefix. A given prefix must leave something to train on.
func TestPrefill(t *testing.T) {
	chat := func(content string, n *int) *Chat {
		return &Chat{Messages: []llm.Message{{Role: "user", Content: "q"}, {Role: "assistant", Content: content}}, NoLossPrefixBytes: n}
	}
	three, all, one := 3, 6, 1
	for _, c := range []struct {
		chat *Chat
		want string
		err  bool
	}{
		{chat("<history>\ns\n</history><think>\n", nil), "<history>\ns\n</history>", false},
		{chat("<think>\nr", nil), "", false},
		{chat("<history>\ns", nil), "", true},
		{chat("abcdef", &three), "abc", false},
		{chat("abcdef", &all), "", true},
		{chat("πr", &one), "", true}, // splits π's two bytes
		{&Chat{}, "", true},
	} {
		got, err := c.chat.Prefill()
		if got != c.want || (err != nil) != c.err {
			t.Errorf("%+v: Prefill = %q, %v", c.chat, got, err)
		}
	}
}

func TestReaderNamesTheBadLine(t *testing.T) {
	in := `{"messages":[{"role":"user","content":"q"}],"no_loss_prefix_bytes":0}` + "\n\n" + `{"question":"q","summary":"s"}` + "\n" + `{"messages":` + "\n"
	r := NewReader(strings.NewReader(in), "data.jsonl")
	ex, err := r.Next()
	if err != nil || ex.Chat == nil || ex.Flat != nil || *ex.NoLossPrefixBytes != 0 || r.Where() != "data.jsonl:1" {
		t.Fatalf("first line: %+v, %v at %s", ex, err, r.Where())
	}
	ex, err = r.Next()
	if err != nil || ex.Chat != nil || ex.Flat == nil || ex.Summary != "s" || r.Where() != "data.jsonl:3" {
		t.Fatalf("flat line: %+v, %v at %s", ex, err, r.Where())
	}
	if _, err = r.Next(); err == nil || !strings.HasPrefix(err.Error(), "data.jsonl:4: ") {
		t.Fatalf("torn line: %v", err)
	}
}

func TestExportSelectsBranches(t *testing.T) {
	yes := true
	run := &trajlog.Run{ID: "r", Question: "q", Current: 2, Branches: []*trajlog.Branch{
		{ID: 1, Done: true, Iterations: []trajlog.Iteration{{Index: 1, Reasoning: "a", Final: true}}},
		{ID: 2, Parent: 1, Fork: 1, Done: true, Correct: &yes, Iterations: []trajlog.Iteration{{Index: 1, Reasoning: "b", Final: true, Edited: true}}},
		{ID: 3, Parent: 1, Fork: 1, Iterations: []trajlog.Iteration{{Index: 1, Reasoning: "c", Summary: "s"}}},
	}}
	cases := []struct {
		opts Options
		want string
	}{
		{Options{}, "b"},
		{Options{AllBranches: true}, "ab"},
		{Options{AllBranches: true, Unfinished: true}, "abc"},
		{Options{Branch: 1}, "a"},
		{Options{AllBranches: true, Only: Edited}, "b"},
		{Options{AllBranches: true, Only: Correct}, "b"},
		{Options{Layout: LayoutFlat, AllBranches: true}, "ab"},
	}
	for _, c := range cases {
		var out bytes.Buffer
		if _, err := Export(&out, []*trajlog.Run{run}, c.opts); err != nil {
			t.Fatal(err)
		}
		got := ""
		for _, line := range strings.Split(strings.TrimSpace(out.String()), "\n") {
			if line == "" {
				continue
			}
			var m map[string]any
			if err := json.Unmarshal([]byte(line), &m); err != nil {
				t.Fatal(err)
			}
			if r, ok := m["reasoning_process"].(string); ok {
				got += r
			} else {
				c := m["messages"].([]any)[1].(map[string]any)["content"].(string)
				got += strings.TrimPrefix(c, "<think>\n")[:1]
			}
		}
		if got != c.want {
			t.Errorf("%+v: got %q, want %q", c.opts, got, c.want)
		}
	}
	if _, err := Export(&bytes.Buffer{}, nil, Options{Only: "pretty"}); err == nil {
		t.Error("unknown filter accepted")
	}
}
