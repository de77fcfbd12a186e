package format

import (
	"strings"
	"testing"
)

func TestRenderLayout(t *testing.T) {
	got := Iteration{Index: 2, History: "s1", Reasoning: "r2", Summary: "s2"}.Render()
	want := "<history>\ns1\n</history><think>\nr2\n</think><summary>\ns2\n</summary>"
	if got != want {
		t.Errorf("non-final turn %q, want %q", got, want)
	}
	got = Iteration{Index: 1, Reasoning: "r", Conclusion: "The answer is 4.", Final: true}.Render()
	want = "<think>\nr\n</think>\nThe answer is 4.\n"
	if got != want {
		t.Errorf("final turn %q, want %q", got, want)
	}
	if Prefill(1, "x") != "" || Prefill(3, "x") != "<history>\nx\n</history>" {
		t.Error("prefill")
	}
}

func TestSplitPrefill(t *testing.T) {
	for _, c := range []struct {
		in, prefill, rest string
		ok                bool
	}{
		{"<history>\ns\n</history><think>\nr", "<history>\ns\n</history>", "<think>\nr", true},
		{"<think>\nr\n</think>", "", "<think>\nr\n</think>", true},
		{"<history>\ns", "", "<history>\ns", false},
		{"x<history>\ns\n</history>", "", "x<history>\ns\n</history>", true},
	} {
		p, r, ok := SplitPrefill(c.in)
		if p != c.prefill || r != c.rest || ok != c.ok {
			t.Errorf("SplitPrefill(%q) = %q, %q, %v", c.in, p, r, ok)
		}
	}
	it := Iteration{Index: 3, History: "s2", Reasoning: "r3", Summary: "s3"}
	if p, _, _ := SplitPrefill(it.Render()); p != it.Prefill() {
		t.Errorf("prefill of a rendered turn %q, want %q", p, it.Prefill())
	}
}

func TestParseRoundTrip(t *testing.T) {
	for _, c := range []struct {
		r, s, c string
		final   bool
	}{
		{"a\n\nb", "* s1\n* s2", "", false},
		{"line\n", "sum", "", false}, // reasoning ending in a newline
		{"r", "", "\\boxed{4}", true},
		{"r <summary", "s", "", false},
		{"", "", "", true},
		{"ünïcode ✓", "σ", "", false},
	} {
		text := Iteration{Index: 1, Reasoning: c.r, Summary: c.s, Conclusion: c.c, Final: c.final}.Render()
		p := Parse(text, false)
		if p.Malformed || p.Reasoning != c.r || p.Summary != c.s || p.Conclusion != c.c || (p.Phase == PhaseConclusion) != c.final {
			t.Errorf("Parse(%q) = %+v", text, p)
		}
		// Streaming: every prefix parses to prefixes of the final parts.
		for i := 0; i <= len(text); i++ {
			q := Parse(text[:i], true)
			if !strings.HasPrefix(p.Reasoning, q.Reasoning) || !strings.HasPrefix(p.Summary, q.Summary) || !strings.HasPrefix(p.Conclusion, q.Conclusion) {
				t.Fatalf("prefix %q parses to %+v, not a prefix of %+v", text[:i], q, p)
			}
		}
		if !c.final {
			if p.SummaryCloseEnd != len(text) {
				t.Errorf("SummaryCloseEnd %d, want %d", p.SummaryCloseEnd, len(text))
			}
		}
	}
}

func TestParseMalformed(t *testing.T) {
	for _, c := range []struct {
		text       string
		phase      Phase
		r, s, conc string
	}{
		{"no tags at all", PhaseReasoning, "no tags at all", "", ""},
		{"<think>r</think><summary>s</summary>", PhaseSummary, "r", "s", ""},
		{"<think>\nr\n<summary>\ns\n</summary>", PhaseSummary, "r", "s", ""},
		{"<think>\nr\n</think>\n<summary>\ns\n</summary>", PhaseSummary, "r", "s", ""},
		{"<think>\nr\n</think><summary>\ns", PhaseSummary, "r", "s", ""},
		{"<think>\nr\n</think><summary>\ns\n</summary>junk", PhaseSummary, "r", "s", ""},
		{"<think>\nr\n</think>answer", PhaseConclusion, "r", "", "answer"},
	} {
		p := Parse(c.text, false)
		if !p.Malformed || p.Phase != c.phase || p.Reasoning != c.r || p.Summary != c.s || p.Conclusion != c.conc {
			t.Errorf("Parse(%q) = %+v", c.text, p)
		}
	}
}
