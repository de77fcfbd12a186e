package synth_test

import (
	"context"
	"fmt"
	"regexp"
	"strings"
	"testing"

	"github.com/infty-dev/infty/runtime/tinymodel"
	"github.com/infty-dev/infty/session"
	"github.com/infty-dev/infty/session/rtmodel"
	"github.com/infty-dev/infty/session/synth"
)

// The embedded default model runs end to end through the session engine in the InftyThink+
// protocol it was trained on: every iteration works through six steps and ends with a summary in
// the task's form at the right step, the engine carries that summary into the next iteration,
// and the next iteration picks up at the following step; every step applies the question's
// increment. (The shipped model does not yet get the additions right — see the report in
// runtime/tinymodel — so this checks the protocol it has learned, not the answer.)
func TestDefaultModelFollowsProtocolThroughEngine(t *testing.T) {
	dir, err := tinymodel.DirIn(t.TempDir(), tinymodel.Iterative)
	if err != nil {
		t.Fatal(err)
	}
	m, err := rtmodel.Load(dir, "infty-tiny")
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	window := m.ContextLength()
	if window != tinymodel.ContextLength {
		t.Fatalf("window %d", window)
	}
	summary := regexp.MustCompile(`^(\d\d) done: d=\d x=\d$`)
	for _, seed := range []uint64{9001, 9002} {
		p, err := synth.New(seed, 24)
		if err != nil {
			t.Fatal(err)
		}
		e, err := session.New(m, session.Config{Mode: session.ModeNative, Eta: window/2 - 4, Phi: 3,
			SummaryMax: window / 11, ConclusionMax: window / 11, Reference: p.Answer()})
		if err != nil {
			t.Fatal(err)
		}
		snap, err := e.Solve(context.Background(), p.Question(), nil)
		e.Close()
		if err != nil {
			t.Fatalf("seed %d: %v", seed, err)
		}
		if len(snap.Iterations) < 2 {
			t.Fatalf("seed %d: %d iterations", seed, len(snap.Iterations))
		}
		for i, it := range snap.Iterations[:2] {
			sm := summary.FindStringSubmatch(it.Summary)
			if sm == nil || sm[1] != fmt.Sprintf("%02d", 6*(i+1)) {
				t.Errorf("seed %d iteration %d: summary %q, want \"%02d done: d=D x=X\"", seed, i+1, it.Summary, 6*(i+1))
			}
			lines := strings.Split(strings.TrimSpace(it.Reasoning), "\n")
			if len(lines) != 6 {
				t.Errorf("seed %d iteration %d: %d steps, want 6", seed, i+1, len(lines))
			}
			for j, l := range lines {
				if want := fmt.Sprintf("%02d: d=", 6*i+j+1); !strings.HasPrefix(l, want) {
					t.Errorf("seed %d iteration %d: step %q does not start %q", seed, i+1, l, want)
				}
				if !strings.Contains(l, fmt.Sprintf("+%d=", p.A)) {
					t.Errorf("seed %d iteration %d: step %q does not add a=%d", seed, i+1, l, p.A)
				}
			}
			if i > 0 && it.History != snap.Iterations[i-1].Summary {
				t.Errorf("seed %d iteration %d: history %q is not the previous summary", seed, i+1, it.History)
			}
		}
	}
}
