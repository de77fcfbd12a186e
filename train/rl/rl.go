// Package rl is InftyThink+'s trajectory-level reinforcement learning: GRPO over whole
// iterative trajectories. Each step draws B questions and rolls each out G times through the
// session engine in native mode, sampling from the weights being trained (train's Snapshot,
// the G·B rollouts in flight at once so the runtime batches their forward passes). A recording
// model between the engine and the runtime keeps every Generate call, so the text the engine
// inserts (the pre-filled <history>, a forced boundary) is prompt and every token the model
// sampled — reasoning, summary, conclusion, in every iteration — is trained, with its
// trajectory's group-normalised advantage, in a token-level mean of the clipped objective.
// Checkpoints, resume and the optimizer are train's.
package rl

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/gomlx/compute"
	"github.com/gomlx/gomlx/core/tensors"
	"github.com/infty-dev/infty/internal/atomicfile"
	"github.com/infty-dev/infty/internal/problems"
	"github.com/infty-dev/infty/llm"
	"github.com/infty-dev/infty/runtime"
	"github.com/infty-dev/infty/runtime/backend"
	"github.com/infty-dev/infty/runtime/hub"
	"github.com/infty-dev/infty/session"
	"github.com/infty-dev/infty/session/synth"
	"github.com/infty-dev/infty/train"
)

// Problem is a question with its reference answer.
type Problem = problems.Problem

// Rewards.
const (
	RewardTask    = "task"     // R_task
	RewardTaskEff = "task+eff" // R_task · R_eff
)

// Options are a run of Run.
type Options struct {
	Model string // model folder to start from
	Out   string // checkpoint folder; resumed when it holds checkpoints
	// Data is a JSON Lines file of {"question", "answer"}; without it, synthetic problems are
	// drawn from the seed, question i of lengths Lengths[i mod len(Lengths)].
	Data    string
	Lengths []LengthRange
	Backend string

	Groups      int       // B: questions per step
	G           int       // rollouts per question
	Temperature float64   // of sampling, and of the log-probabilities trained
	Reward      string    // RewardTask or RewardTaskEff
	Objective   Objective // ε_low, ε_high, KL coefficient (Temperature is set from above)
	Eta, Phi    int       // η and φ (0: half the window, and 16 as bench uses)
	Parallel    int       // rollouts in flight at once (0: all of a step's)
	// UpdateMemory bounds the memory of one micro-batch's update (train.UpdateBytes): longer
	// sequences train in micro-batches of fewer rows. 0: DefaultUpdateMemory.
	UpdateMemory int64
	Train        train.Options

	Log io.Writer
	// Progress, when set, makes the display of a run that starts after done of steps.
	Progress func(done, steps int) Progress
}

// Progress displays a run's steps.
type Progress interface {
	Step(train.StepStats, string)
	Done()
}

// DefaultUpdateMemory is Options.UpdateMemory's default: 4 GiB, or a quarter of the memory
// available where that is less (the process's peak can reach about twice the budget: the Go
// collector lets the heap grow to twice what it found live). A fixed figure rather than a
// share of the machine's, so that where it binds (long sequences, a large model) a run's
// micro-batches, and with them its bits, are the same on every machine that has it. The
// embedded model's rows of up to 256 positions (~18 MiB each) never meet it where 2.3 GB are
// available.
func DefaultUpdateMemory() int64 {
	budget := int64(4 << 30)
	if avail, _, err := hub.AvailableMemory(); err == nil {
		budget = min(budget, avail/4)
	}
	return budget
}

// DefaultPhi is φ when none is given: bench's, so a trained model is measured as it was trained.
const DefaultPhi = 16

