package synth_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/infty-dev/infty/runtime"
	"github.com/infty-dev/infty/runtime/tinymodel"
	"github.com/infty-dev/infty/session"
	"github.com/infty-dev/infty/session/synth"
)

// The embedded default model solves problems it never saw end to end through the session
// engine, in the InftyThink+ protocol it was trained on: each iteration ends with a summary in
// the task's form exactly when the steps left reach a multiple of the stride, that summary holds
// the true state of the chain, the engine carries it into the next iteration, and the last
// iteration boxes the right answer. The problems come from seeds outside the training data
// (which used seed 1), at lengths whose plain chain of thought cannot fit the window, nor that of
// the shorter problem each is equivalent to (see the period in the package doc). Lengths below 20
// are left out because the shipped model is weak there (see README, "Status").
func TestDefaultModelSolvesThroughEngine(t *testing.T) {
	dir, err := tinymodel.DirIn(t.TempDir(), tinymodel.Iterative)
	if err != nil {
		t.Fatal(err)
	}
	m, err := runtime.Open(dir, "infty-tiny")
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	window := m.ContextLength()
	if window != tinymodel.ContextLength {
		t.Fatalf("window %d", window)
	}
	for i, n := range []int{29, 37, 44, 55} {
		seed := uint64(9001 + i)
		p, err := synth.New(seed, n)
		if err != nil {
			t.Fatal(err)
		}
		e, err := session.New(m, session.Config{Mode: session.ModeNative, Eta: window/2 - 4, Phi: 16,
			SummaryMax: window / 11, ConclusionMax: window / 11, Reference: p.Answer()})
		if err != nil {
			t.Fatal(err)
		}
		snap, err := e.Solve(context.Background(), p.Question(), nil)
		e.Close()
		if err != nil {
			t.Fatalf("seed %d: %v", seed, err)
		}
		its := p.Iterations(synth.DefaultStride)
		if len(snap.Iterations) != len(its) {
			t.Errorf("seed %d (n=%d): %d iterations, want %d", seed, n, len(snap.Iterations), len(its))
		}
		xs := p.Values()
		left := n
		for j, it := range snap.Iterations {
			left -= len(strings.Split(strings.TrimSpace(it.Reasoning), "\n"))
			if j > 0 && it.History != snap.Iterations[j-1].Summary {
				t.Errorf("seed %d iteration %d: history %q is not the previous summary", seed, j+1, it.History)
			}
			if j == len(snap.Iterations)-1 {
				break
			}
			want := fmt.Sprintf("%02d left: d=%d x=%d", left, (p.D+(n-left)*p.A)%10, xs[max(n-left-1, 0)])
			if it.Summary != want || left%synth.DefaultStride != 0 {
				t.Errorf("seed %d iteration %d: summary %q, want %q", seed, j+1, it.Summary, want)
			}
		}
		if snap.Correct == nil || !*snap.Correct {
			t.Errorf("seed %d (n=%d): answer %q, want %s\n%s", seed, n, snap.Answer, p.Answer(), p.Question())
		}
	}
}
