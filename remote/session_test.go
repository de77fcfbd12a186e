package remote_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/infty-dev/infty/llm"
	"github.com/infty-dev/infty/remote"
	"github.com/infty-dev/infty/remote/remotetest"
	"github.com/infty-dev/infty/session"
	"github.com/infty-dev/infty/session/format"
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

// A pause longer than the stall timeout releases the server; on resume the stream continues from
// the text so far, so with a model that is a function of its text (as greedy decoding is) the
// run ends exactly as an unpaused one.
func TestSessionPauseResume(t *testing.T) {
	policy := sessiontest.Script{Reason: func(int) int { return 8 }, ConcludeAt: 2, SummaryWords: 3, Answer: "42"}.Policy()
	// A function of the text alone (the word drawn depends on the text's length), continuing
	// any piece a released stream left unfinished.
	greedy := remotetest.Resumable(func(ctx string, _ int, seed uint64) (string, bool) {
		return policy(sessiontest.State{Context: ctx, Index: len(ctx), Seed: seed})
	})
	solve := func(pause bool) ([]session.Iteration, int) {
		srv := fake(t, remotetest.VLLM, func(c *remotetest.Config) { c.Context = 2048; c.Policy = greedy; c.Delay = time.Millisecond })
		e := open(t, srv.URL, func(o *remote.Options) { o.StallTimeout = 30 * time.Millisecond; o.Resumes = -1 })
		s, err := session.New(e, session.Config{Eta: 100, Phi: 5, SummaryMax: 200, ConclusionMax: 200})
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		ch, err := s.Start(context.Background(), "What is 6 times 7?")
		if err != nil {
			t.Fatal(err)
		}
		deltas := 0
		for ev := range ch {
			if ev.Type == session.EventDelta {
				if deltas++; pause && deltas == 10 {
					s.Pause()
					time.Sleep(150 * time.Millisecond)
					s.Resume()
				}
			}
			if ev.Type == session.EventError {
				t.Fatal(ev.Message)
			}
			if ev.Type == session.EventDone {
				break
			}
		}
		snap := s.Snapshot()
		if !snap.Done || snap.Answer != "42" {
			t.Fatalf("pause %v: done %v, answer %q", pause, snap.Done, snap.Answer)
		}
		return snap.Iterations, len(srv.Requests())
	}
	whole, n := solve(false)
	paused, np := solve(true)
	if np <= n {
		t.Errorf("the pause released no stream: %d requests, %d unpaused", np, n)
	}
	if len(paused) != len(whole) {
		t.Fatalf("%d iterations after a pause, %d without", len(paused), len(whole))
	}
	for i := range whole {
		if paused[i].Raw != whole[i].Raw {
			t.Errorf("iteration %d after a pause:\n%q\nwithout:\n%q", i+1, paused[i].Raw, whole[i].Raw)
		}
	}
}

// lastTurn is the text after the last assistant header: what the model has written of its turn.
func lastTurn(ctx string) string {
	const header = "<|im_start|>assistant\n"
	if i := strings.LastIndex(ctx, header); i >= 0 {
		return ctx[i+len(header):]
	}
	return ""
}

// Scaffolding through two servers: the reasoner on one (llama.cpp, ids), the summarizer on
// another (Ollama, text), as --summarizer-engine will run it.
func TestSessionScaffoldTwoServers(t *testing.T) {
	reasoner := fake(t, remotetest.LlamaCpp, func(c *remotetest.Config) {
		c.Context = 2048
		c.Policy = func(ctx string, _ int, _ uint64) (string, bool) {
			switch a := lastTurn(ctx); {
			case !strings.Contains(a, format.ThinkClose):
				return "w\n\n", false
			case strings.HasSuffix(a, "}"):
				return "", true
			}
			return `\boxed{1}`, false
		}
	})
	summarizer := fake(t, remotetest.Ollama, func(c *remotetest.Config) {
		c.Context = 2048
		c.Policy = func(ctx string, _ int, _ uint64) (string, bool) { return "* the summary", lastTurn(ctx) != "" }
	})
	s, err := session.New(open(t, reasoner.URL, nil), session.Config{Mode: session.ModeScaffold, Eta: 6, Phi: 2, SummaryMax: 100, ConclusionMax: 100},
		session.WithSummarizer(open(t, summarizer.URL, nil)))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	snap, err := s.Solve(context.Background(), "What is 1?", nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(snap.Iterations) != 2 || snap.Iterations[0].Summary != "* the summary" || snap.Answer != "1" || !snap.Done {
		t.Fatalf("%d iterations, answer %q, first %+v", len(snap.Iterations), snap.Answer, snap.Iterations[0])
	}
	if len(summarizer.Requests()) != 1 {
		t.Errorf("the summarizer served %d requests, want 1", len(summarizer.Requests()))
	}
}