// Check reports options a run cannot start from, before anything is read.
func (o *Options) Check() error {
	switch {
	case o.Model == "" || o.Out == "":
		return errors.New("--model and --out are required")
	case o.Groups <= 0 || o.G < 2:
		return fmt.Errorf("need at least 1 question per step and 2 rollouts per question (got --batch %d, --group %d)", o.Groups, o.G)
	case o.Temperature <= 0:
		return fmt.Errorf("--temperature must be positive (rollouts sample), got %g", o.Temperature)
	case o.Reward != RewardTask && o.Reward != RewardTaskEff:
		return fmt.Errorf("invalid --reward %q: want task or task+eff", o.Reward)
	case o.Objective.Low <= 0 || o.Objective.Low >= 1 || o.Objective.High <= 0:
		return fmt.Errorf("clip range needs 0 < ε_low < 1 and ε_high > 0, got %g and %g", o.Objective.Low, o.Objective.High)
	case o.Objective.KL < 0:
		return fmt.Errorf("--kl must not be negative, got %g", o.Objective.KL)
	case o.Data == "" && len(o.Lengths) == 0:
		return errors.New("synthetic problems need at least one range of lengths")
	case o.Parallel < 0:
		return fmt.Errorf("--parallel must not be negative, got %d", o.Parallel)
	case o.UpdateMemory < 0:
		return fmt.Errorf("--update-memory must not be negative, got %d bytes", o.UpdateMemory)
	}
	for _, l := range o.Lengths {
		if o.Data == "" && (l.Min < 1 || l.Max > synth.MaxLength || l.Min > l.Max) {
			return fmt.Errorf("synthetic lengths %s: want MIN-MAX within 1-%d", l, synth.MaxLength)
		}
	}
	return nil
}

// LengthRange is a range of synthetic problem lengths in steps, Min to Max.
type LengthRange struct{ Min, Max int }

func (l LengthRange) String() string { return fmt.Sprintf("%d-%d", l.Min, l.Max) }

// questions gives step k's B questions: from the data in a seeded order, or synthetic.
type questions func(k int) ([]Problem, error)

// syntheticQuestions draws question i from its range of lengths, lengths[i mod len], as problem
// i of synth.Set for that range (synth.At): with one range, the set itself. Mixing ranges lets
// a stage aim at the lengths a model still gets wrong while the others keep it honest where it
// is right.
func syntheticQuestions(seed uint64, b int, lengths []LengthRange) questions {
	return func(k int) ([]Problem, error) {
		out := make([]Problem, 0, b)
		for i := k * b; i < (k+1)*b; i++ {
			l := lengths[i%len(lengths)]
			p, err := synth.At(seed, i, l.Min, l.Max)
			if err != nil {
				return nil, err
			}
			out = append(out, Problem{Question: p.Question(), Answer: p.Answer()})
		}
		return out, nil
	}
}

func dataQuestions(ps []Problem, seed uint64, b int) questions {
	return func(k int) ([]Problem, error) {
		// Epoch e visits the problems in a permutation drawn from (seed, e).
		out := make([]Problem, 0, b)
		for i := k * b; i < (k+1)*b; i++ {
			e := i / len(ps)
			perm := rand.New(rand.NewPCG(seed, uint64(e))).Perm(len(ps))
			out = append(out, ps[perm[i%len(ps)]])
		}
		return out, nil
	}
}

// rolloutSeed is the sampling seed of rollout j of question q at step k.
func rolloutSeed(seed uint64, k, q, j int) uint64 {
	return session.IterationSeed(session.IterationSeed(seed, k+1)^uint64(q)<<20^uint64(j), 0x5151)
}

// Metrics is one line of OUT/metrics.jsonl.
type Metrics struct {
	Step       int     `json:"step"`
	RewardMean float64 `json:"reward_mean"`
	RewardStd  float64 `json:"reward_std"`
	Acc        float64 `json:"acc"` // fraction of rollouts whose answer verifies
	Iters      float64 `json:"iters"`
	Tokens     float64 `json:"tokens"` // generated per rollout
	Failed     int     `json:"failed"` // rollouts that broke the format or that the engine could not finish
	// Over the trained tokens, absent when a step trained none (all its groups skipped).
	Entropy       *float64 `json:"entropy,omitempty"`
	ClipFrac      *float64 `json:"clip_frac,omitempty"`
	KL            *float64 `json:"kl,omitempty"`
	LogProbGap    *float64 `json:"logp_gap,omitempty"` // mean |trainer − runtime| log-probability over recorded tokens
	SkippedGroups int      `json:"skipped_groups"`
	Groups        int      `json:"groups"`
	TrainedTokens int      `json:"trained_tokens"`
	Loss          float64  `json:"loss"`
	GradNorm      float64  `json:"grad_norm"`
	LR            float64  `json:"lr"`
	RolloutSec    float64  `json:"rollout_s"`
	UpdateSec     float64  `json:"update_s"`
}

