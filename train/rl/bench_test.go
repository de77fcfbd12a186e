package rl

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/infty-dev/infty/llm"
	"github.com/infty-dev/infty/runtime"
	"github.com/infty-dev/infty/session"
	"github.com/infty-dev/infty/session/synth"
	"github.com/infty-dev/infty/train"
)

// BenchmarkRolloutCost compares the rollouts GRPO pays for on the same problems: iterative
// trajectories of the embedded InftyThink+ model (bounded iterations) against plain chains of
// thought of the embedded vanilla baseline (one growing context), G = 8 samples at T = 1 of 8
// problems of 1-7 steps (the most a plain chain fits in the 256-token window), all 64 in flight
// at once as in a step. The two alternate within each iteration, so load affects both alike.
// Reported per rollout: seconds, generated tokens, and the longest context a rollout attends
// over (prompt + generated of one call).
func BenchmarkRolloutCost(b *testing.B) {
	ps, err := synth.Set(57, 8, 1, 7)
	if err != nil {
		b.Fatal(err)
	}
	open := func(dir string) *runtime.Engine {
		e, err := runtime.Open(dir, dir)
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { e.Close() })
		return e
	}
	iter, cot := open(tinyModel), open("../../runtime/tinymodel/vanilla")
	cfg := session.Config{Phi: DefaultPhi, Sampling: llm.Sampling{Temperature: 1}}
	cfg.FitWindow(iter.ContextLength())
	const g = 8
	type cost struct {
		sec             float64
		tokens, context int
	}
	var it, ct cost
	ctx := context.Background()
	run := func(c *cost, one func(p synth.Problem, seed uint64) (tokens, context int)) {
		start := time.Now()
		var mu sync.Mutex
		var wg sync.WaitGroup
		for i, p := range ps {
			for j := range g {
				wg.Add(1)
				go func() {
					defer wg.Done()
					tok, cx := one(p, uint64(i*g+j))
					mu.Lock()
					c.tokens += tok
					c.context = max(c.context, cx)
					mu.Unlock()
				}()
			}
		}
		wg.Wait()
		c.sec += time.Since(start).Seconds()
	}
	for range b.N {
		run(&it, func(p synth.Problem, seed uint64) (int, int) {
			tr, err := rollout(ctx, iter, -1, cfg, Problem{Question: p.Question(), Answer: p.Answer()}, seed, false)
			if err != nil {
				b.Error(err)
			}
			longest := 0
			for _, c := range tr.Calls {
				longest = max(longest, len(c.Prompt)+len(c.IDs))
			}
			return tr.Tokens, longest
		})
		run(&ct, func(p synth.Problem, seed uint64) (int, int) {
			prompt, err := cot.RenderChat([]llm.Message{{Role: "user", Content: p.Question()}}, true)
			if err != nil {
				b.Error(err)
			}
			ids, err := cot.Encode(prompt)
			if err != nil {
				b.Error(err)
			}
			res, err := cot.Generate(ctx, llm.Request{Prompt: ids, MaxTokens: cot.ContextLength() - len(ids),
				Sampling: llm.Sampling{Temperature: 1, Seed: seed}}, func(llm.Token) error { return nil })
			if err != nil {
				b.Error(err)
			}
			return len(res.IDs), len(ids) + len(res.IDs)
		})
	}
	n := float64(b.N * len(ps) * g)
	b.ReportMetric(it.sec/n, "iter-s/rollout")
	b.ReportMetric(ct.sec/n, "cot-s/rollout")
	b.ReportMetric(float64(it.tokens)/n, "iter-tok/rollout")
	b.ReportMetric(float64(ct.tokens)/n, "cot-tok/rollout")
	b.ReportMetric(float64(it.context), "iter-max-context")
	b.ReportMetric(float64(ct.context), "cot-max-context")
	b.ReportMetric(0, "ns/op")
}

// BenchmarkUpdate times one update of the embedded model's cold start on a full micro-batch as
// a long step makes them: MicroRows sequences of 255 tokens (a 100-token prompt, 155 generated),
// so the products run at the 256 positions of the model's window. Reported: seconds per update
// and trained (generated) tokens per second.
func BenchmarkUpdate(b *testing.B) {
	r, err := NewRunner(Options{Model: tinyModel, Out: b.TempDir(), Lengths: []LengthRange{{1, 60}},
		Groups: 1, G: 2, Temperature: 1, Reward: RewardTaskEff, Objective: Objective{Low: 0.2, High: 0.28},
		Train: train.Options{Steps: 1, LR: 1e-5, MinLR: 1e-5}})
	if err != nil {
		b.Fatal(err)
	}
	trajs := make([]Trajectory, MicroRows)
	adv := make([]float64, len(trajs))
	for i := range trajs {
		c := Call{Prompt: make([]int, 100), IDs: make([]int, 155), LogProb: make([]float64, 155)}
		for j := range c.Prompt {
			c.Prompt[j] = (i*31 + j*7) % 256
		}
		for j := range c.IDs {
			c.IDs[j], c.LogProb[j] = (i*17+j*13)%256, -1
		}
		trajs[i].Calls, adv[i] = []Call{c}, float64(i%2*2-1)
	}
	batches := mustBatches(b, trajs, adv, 1, r.model.Config.MaxPositions)
	if _, err := r.Trainer().StepMicro(batches); err != nil { // compiles the graphs
		b.Fatal(err)
	}
	start := time.Now()
	for range b.N {
		if _, err := r.Trainer().StepMicro(batches); err != nil {
			b.Fatal(err)
		}
	}
	sec := time.Since(start).Seconds() / float64(b.N)
	b.ReportMetric(sec, "s/update")
	b.ReportMetric(float64(batches[0].Tokens)/sec, "trained-tok/s")
	b.ReportMetric(0, "ns/op")
}
