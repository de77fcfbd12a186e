package app

import (
	"testing"
	"time"

	"github.com/infty-dev/infty/session/synth"
)

// The suggested problem is one the embedded model was trained for, 24 steps long; --seed pins it
// and without one the clock varies it.
func TestSuggestedProblem(t *testing.T) {
	t0 := time.Unix(1_700_000_000, 0)
	a, b := suggestedProblem(7, t0), suggestedProblem(7, t0.Add(time.Hour))
	if a != b {
		t.Fatalf("--seed 7 gave %q then %q", a, b)
	}
	if p, ok := synth.Parse(a); !ok || p.N != 24 {
		t.Fatalf("suggestion %q is not a 24-step synthetic problem", a)
	}
	seen := map[string]bool{}
	for i := range 8 {
		seen[suggestedProblem(0, t0.Add(time.Duration(i)*time.Second))] = true
	}
	if len(seen) < 2 {
		t.Fatalf("without --seed every suggestion is %v", seen)
	}
}
