package sft

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"

	"github.com/infty-dev/infty/session/trajlog"
)

func TestChatPrefixSpans(t *testing.T) {
	it := trajlog.Iteration{Index: 2, History: "x = π/2 ✓", Reasoning: "r", Summary: "s"}
	ex := Chat("q", it)
	content := ex.Messages[1].Content
	wantPrefix := "<history>\nx = π/2 ✓\n</history>"
	if content[:ex.NoLossPrefixBytes] != wantPrefix || string([]rune(content)[:ex.NoLossPrefixChars]) != wantPrefix {
		t.Errorf("spans %d bytes / %d chars of %q", ex.NoLossPrefixBytes, ex.NoLossPrefixChars, content)
	}
	if ex.NoLossPrefixBytes == ex.NoLossPrefixChars {
		t.Error("byte and code point counts should differ for non-ASCII history")
	}
	if content != wantPrefix+"<think>\nr\n</think><summary>\ns\n</summary>" {
		t.Errorf("content %q", content)
	}
	first := Chat("q", trajlog.Iteration{Index: 1, Reasoning: "r", Conclusion: `\boxed{1}`, Final: true})
	if first.NoLossPrefixBytes != 0 || first.Messages[1].Content != "<think>\nr\n</think>\n\\boxed{1}\n" {
		t.Errorf("first %+v", first)
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
