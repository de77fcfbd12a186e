package session_test

import (
	"testing"

	"github.com/infty-dev/infty/session"
)

// FormatBreak names the first iteration where the engine had to step in, and only that.
func TestFormatBreak(t *testing.T) {
	kept := []session.Iteration{{Index: 1, Summary: "s"}, {Index: 2, Final: true, Conclusion: "c"}}
	if got := session.FormatBreak(kept); got != "" {
		t.Errorf("a run that kept the format: %q", got)
	}
	if got := session.FormatBreak(nil); got != "" {
		t.Errorf("no iterations: %q", got)
	}
	for _, c := range []struct {
		spoil func(*session.Iteration)
		want  string
	}{
		{func(it *session.Iteration) { it.Malformed = true }, "iteration 2: tags out of the layout"},
		{func(it *session.Iteration) { it.ForcedBoundary = true }, "iteration 2: no boundary within η"},
		{func(it *session.Iteration) { it.SummaryTruncated = true }, "iteration 2: summary not closed within its bound"},
		{func(it *session.Iteration) { it.ForcedConclusion = true }, "iteration 2: φ reached without a conclusion"},
		{func(it *session.Iteration) { it.Truncated = true }, "iteration 2: conclusion not ended within its bound"},
	} {
		its := append([]session.Iteration{{Index: 1, Summary: "s"}}, kept[1], session.Iteration{Index: 3, Truncated: true})
		its[1].Index = 2
		c.spoil(&its[1])
		if got := session.FormatBreak(its); got != c.want {
			t.Errorf("got %q, want %q", got, c.want)
		}
	}
}