// MetricsFile is where Run writes its per-step metrics, under Out.
const MetricsFile = "metrics.jsonl"

// Runner is a run in progress: the trainer, the model's chat side and the problems.
type Runner struct {
	o     Options
	tr    *train.Trainer
	model *train.Model
	chat  *runtime.Chat
	be    compute.Backend
	qs    questions
	ref   *train.Probe
	refW  []*tensors.Tensor
	cfg   session.Config
	limit *memoryLimit
}

// NewRunner loads the model and the problems and builds the trainer; it resumes nothing.
func NewRunner(o Options) (*Runner, error) {
	if err := o.Check(); err != nil {
		return nil, err
	}
	m, err := train.LoadModel(o.Model)
	if err != nil {
		return nil, err
	}
	chat, err := runtime.LoadChat(m.TokenizerDir)
	if err != nil {
		return nil, err
	}
	be, err := backend.Open(o.Backend)
	if err != nil {
		return nil, err
	}
	o.Objective.Temperature = o.Temperature
	o.Train.BatchSize = o.Groups
	if o.Phi == 0 {
		o.Phi = DefaultPhi
	}
	if o.UpdateMemory == 0 {
		o.UpdateMemory = DefaultUpdateMemory()
	}
	r := &Runner{o: o, model: m, chat: chat, be: be, limit: &memoryLimit{cfg: m.Config, budget: o.UpdateMemory}}
	r.cfg = session.Config{Mode: session.ModeNative, Eta: o.Eta, Phi: o.Phi, Sampling: llm.Sampling{Temperature: o.Temperature}}
	r.cfg.FitWindow(m.Config.MaxPositions)
	// Everything that shapes the rollouts or the loss goes into the fingerprint, so that a
	// resume under other settings is refused.
	h := sha256.New()
	fmt.Fprintf(h, "rl v1 G=%d T=%g reward=%s clip=%g/%g kl=%g eta=%d phi=%d\n", o.G, o.Temperature, o.Reward,
		o.Objective.Low, o.Objective.High, o.Objective.KL, r.cfg.Eta, r.cfg.Phi)
	if o.Data != "" {
		ps, err := problems.Read(o.Data, 0)
		if err != nil {
			return nil, err
		}
		for _, p := range ps {
			fmt.Fprintf(h, "%q %q\n", p.Question, p.Answer)
		}
		r.qs = dataQuestions(ps, o.Train.Seed, o.Groups)
	} else {
		ranges := make([]string, len(o.Lengths))
		for i, l := range o.Lengths {
			ranges[i] = l.String()
		}
		fmt.Fprintf(h, "synthetic %s\n", strings.Join(ranges, ","))
		r.qs = syntheticQuestions(o.Train.Seed, o.Groups, o.Lengths)
	}
	hash := hex.EncodeToString(h.Sum(nil))[:16]
	// Batches come from rollouts, not from a function of the step: Step hands them to StepMicro.
	noBatches := func(int) train.Batch { panic("rl: the trainer's batches come from rollouts (StepMicro)") }
	r.tr, err = train.NewWithAux(be, m, o.Train, o.Objective.LossAux, noBatches, hash)
	if err != nil {
		return nil, err
	}
	if o.Objective.KL > 0 {
		if r.ref, err = train.NewProbe(be, m, LogProbProbe(o.Temperature)); err != nil {
			return nil, err
		}
		r.refW = m.Params.Tensors()
	}
	return r, nil
}

// Trainer is the run's trainer.
func (r *Runner) Trainer() *train.Trainer { return r.tr }

// StepResult is one step: its metrics and the update's stats.
type StepResult struct {
	Metrics Metrics
	Stats   train.StepStats
	Trajs   []Trajectory
}

