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
// trajectories of the embedded model's cold start (RL's starting point; bounded iterations)
// against plain chains of thought (one growing context), G = 8 samples at T = 1 of 8 problems,
// all 64 in flight at once as in a step. The two alternate within each iteration, so load
// affects both alike. Reported per rollout: seconds, generated tokens, and the longest context
// a rollout attends over (prompt + generated of one call). See costRanges for the problems.
func BenchmarkRolloutCost(b *testing.B) {
	for _, r := range costRanges {
		b.Run(r.name, func(b *testing.B) {
			c := newCostRun(b, r.min, r.max)
			var it, ct rolloutStats
			for range b.N {
				it.add(c.iterative(b))
				ct.add(c.plain(b))
			}
			n := float64(b.N * len(c.ps) * costG)
			b.ReportMetric(it.sec/n, "iter-s/rollout")
			b.ReportMetric(ct.sec/n, "cot-s/rollout")
			b.ReportMetric(float64(it.tokens)/n, "iter-tok/rollout")
			b.ReportMetric(float64(ct.tokens)/n, "cot-tok/rollout")
			b.ReportMetric(float64(it.context), "iter-max-context")
			b.ReportMetric(float64(ct.context), "cot-max-context")
			b.ReportMetric(0, "ns/op")
		})
	}
}

// BenchmarkUpdateCost times the update GRPO makes on the 64 rollouts of BenchmarkRolloutCost
// (drawn once, untimed), iterative against plain, as a step whose groups all carry signal
// makes it (every rollout with advantage ±1), under the default update memory. The first
// update of each compiles its graphs and is not timed. Reported: seconds an update, and the
// memory the largest micro-batch's update needs by train.UpdateBytes.
func BenchmarkUpdateCost(b *testing.B) {
	for _, r := range costRanges {
		b.Run(r.name, func(b *testing.B) {
			c := newCostRun(b, r.min, r.max)
			var it, ct rolloutStats
			it.add(c.iterative(b))
			ct.add(c.plain(b))
			iter, iterMiB := updater(b, tinyModel, it.last)
			plain, plainMiB := updater(b, costVanilla, ct.last)
			var iterSec, plainSec float64
			for range b.N {
				iterSec += iter()
				plainSec += plain()
			}
			b.ReportMetric(iterSec/float64(b.N), "iter-update-s")
			b.ReportMetric(plainSec/float64(b.N), "cot-update-s")
			b.ReportMetric(iterMiB, "iter-update-MiB")
			b.ReportMetric(plainMiB, "cot-update-MiB")
			b.ReportMetric(0, "ns/op")
		})
	}
}

// costRanges are the problems of the cost benchmarks. 1-7: the most steps a plain chain fits
// in the 256-token window, so the chains are the embedded vanilla baseline's own. 28-39
// (bench's default lengths) and 50-60: problems whose plain chains need 700-1000 and
// 1250-1500 tokens. No model of this shape writes those, so the vanilla model decodes exactly
// as many tokens as the worked solution's chain takes (its text plus the end of turn), past
// its window with its end of turn switched off: what a plain chain of that length costs a
// model of this shape, whatever it writes.
var costRanges = []struct {
	name     string
	min, max int
}{{"1-7", 1, 7}, {"28-39", 28, 39}, {"50-60", 50, 60}}

const (
	costG       = 8 // samples a problem
	costVanilla = "../../runtime/tinymodel/vanilla"
)

// costRun holds the problems and both models of a cost benchmark.
type costRun struct {
	ps        []synth.Problem
	iter, cot *runtime.Engine
	cfg       session.Config
	prompts   [][]int // each problem's plain-chain prompt
	lengths   []int   // and the most tokens its chain decodes
}

