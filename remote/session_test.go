package remote_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/infty-dev/infty/llm"
	"github.com/infty-dev/infty/remote/remotetest"
	"github.com/infty-dev/infty/session"
	"github.com/infty-dev/infty/session/sessiontest"
)

// The session engine runs the native InftyThink+ protocol through the remote engine: the server
// plays a model that writes summaries and concludes at the third iteration.
func TestSessionNative(t *testing.T) {
	policy := sessiontest.Script{Reason: func(int) int { return 5 }, ConcludeAt: 3, SummaryWords: 3, Answer: "42"}.Policy()
	for _, kind := range []remotetest.Kind{remotetest.VLLM, remotetest.Ollama} {
		t.Run(string(kind), func(t *testing.T) {
			srv := fake(t, kind, func(c *remotetest.Config) {
				c.Context = 2048
				c.Policy = func(ctx string, i int, seed uint64) (string, bool) {
					return policy(sessiontest.State{Context: ctx, Index: i, Seed: seed})
				}
			})
			e := open(t, srv.URL, nil)
			// Bounds small enough that an iteration fits the 2048 tokens the server reports.
			s, err := session.New(e, session.Config{Eta: 100, Phi: 5, SummaryMax: 200, ConclusionMax: 200, Reference: "42", Sampling: llm.Sampling{Seed: 7}})
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			snap, err := s.Solve(context.Background(), "What is 6 times 7?", nil)
			if err != nil {
				t.Fatal(err)
			}
			if len(snap.Iterations) != 3 || !snap.Done || snap.Answer != "42" || snap.Correct == nil || !*snap.Correct {
				t.Fatalf("%d iterations, done %v, answer %q", len(snap.Iterations), snap.Done, snap.Answer)
			}
			for i, it := range snap.Iterations[:2] {
				if want := fmt.Sprintf("[it=%d] y0 y1 y2", i+1); it.Summary != want || it.ForcedBoundary || it.Malformed {
					t.Errorf("iteration %d: summary %q, want %q (%+v)", i+1, it.Summary, want, it)
				}
				if i > 0 && it.History != snap.Iterations[i-1].Summary {
					t.Errorf("iteration %d starts from %q", i+1, it.History)
				}
			}
		})
	}
}