// Rollouts samples step k's B·G trajectories from the current weights.
func (r *Runner) Rollouts(ctx context.Context, k int) ([]Trajectory, error) {
	ps, err := r.qs(k)
	if err != nil {
		return nil, err
	}
	snap, err := r.tr.Snapshot()
	if err != nil {
		return nil, err
	}
	defer snap.Close()
	eng, err := runtime.NewEngine(r.o.Model, snap, r.chat)
	if err != nil {
		return nil, err
	}
	eos := -1
	if len(snap.EOS) == 1 {
		eos = snap.EOS[0]
	}
	g := r.o.G
	trajs := make([]Trajectory, len(ps)*g)
	errs := make([]error, len(trajs))
	par := r.o.Parallel
	if par <= 0 || par > len(trajs) {
		par = len(trajs)
	}
	// The runtime steps the rollouts in lockstep, so that a step's batches, and with them the
	// last bits of every logit and any near-tied sample, follow the seed alone and not timing.
	// With fewer in flight than the step has, worker w rolls out w, w+par, … in turn: had the
	// next rollout gone to whichever worker came free first, timing would pick the company.
	group, err := snap.Lockstep(par)
	if err != nil {
		return nil, err
	}
	var wg sync.WaitGroup
	for w := range par {
		wg.Go(func() {
			defer group.Leave(w)
			ctx := group.Member(ctx, w)
			for i := w; i < len(trajs); i += par {
				q, j := i/g, i%g
				trajs[i], errs[i] = rollout(ctx, eng, eos, r.cfg, ps[q], rolloutSeed(r.o.Train.Seed, k, q, j), r.o.Reward == RewardTaskEff)
			}
		})
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return trajs, nil
}

// Step rolls out step k (the trainer's next) and updates the weights on it.
func (r *Runner) Step(ctx context.Context) (StepResult, error) {
	k := r.tr.Done()
	t0 := time.Now()
	trajs, err := r.Rollouts(ctx, k)
	if err != nil {
		return StepResult{}, err
	}
	rollS := time.Since(t0).Seconds()
	t1 := time.Now()
	rewards := make([]float64, len(trajs))
	m := Metrics{Step: k + 1, Groups: r.o.Groups}
	for i, t := range trajs {
		rewards[i] = t.Reward
		m.RewardMean += t.Reward
		if t.Correct {
			m.Acc++
		}
		if t.Failed != "" {
			m.Failed++
		}
		m.Iters += float64(t.Iterations)
		m.Tokens += float64(t.Tokens)
	}
	n := float64(len(trajs))
	m.RewardMean, m.Acc, m.Iters, m.Tokens = m.RewardMean/n, m.Acc/n, m.Iters/n, m.Tokens/n
	for _, x := range rewards {
		m.RewardStd += (x - m.RewardMean) * (x - m.RewardMean)
	}
	m.RewardStd = math.Sqrt(m.RewardStd / n)
	adv, skipped := Advantages(rewards, r.o.G)
	m.SkippedGroups = skipped
	batches, err := buildBatches(trajs, adv, r.o.Temperature, r.model.Config.MaxPositions, r.limit)
	if err != nil {
		return StepResult{}, err
	}
	defer func() {
		for _, b := range batches {
			b.IDs.FinalizeAll()
			for _, x := range b.Inputs {
				x.FinalizeAll()
			}
		}
	}()
	if r.ref != nil {
		for i, b := range batches {
			out, err := r.ref.Run(r.refW, b)
			if err != nil {
				return StepResult{}, err
			}
			batches[i].Inputs = append(b.Inputs, out[0])
		}
	}
	// A step whose groups are all skipped still steps the optimizer, on an empty batch (no
	// gradient), so that step k always means the same questions and a resume lines up.
	st, err := r.tr.StepMicro(batches)
	if err != nil {
		return StepResult{}, err
	}
	m.TrainedTokens = st.Tokens
	m.Loss, m.GradNorm, m.LR = st.Loss, st.GradNorm, st.LR
	if st.Tokens > 0 {
		a := st.Aux
		m.Entropy, m.ClipFrac, m.KL, m.LogProbGap = &a[auxEntropy], &a[auxClipFrac], &a[auxKL], &a[auxGap]
	}
	m.RolloutSec, m.UpdateSec = rollS, time.Since(t1).Seconds()
	return StepResult{Metrics: m, Stats: st, Trajs: trajs}, nil
}

// Run trains as o says, resuming from the latest checkpoint in o.Out. When ctx is canceled it
// saves a checkpoint of the last finished step and returns ctx.Err().
func Run(ctx context.Context, o Options) error {
	r, err := NewRunner(o)
	if err != nil {
		return err
	}
	o = r.o
	tr := r.tr
	fmt.Fprintf(o.Log, "model: %s, %d parameters; %d questions × %d rollouts per step, T=%g, reward %s, η=%d φ=%d, update memory %s\n",
		r.model.Config.Architecture, r.model.Params.Count(), o.Groups, o.G, o.Temperature, o.Reward, r.cfg.Eta, r.cfg.Phi, train.Size(o.UpdateMemory))
	last, err := train.LatestCheckpoint(o.Out)
	if err != nil {
		return err
	}
	if last != "" {
		if err := tr.Resume(last); err != nil {
			return err
		}
		fmt.Fprintf(o.Log, "resumed from %s (step %d)\n", last, tr.Done())
	}
	metrics, err := openMetrics(filepath.Join(o.Out, MetricsFile), tr.Done())
	if err != nil {
		return err
	}
	defer metrics.Close()
	var p Progress
	if o.Progress != nil {
		p = o.Progress(tr.Done(), o.Train.Steps)
		defer p.Done()
	}
	end := o.Train.Steps
	if o.Train.StopAt > 0 && o.Train.StopAt < end {
		end = o.Train.StopAt
	}
	saved := ""
	for tr.Done() < end {
		res, err := r.Step(ctx)
		if err != nil {
			if ctx.Err() != nil {
				dir, serr := tr.Save(o.Out)
				if serr != nil {
					return serr
				}
				fmt.Fprintf(o.Log, "checkpoint: %s\n", dir)
				return ctx.Err()
			}
			return err
		}
		line, _ := json.Marshal(res.Metrics)
		if _, err := metrics.Write(append(line, '\n')); err != nil {
			return err
		}
		if p != nil {
			mm := res.Metrics
			p.Step(res.Stats, fmt.Sprintf("reward %.3f  acc %.2f  iters %.2f  skipped %d/%d  rollout %.0fs update %.0fs",
				mm.RewardMean, mm.Acc, mm.Iters, mm.SkippedGroups, mm.Groups, mm.RolloutSec, mm.UpdateSec))
		}
		if (o.Train.SaveEvery > 0 && tr.Done()%o.Train.SaveEvery == 0) || tr.Done() == end {
			if saved, err = tr.Save(o.Out); err != nil {
				return err
			}
		}
	}
	if saved != "" {
		fmt.Fprintf(o.Log, "checkpoint: %s\n", saved)
	}
	return nil
}

// openMetrics opens the metrics file for appending after keeping only the lines of steps up to
// done (a crash between a step's line and its checkpoint leaves lines the resumed run redoes).
func openMetrics(path string, done int) (*os.File, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return nil, err
	}
	var kept []byte
	if b, err := os.ReadFile(path); err == nil {
		for _, line := range strings.SplitAfter(string(b), "\n") {
			var m struct {
				Step int `json:"step"`
			}
			if json.Unmarshal([]byte(line), &m) == nil && m.Step <= done && strings.HasSuffix(line, "\n") {
				kept = append(kept, line...)
			}
		}
	} else if !os.IsNotExist(err) {
		return nil, err
	}
	// Replaced whole, so a kill here leaves the old lines or the kept ones, not an empty file.
	if err := atomicfile.Write(path, func(w io.Writer) error { _, err := w.Write(kept); return err }); err != nil {
		return nil, err
	}
	return os.OpenFile(path, os.O_APPEND|os.O_WRONLY, 0o644)
}