func newCostRun(b *testing.B, minLen, maxLen int) *costRun {
	ps, err := synth.Set(57, 8, minLen, maxLen)
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
	c := &costRun{ps: ps, iter: open(tinyModel), cot: open(costVanilla), prompts: make([][]int, len(ps)), lengths: make([]int, len(ps))}
	c.cfg = session.Config{Phi: DefaultPhi, Sampling: llm.Sampling{Temperature: 1}}
	c.cfg.FitWindow(c.iter.ContextLength())
	forced := false
	for i, p := range ps {
		prompt, err := c.cot.RenderChat([]llm.Message{{Role: "user", Content: p.Question()}}, true)
		if err != nil {
			b.Fatal(err)
		}
		if c.prompts[i], err = c.cot.Encode(prompt); err != nil {
			b.Fatal(err)
		}
		chain, err := c.cot.Encode(p.Vanilla().Render())
		if err != nil {
			b.Fatal(err)
		}
		c.lengths[i] = c.cot.ContextLength() - len(c.prompts[i])
		if need := len(chain) + 1; need > c.lengths[i] { // and the end of turn
			c.lengths[i], forced = need, true
		}
	}
	if forced {
		c.cot.Runtime().EOS = nil
	}
	return c
}

// rolloutStats add up rollouts: seconds, generated tokens, the longest call.
type rolloutStats struct {
	sec             float64
	tokens, context int
	last            []Trajectory
}

func (s *rolloutStats) add(trajs []Trajectory, sec float64) {
	s.sec += sec
	s.last = trajs
	for _, t := range trajs {
		s.tokens += t.Tokens
		for _, call := range t.Calls {
			s.context = max(s.context, len(call.Prompt)+len(call.IDs))
		}
	}
}

// all runs one rollout of every problem costG times, all at once.
func (c *costRun) all(one func(i int, p synth.Problem, seed uint64) Trajectory) ([]Trajectory, float64) {
	start := time.Now()
	trajs := make([]Trajectory, len(c.ps)*costG)
	var wg sync.WaitGroup
	for i, p := range c.ps {
		for j := range costG {
			wg.Go(func() { trajs[i*costG+j] = one(i, p, uint64(i*costG+j)) })
		}
	}
	wg.Wait()
	return trajs, time.Since(start).Seconds()
}

func (c *costRun) iterative(b *testing.B) ([]Trajectory, float64) {
	return c.all(func(_ int, p synth.Problem, seed uint64) Trajectory {
		tr, err := rollout(context.Background(), c.iter, -1, c.cfg, Problem{Question: p.Question(), Answer: p.Answer()}, seed, false)
		if err != nil {
			b.Error(err)
		}
		return tr
	})
}

func (c *costRun) plain(b *testing.B) ([]Trajectory, float64) {
	return c.all(func(i int, _ synth.Problem, seed uint64) Trajectory {
		rec := &recorder{Model: c.cot, eos: -1}
		res, err := rec.Generate(context.Background(), llm.Request{Prompt: c.prompts[i], MaxTokens: c.lengths[i],
			Sampling: llm.Sampling{Temperature: 1, Seed: seed}}, func(llm.Token) error { return nil })
		if err != nil {
			b.Error(err)
		}
		return Trajectory{Calls: rec.calls, Tokens: len(res.IDs)}
	})
}

// updater lays trajs out as a step of model would, every one with advantage ±1, runs the update
// once (compiling its graphs), and returns a function that times it again, and the memory the
// largest micro-batch's update needs (MiB, train.UpdateBytes).
func updater(b *testing.B, model string, trajs []Trajectory) (func() float64, float64) {
	r := updateRunner(b, model, 1e-5)
	adv := make([]float64, len(trajs))
	for i := range adv {
		adv[i] = float64(i%2*2 - 1)
	}
	batches, err := buildBatches(trajs, adv, 1, r.model.Config.MaxPositions, r.limit)
	if err != nil {
		b.Fatal(err)
	}
	var need int64
	for _, mb := range batches {
		d := mb.IDs.Shape().Dimensions
		need = max(need, train.UpdateBytes(r.model.Config, d[0], d[1]))
	}
	step := func() float64 {
		start := time.Now()
		if _, err := r.Trainer().StepMicro(batches); err != nil {
			b.Fatal(err)
		}
		return time.Since(start).Seconds()
	}
	step()
	return step, float64(need) / (1 << 20)
}

// BenchmarkUpdate times one update of the embedded model's cold start on a full micro-batch as
// a long step makes them: MicroRows sequences of 255 tokens (a 100-token prompt, 155 generated),
// so the products run at the 256 positions of the model's window. Reported: seconds per update
// and trained (generated) tokens per second.
func BenchmarkUpdate(b *testing.B) {
	r := updateRunner(b, tinyModel, 1e-5)
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
