package rl

import (
	"context"
	"math"
	"slices"
	"sync"

	"github.com/infty-dev/infty/llm"
	"github.com/infty-dev/infty/session"
)

// Call is one Generate call of a rollout: the prompt as the engine encoded it (the user turn,
// the pre-filled <history>, and after a forced insertion the turn so far with the engine's text)
// and the tokens the model sampled after it, which are what the loss trains.
type Call struct {
	Prompt []int
	IDs    []int
	// LogProb is the runtime's log-probability of each sampled token, NaN where none was
	// recorded (the end-of-turn token, which the runtime does not emit).
	LogProb []float64
}

// Trajectory is one rollout of a question through the session engine.
type Trajectory struct {
	Calls      []Call
	Correct    bool   // the final boxed answer verifies
	Failed     string // how the run broke the format, or why the engine could not finish it; "" when neither
	Iterations int
	Tokens     int // generated tokens, all iterations
	Reward     float64
}

// recorder is an llm.Model that passes everything to the model it wraps and keeps every
// Generate call: each rollout runs through its own recorder, so the calls of concurrent
// rollouts stay apart while their forward passes share the runtime's batches.
type recorder struct {
	llm.Model
	eos int // the one end-of-turn id, appended to a call that ended on it; -1 when not unique

	mu    sync.Mutex
	calls []Call
}

// ContextLength passes the window on: the session engine keeps iterations inside it.
func (r *recorder) ContextLength() int { return llm.ContextLength(r.Model) }

// Generate records the call. A token the caller refuses (the engine stopping at a boundary it
// must insert text at) was sampled all the same and is recorded.
func (r *recorder) Generate(ctx context.Context, req llm.Request, yield func(llm.Token) error) (llm.Result, error) {
	c := Call{Prompt: slices.Clone(req.Prompt)}
	res, err := r.Model.Generate(ctx, req, func(t llm.Token) error {
		if tokenDelay != nil {
			tokenDelay()
		}
		c.IDs = append(c.IDs, t.ID)
		c.LogProb = append(c.LogProb, t.LogProb)
		return yield(t)
	})
	if err == nil && res.Reason == llm.StopEOS && r.eos >= 0 {
		c.IDs = append(c.IDs, r.eos)
		c.LogProb = append(c.LogProb, math.NaN())
	}
	if len(c.IDs) > 0 {
		r.mu.Lock()
		r.calls = append(r.calls, c)
		r.mu.Unlock()
	}
	return res, err
}

// tokenDelay, when set (by tests), runs before each sampled token is recorded: it stands in
// for a busy machine, under which the rollouts come back for their next step at other times.
var tokenDelay func()

// Reward is R_task · R_eff of InftyThink+: R_task is 1 for a verified answer, R_eff =
// 1 − ((n−1)/φ)² for n iterations when eff is set, else 1.
func Reward(correct bool, iterations, phi int, eff bool) float64 {
	if !correct {
		return 0
	}
	if !eff || phi <= 0 {
		return 1
	}
	x := float64(iterations-1) / float64(phi)
	return 1 - x*x
}

// rollout runs question p once through the session engine in native mode over m, recording
// every generated token. A run the engine cannot finish (the model broke the format) is a
// trajectory with R_task = 0, not an error; only a canceled ctx is.
func rollout(ctx context.Context, m llm.Model, eos int, cfg session.Config, p Problem, seed uint64, eff bool) (Trajectory, error) {
	rec := &recorder{Model: m, eos: eos}
	c := cfg
	c.Mode = session.ModeNative
	c.Reference = p.Answer
	c.Sampling.Seed = seed
	e, err := session.New(rec, c)
	if err != nil {
		return Trajectory{}, err
	}
	defer e.Close()
	snap, err := e.Solve(ctx, p.Question, nil)
	if ctx.Err() != nil {
		return Trajectory{}, ctx.Err()
	}
	t := Trajectory{Calls: rec.calls, Iterations: len(snap.Iterations), Tokens: snap.Tokens}
	if err != nil {
		t.Failed = err.Error()
	} else {
		t.Correct = snap.Correct != nil && *snap.Correct
		t.Failed = session.FormatBreak(snap.Iterations)
	}
	// Every token of a run carries its advantage, so a reward for the answer of a run that broke
	// the format would reinforce the break too: a reward blind to the conclusion's end taught the
	// model to write on past its \boxed{} answer until the bound cut it.
	t.Reward = Reward(t.Correct && t.Failed == "", t.Iterations, e.Config().Phi, eff)
	return t, nil
}
