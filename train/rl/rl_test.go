package rl

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math"
	"math/bits"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	. "github.com/gomlx/gomlx/core/graph" //nolint:revive
	"github.com/gomlx/gomlx/core/tensors"
	"github.com/infty-dev/infty/llm"
	"github.com/infty-dev/infty/runtime/backend"
	"github.com/infty-dev/infty/session"
	"github.com/infty-dev/infty/session/format"
	"github.com/infty-dev/infty/session/sessiontest"
	"github.com/infty-dev/infty/session/synth"
	"github.com/infty-dev/infty/train"
)

// tinyModel is the cold start of the embedded model (its supervised stage, before RL): fixed,
// so that these tests do not move when the shipped model is retrained.
const tinyModel = "../../runtime/tinymodel/coldstart"

func near(a, b, tol float64) bool { return math.Abs(a-b) <= tol }

// Hand-computed: group (1, 0, 0, 1) has mean ½ and population std ½, so advantages ±1/(½+ε);
// the all-ones group is skipped with zero advantages.
func TestAdvantages(t *testing.T) {
	adv, skipped := Advantages([]float64{1, 0, 0, 1, 1, 1, 1, 1, 0.5, 0, 0, 0}, 4)
	if skipped != 1 {
		t.Errorf("skipped %d groups, want 1", skipped)
	}
	a := 0.5 / (0.5 + AdvantageEps)
	// third group: mean 1/8, variance (3/8)²/4 + 3(1/8)²/4 = 3/64, std √3/8
	s := math.Sqrt(3) / 8
	want := []float64{a, -a, -a, a, 0, 0, 0, 0, 0.375 / (s + AdvantageEps), -0.125 / (s + AdvantageEps), -0.125 / (s + AdvantageEps), -0.125 / (s + AdvantageEps)}
	for i := range want {
		if !near(adv[i], want[i], 1e-9) {
			t.Errorf("advantage %d = %v, want %v", i, adv[i], want[i])
		}
	}
	if r := Reward(true, 5, 16, true); !near(r, 1-math.Pow(4.0/16, 2), 1e-12) {
		t.Errorf("R_task·R_eff for 5 iterations of φ=16: %v", r)
	}
	if Reward(false, 1, 16, true) != 0 || Reward(true, 9, 16, false) != 1 {
		t.Error("R_task alone is 0 or 1")
	}
}

// The objective on one row of four positions whose distributions are (¼, ½, ¼), against values
// worked out by hand: ρ = 2 with A = 1 is clipped to 1.28; ρ = ½ with A = −1 to 0.8 (so −0.8);
// a position of weight 0 (not generated) counts for nothing however large its advantage; an unrecorded old
// log-probability makes ρ = 1, so the term is A = 0.5. Loss = −(1.28 − 0.8 + 0.5)/3. Clipped
// terms carry no gradient; the unclipped one −A/3·(onehot − p).
func TestObjectiveByHand(t *testing.T) {
	be, err := backend.Open("")
	if err != nil {
		t.Fatal(err)
	}
	ln := math.Log
	row := []float32{0, float32(ln(2)), 0}
	logits := tensors.FromFlatDataAndDimensions(slices.Concat(row, row, row, row), 1, 4, 3)
	targets := tensors.FromFlatDataAndDimensions([]int32{1, 0, 2, 1}, 1, 4)
	weight := tensors.FromFlatDataAndDimensions([]float32{1. / 3, 1. / 3, 0, 1. / 3}, 1, 4)
	adv := tensors.FromFlatDataAndDimensions([]float32{1, -1, 100, 0.5}, 1, 4)
	old := tensors.FromFlatDataAndDimensions([]float32{float32(ln(0.25)), float32(ln(0.5)), 0, 0}, 1, 4)
	known := tensors.FromFlatDataAndDimensions([]float32{0.5, 0.5, 0, 0}, 1, 4)
	obj := Objective{Low: 0.2, High: 0.28, Temperature: 1}
	exec, err := NewExec(be, func(in []*Node) []*Node {
		loss := obj.Loss(in[0], in[1:])
		out := []*Node{loss, Gradient(loss, in[0])[0]}
		return append(out, obj.Aux(in[0], in[1:])...)
	})
	if err != nil {
		t.Fatal(err)
	}
	out, err := exec.Call(logits, targets, weight, adv, old, known)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := float64(tensors.ToScalar[float32](out[0])), -(1.28-0.8+0.5)/3; !near(got, want, 1e-6) {
		t.Errorf("loss %v, want %v", got, want)
	}
	grad := tensors.MustCopyFlatData[float32](out[1])
	p := []float64{0.25, 0.5, 0.25}
	for pos := range 4 {
		for v := range 3 {
			want := 0.0
			if pos == 3 {
				hot := 0.0
				if v == 1 {
					hot = 1
				}
				want = -0.5 / 3 * (hot - p[v])
			}
			if got := float64(grad[pos*3+v]); !near(got, want, 1e-6) {
				t.Errorf("d loss / d logit[%d][%d] = %v, want %v", pos, v, got, want)
			}
		}
	}
	entropy := -(0.25*ln(0.25)*2 + 0.5*ln(0.5))
	for i, want := range []float64{entropy, 2.0 / 3, 0, ln(2)} {
		if got := float64(tensors.ToScalar[float32](out[2+i])); !near(got, want, 1e-6) {
			t.Errorf("aux %d = %v, want %v", i, got, want)
		}
	}

	// At temperature 2 the log-probability is that of softmax(logits/2).
	probe, err := NewExec(be, func(in []*Node) *Node { return LogProbProbe(2)(in[0], in[1:])[0] })
	if err != nil {
		t.Fatal(err)
	}
	lp, err := probe.Call(logits, targets)
	if err != nil {
		t.Fatal(err)
	}
	z := 1 + math.Sqrt2 + 1
	for i, want := range []float64{ln(math.Sqrt2 / z), ln(1 / z), ln(1 / z), ln(math.Sqrt2 / z)} {
		if got := float64(tensors.MustCopyFlatData[float32](lp[0])[i]); !near(got, want, 1e-6) {
			t.Errorf("T=2 log-probability %d = %v, want %v", i, got, want)
		}
	}
}

// A run that breaks the format gets R_task = 0 even when its answer verifies, whichever way it
// breaks it; a run that keeps it gets its reward.
func TestBrokenFormatEarnsNothing(t *testing.T) {
	all := func(n int) func(int) int { return func(int) int { return n } }
	babble := func(p sessiontest.Policy) sessiontest.Policy {
		return func(st sessiontest.State) (string, bool) {
			if strings.Contains(st.Assistant(), "}.") {
				return " and so on", false
			}
			return p(st)
		}
	}
	for _, c := range []struct {
		name   string
		policy sessiontest.Policy
		failed string
	}{
		{"kept", sessiontest.Script{Reason: all(3), ConcludeAt: 2, SummaryWords: 2, Answer: "7"}.Policy(), ""},
		{"conclusion cut", babble(sessiontest.Script{Reason: all(3), ConcludeAt: 2, SummaryWords: 2, Answer: "7"}.Policy()),
			"iteration 2: conclusion not ended within its bound"},
		{"no boundary", sessiontest.Script{Reason: func(i int) int { return map[int]int{1: 3, 2: -1}[i] }, ConcludeAt: 3, SummaryWords: 2, Answer: "7"}.Policy(),
			"iteration 2: no boundary within η"},
		{"summary unclosed", sessiontest.Script{Reason: all(3), ConcludeAt: 3, SummaryWords: -1, Answer: "7"}.Policy(),
			"iteration 1: summary not closed within its bound"},
		{"no conclusion by φ", sessiontest.Script{Reason: all(3), SummaryWords: 2, Answer: "7"}.Policy(),
			"iteration 4: φ reached without a conclusion"},
	} {
		m := sessiontest.New("scripted", c.policy)
		cfg := session.Config{Eta: 12, Phi: 4, SummaryMax: 20, ConclusionMax: 20, Sampling: llm.Sampling{Temperature: 1}}
		tr, err := rollout(context.Background(), m, -1, cfg, Problem{Question: "what?", Answer: "7"}, 5, false)
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		want := 1.0
		if c.failed != "" {
			want = 0
		}
		if !tr.Correct || tr.Failed != c.failed || tr.Reward != want {
			t.Errorf("%s: correct %v, failed %q, reward %v; want true, %q, %v", c.name, tr.Correct, tr.Failed, tr.Reward, c.failed, want)
		}
	}
}

// A trajectory of three iterations — the first closes its reasoning itself, the second runs
// into η and the engine forces the boundary, the third concludes — is recorded call by call,
// and the batch's mask covers exactly the tokens the model generated: never the user turn,
// the pre-filled <history> or the forced boundary, always every reasoning, summary and
// conclusion token of every iteration.
func TestMaskCoversExactlyTheGeneratedTokens(t *testing.T) {
	reason := map[int]int{1: 3, 2: -1, 3: 2}
	m := sessiontest.New("scripted", sessiontest.Script{Reason: func(i int) int { return reason[i] }, ConcludeAt: 3, SummaryWords: 2, Answer: "7"}.Policy())
	cfg := session.Config{Eta: 12, Phi: 5, SummaryMax: 20, ConclusionMax: 20, Sampling: llm.Sampling{Temperature: 1}}
	tr, err := rollout(context.Background(), m, -1, cfg, Problem{Question: "what?", Answer: "7"}, 5, false)
	if err != nil {
		t.Fatal(err)
	}
	// The forced boundary breaks the format, so the verified answer earns nothing; the tokens
	// are trained all the same, against the advantage of a reward of 0.
	if !tr.Correct || tr.Iterations != 3 || tr.Reward != 0 || tr.Failed != "iteration 2: no boundary within η" {
		t.Fatalf("trajectory: correct %v, %d iterations, reward %v, failed %q", tr.Correct, tr.Iterations, tr.Reward, tr.Failed)
	}
	if len(tr.Calls) != 4 {
		t.Fatalf("%d Generate calls recorded, want 4 (one per iteration, and one after the forced boundary)", len(tr.Calls))
	}
	decode := func(ids []int) string {
		s, err := m.Decode(ids)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	var generated []string
	total := 0
	for _, c := range tr.Calls {
		g := decode(c.IDs)
		generated = append(generated, g)
		total += len(c.IDs)
		if strings.Contains(g, format.HistoryOpen) || strings.Contains(g, "<|im_start|>") {
			t.Errorf("generated text holds prompt text: %q", g)
		}
	}
	// The second iteration's reasoning was cut at η: its first call ends inside <think>, the
	// engine's boundary opens the next call's prompt, and that call writes only the summary.
	if !strings.HasSuffix(decode(tr.Calls[2].Prompt), format.ForcedBoundary) || strings.Contains(generated[2], format.ThinkClose) {
		t.Errorf("forced boundary not in the prompt of the call after it: prompt %q, generated %q", decode(tr.Calls[2].Prompt), generated[2])
	}
	if !strings.Contains(decode(tr.Calls[1].Prompt), format.HistoryOpen) {
		t.Error("the second iteration's prompt lacks the pre-filled history")
	}
	for i, want := range []string{format.SummaryClose, format.ThinkOpen, format.SummaryClose, `\boxed{7}`} {
		if !strings.Contains(generated[i], want) {
			t.Errorf("call %d generated %q, want it to hold %q", i, generated[i], want)
		}
	}

	bs := mustBatches(t, []Trajectory{tr, tr}, []float64{0.5, 0}, 1, 0)
	if len(bs) != 1 {
		t.Fatalf("%d micro-batches for %d rows", len(bs), len(tr.Calls))
	}
	b := bs[0]
	targets := tensors.MustCopyFlatData[int32](b.Inputs[inTargets])
	weight := tensors.MustCopyFlatData[float32](b.Inputs[inWeight])
	advs := tensors.MustCopyFlatData[float32](b.Inputs[inAdv])
	dims := b.IDs.Shape().Dimensions
	if b.Tokens != total || dims[0] != len(tr.Calls) {
		t.Errorf("batch: %d trained tokens in %d rows; the calls generated %d in %d", b.Tokens, dims[0], total, len(tr.Calls))
	}
	s := dims[1]
	var rows [][]int
	for r := range dims[0] {
		var got []int
		for j := range s {
			if w := weight[r*s+j]; w != 0 {
				got = append(got, int(targets[r*s+j]))
				if !near(float64(w), 1/float64(total), 1e-9) || advs[r*s+j] != 0.5 {
					t.Errorf("row %d position %d: weight %v (want 1/%d), advantage %v", r, j, w, total, advs[r*s+j])
				}
			}
		}
		rows = append(rows, got)
	}
	for i, c := range tr.Calls {
		if !slices.ContainsFunc(rows, func(got []int) bool { return slices.Equal(got, c.IDs) }) {
			t.Errorf("call %d: no row trains exactly its generated tokens %q", i, generated[i])
		}
	}
}

// The log-probabilities the runtime records while sampling equal the trainer's recomputation
// from the same weights (log softmax of its own forward pass at the rollout's temperature)
// within 1e-4 (float32 forward passes by two different graphs: the batched decoder with a KV
// cache, and the training graph over whole sequences). On the embedded model's cold start
// (Qwen2) and on the random Qwen3 fixture (its q/k norms, untied head and own tokenizer),
// whose rollouts break the format everywhere but still record what they sampled.
func TestRolloutLogProbsMatchTrainer(t *testing.T) {
	for _, model := range []string{tinyModel, "../../testdata/models/qwen3-tiny-f32"} {
		t.Run(filepath.Base(model), func(t *testing.T) { rolloutLogProbsMatchTrainer(t, model) })
	}
}

func rolloutLogProbsMatchTrainer(t *testing.T, model string) {
	r, err := NewRunner(Options{Model: model, Out: t.TempDir(), Lengths: []LengthRange{{1, 5}}, Groups: 1, G: 2,
		Temperature: 1, Reward: RewardTask, Objective: Objective{Low: 0.2, High: 0.28},
		Train: train.Options{Steps: 1, LR: 1e-3, Seed: 99}})
	if err != nil {
		t.Fatal(err)
	}
	trajs, err := r.Rollouts(context.Background(), 0)
	if err != nil {
		t.Fatal(err)
	}
	probe, err := train.NewProbe(r.be, r.model, LogProbProbe(1))
	if err != nil {
		t.Fatal(err)
	}
	n, worst := 0, 0.0
	for _, b := range mustBatches(t, trajs, []float64{1, 1}, 1, 256) {
		out, err := probe.Run(r.tr.Weights(), b)
		if err != nil {
			t.Fatal(err)
		}
		got := tensors.MustCopyFlatData[float32](out[0])
		old := tensors.MustCopyFlatData[float32](b.Inputs[inOld])
		known := tensors.MustCopyFlatData[float32](b.Inputs[inKnown])
		for i := range got {
			if known[i] > 0 {
				n++
				worst = max(worst, math.Abs(float64(got[i]-old[i])))
			}
		}
	}
	if n < 100 {
		t.Fatalf("only %d recorded tokens compared", n)
	}
	t.Logf("%d recorded tokens, worst difference %.3g", n, worst)
	if worst > 1e-4 {
		t.Errorf("rollout and trainer log-probabilities differ by up to %g over %d tokens", worst, n)
	}
}

// toyStep samples n one-token answers from the trainer's current weights and rewards a digit.
func toyStep(t *testing.T, tr *train.Trainer, prompt []int, step, n int) []Trajectory {
	t.Helper()
	snap, err := tr.Snapshot()
	if err != nil {
		t.Fatal(err)
	}
	defer snap.Close()
	trajs := make([]Trajectory, n)
	for i := range trajs {
		c := Call{Prompt: prompt}
		_, err := snap.Generate(context.Background(), llm.Request{Prompt: prompt, MaxTokens: 1,
			Sampling: llm.Sampling{Temperature: 1, Seed: uint64(step*n + i)}}, func(tok llm.Token) error {
			c.IDs, c.LogProb = append(c.IDs, tok.ID), append(c.LogProb, tok.LogProb)
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		if len(c.IDs) > 0 {
			trajs[i].Calls = []Call{c}
			if c.IDs[0] >= '0' && c.IDs[0] <= '9' {
				trajs[i].Reward = 1
			}
		}
	}
	return trajs
}

// digitMass is the probability the model gives a digit as the next token after prompt.
func digitMass(t *testing.T, tr *train.Trainer, prompt []int) float64 {
	t.Helper()
	snap, err := tr.Snapshot()
	if err != nil {
		t.Fatal(err)
	}
	defer snap.Close()
	lg, err := snap.Logits(prompt)
	if err != nil {
		t.Fatal(err)
	}
	last := lg[len(lg)-1]
	var sum, digits float64
	for id, l := range last {
		e := math.Exp(float64(l))
		sum += e
		if id >= '0' && id <= '9' {
			digits += e
		}
	}
	return digits / sum
}

// A few GRPO steps on a toy reward (1 for a digit as the first token of the answer) raise the
// probability of a digit: the sign and the masking of the update are right end to end.
func TestToyRewardRises(t *testing.T) {
	m, err := train.InitModel("../testdata/tiny-config.json", "../../runtime/tinymodel/recipe", 3)
	if err != nil {
		t.Fatal(err)
	}
	be, err := backend.Open("")
	if err != nil {
		t.Fatal(err)
	}
	obj := Objective{Low: 0.2, High: 0.28, Temperature: 1}
	tr, err := train.NewWithAux(be, m, train.Options{Steps: 8, LR: 1e-2, MinLR: 1e-2, BatchSize: 1}, obj.LossAux, nil, "toy")
	if err != nil {
		t.Fatal(err)
	}
	prompt := []int{257, 'a', 'n', 's', 'w', 'e', 'r', ':'}
	before := digitMass(t, tr, prompt)
	for step := range 8 {
		trajs := toyStep(t, tr, prompt, step, 32)
		rewards := make([]float64, len(trajs))
		for i, x := range trajs {
			rewards[i] = x.Reward
		}
		adv, _ := Advantages(rewards, len(trajs))
		if _, err := tr.StepMicro(mustBatches(t, trajs, adv, 1, 256)); err != nil {
			t.Fatal(err)
		}
	}
	after := digitMass(t, tr, prompt)
	if after < 2*before {
		t.Errorf("probability of a digit %.4f before, %.4f after 8 steps: want it at least doubled", before, after)
	}
}

// A run resumed from its checkpoint after step 1 ends exactly where the uninterrupted run
// does: the same weights and optimizer state bit for bit, the same metrics. One rollout at a
// time, three (of four) and all at once, which the runtime batches in lockstep: without it,
// rollouts that come back at random times change the batches, and the weights differ in their
// last bits.
func TestResumeIsExact(t *testing.T) {
	for _, par := range []int{1, 3, 0} {
		t.Run(fmt.Sprintf("parallel-%d", par), func(t *testing.T) { resumeIsExact(t, par) })
	}
}

func resumeIsExact(t *testing.T, par int) {
	if par != 1 { // rollouts back at random times, as on a busy machine
		tokenDelay = func() { time.Sleep(time.Duration(rand.IntN(1000)) * time.Microsecond) }
		defer func() { tokenDelay = nil }()
	}
	opts := func(out string) Options {
		return Options{Model: tinyModel, Out: out, Lengths: []LengthRange{{1, 4}}, Groups: 1, G: 4, Temperature: 1,
			Reward: RewardTask, Objective: Objective{Low: 0.2, High: 0.28}, Parallel: par, Log: &bytes.Buffer{},
			Train: train.Options{Steps: 2, LR: 1e-2, MinLR: 1e-2, Seed: 5, SaveEvery: 1}}
	}
	ctx := context.Background()
	whole, resumed := t.TempDir(), t.TempDir()
	if err := Run(ctx, opts(whole)); err != nil {
		t.Fatal(err)
	}
	// The resumed run starts from step 1's checkpoint and the metrics line it wrote.
	if err := os.CopyFS(train.CheckpointDir(resumed, 1), os.DirFS(train.CheckpointDir(whole, 1))); err != nil {
		t.Fatal(err)
	}
	first := readMetrics(t, whole)[:1]
	line, _ := json.Marshal(first[0])
	if err := os.WriteFile(filepath.Join(resumed, MetricsFile), append(line, '\n'), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := Run(ctx, opts(resumed)); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"optimizer.safetensors", "model.safetensors"} {
		a, err := os.ReadFile(filepath.Join(train.CheckpointDir(whole, 2), f))
		if err != nil {
			t.Fatal(err)
		}
		b, err := os.ReadFile(filepath.Join(train.CheckpointDir(resumed, 2), f))
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(a, b) {
			t.Errorf("%s differs between the whole and the resumed run", f)
		}
	}
	ma, mb := readMetrics(t, whole), readMetrics(t, resumed)
	if len(ma) != 2 || len(mb) != 2 {
		t.Fatalf("metrics lines: %d and %d, want 2", len(ma), len(mb))
	}
	if ma[1].TrainedTokens == 0 {
		t.Fatal("step 2 trained nothing: the comparison shows nothing")
	}
	ma[1].RolloutSec, ma[1].UpdateSec, mb[1].RolloutSec, mb[1].UpdateSec = 0, 0, 0, 0
	if ja, jb := fmt.Sprint(json.Marshal(ma[1])), fmt.Sprint(json.Marshal(mb[1])); ja != jb {
		t.Errorf("step 2 metrics: whole %+v, resumed %+v", ma[1], mb[1])
	}
}

func readMetrics(t *testing.T, out string) []Metrics {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(out, MetricsFile))
	if err != nil {
		t.Fatal(err)
	}
	var ms []Metrics
	for _, line := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		var m Metrics
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Fatal(err)
		}
		ms = append(ms, m)
	}
	return ms
}

func TestCheckAndProblemErrors(t *testing.T) {
	good := Options{Model: "m", Out: "o", Lengths: []LengthRange{{1, 60}}, Groups: 2, G: 4, Temperature: 1, Reward: RewardTask, Objective: Objective{Low: 0.2, High: 0.28}}
	if err := good.Check(); err != nil {
		t.Fatal(err)
	}
	for name, mod := range map[string]func(*Options){
		"group of one":     func(o *Options) { o.G = 1 },
		"zero temperature": func(o *Options) { o.Temperature = 0 },
		"reward":           func(o *Options) { o.Reward = "eff" },
		"lengths":          func(o *Options) { o.Lengths = []LengthRange{{1, 60}, {10, 5}} },
		"no lengths":       func(o *Options) { o.Lengths = nil },
		"clip":             func(o *Options) { o.Objective.Low = 1 },
	} {
		o := good
		mod(&o)
		if o.Check() == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

// A run compiles one update graph per micro-batch shape, and an executor keeps 32: steps of at
// least MicroRows sequences must come in one row count and one shape per length bucket,
// however their lengths fall.
func TestMicroBatchShapesStayFew(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	shapes := map[[2]int]bool{}
	for range 300 {
		trajs := make([]Trajectory, 32+rng.IntN(64))
		adv := make([]float64, len(trajs))
		for i := range trajs {
			adv[i] = 1
			for range 1 + rng.IntN(3) {
				c := Call{Prompt: make([]int, 5+rng.IntN(100)), IDs: make([]int, 1+rng.IntN(150))}
				c.LogProb = make([]float64, len(c.IDs))
				trajs[i].Calls = append(trajs[i].Calls, c)
			}
		}
		for _, b := range mustBatches(t, trajs, adv, 1, 256) {
			d := b.IDs.Shape().Dimensions
			shapes[[2]int{d[0], d[1]}] = true
			if d[0] != MicroRows {
				t.Fatalf("a micro-batch of %d rows, want %d", d[0], MicroRows)
			}
		}
	}
	if len(shapes) > 256/posBucket {
		t.Errorf("%d micro-batch shapes over 300 steps, want at most %d: %v", len(shapes), 256/posBucket, shapes)
	}
	// Past posLinear the buckets grow with the length: few shapes, little padding.
	lens := map[int]bool{}
	for s := 1; s <= 8192; s++ {
		l := seqLen(s)
		if l < s || (s > posLinear && float64(l) > 1.25*float64(s)) {
			t.Fatalf("seqLen(%d) = %d", s, l)
		}
		lens[l] = true
	}
	if len(lens) > 28 {
		t.Errorf("%d lengths for sequences up to 8192, want at most 28", len(lens))
	}
	for n, want := range map[int]int{0: 1, 1: 1, 3: 4, 17: 32, 32: 32, 100: 32} {
		if got := rowCount(n); got != want {
			t.Errorf("rowCount(%d) = %d, want %d", n, got, want)
		}
	}
}

// updateRunner is a runner whose trainer the update tests and benchmarks step by hand
// (StepMicro on batches they lay out), at a constant learning rate.
func updateRunner(tb testing.TB, model string, lr float64) *Runner {
	tb.Helper()
	r, err := NewRunner(Options{Model: model, Out: tb.TempDir(), Lengths: []LengthRange{{1, 60}},
		Groups: 1, G: 2, Temperature: 1, Reward: RewardTaskEff, Objective: Objective{Low: 0.2, High: 0.28},
		Train: train.Options{Steps: 1, LR: lr, MinLR: lr}})
	if err != nil {
		tb.Fatal(err)
	}
	return r
}

// mustBatches is buildBatches without a memory limit.
func mustBatches(tb testing.TB, trajs []Trajectory, adv []float64, temperature float64, window int) []train.Batch {
	tb.Helper()
	bs, err := buildBatches(trajs, adv, temperature, window, nil)
	if err != nil {
		tb.Fatal(err)
	}
	return bs
}

// longAndShort are trajectories of one call each: n of 20-250 positions and n/4 of 900-1500,
// plain chains as a model with a long window would write, every one with advantage ±1.
func longAndShort(n int, rng *rand.Rand) ([]Trajectory, []float64) {
	trajs := make([]Trajectory, n+n/4)
	adv := make([]float64, len(trajs))
	for i := range trajs {
		length := 20 + rng.IntN(230)
		if i >= n {
			length = 900 + rng.IntN(600)
		}
		c := Call{Prompt: make([]int, 10), IDs: make([]int, length-10)}
		c.LogProb = make([]float64, len(c.IDs))
		for j := range c.IDs {
			c.IDs[j], c.LogProb[j] = rng.IntN(256), -1
		}
		trajs[i].Calls, adv[i] = []Call{c}, float64(i%2*2-1)
	}
	return trajs, adv
}

// Under a memory limit, long sequences train in micro-batches of fewer rows, each a power of
// two whose update fits the limit; every generated token is still trained exactly once, with
// the same weight; the embedded model's short rows keep MicroRows a micro-batch under the
// default limit; and a sequence that does not fit even alone is an error, not an attempt.
func TestMicroBatchesFitTheMemoryLimit(t *testing.T) {
	m, err := train.LoadModel(tinyModel)
	if err != nil {
		t.Fatal(err)
	}
	trajs, adv := longAndShort(96, rand.New(rand.NewPCG(3, 4)))
	total := 0
	for _, tr := range trajs {
		total += len(tr.Calls[0].IDs)
	}
	limit := &memoryLimit{cfg: m.Config, budget: 2 << 30}
	bs, err := buildBatches(trajs, adv, 1, 256, limit)
	if err != nil {
		t.Fatal(err)
	}
	rowsSeen := map[int]bool{}
	tokens, weighted, weight := 0, 0, 0.0
	for _, b := range bs {
		d := b.IDs.Shape().Dimensions
		if bits.OnesCount(uint(d[0])) != 1 || d[0] > MicroRows {
			t.Errorf("a micro-batch of %d rows: want a power of two up to %d", d[0], MicroRows)
		}
		if need := train.UpdateBytes(m.Config, d[0], d[1]); need > limit.budget {
			t.Errorf("a micro-batch of %d × %d needs %d bytes, over the limit %d", d[0], d[1], need, limit.budget)
		}
		rowsSeen[d[0]] = true
		tokens += b.Tokens
		w, err := tensors.CopyFlatData[float32](b.Inputs[inWeight])
		if err != nil {
			t.Fatal(err)
		}
		for _, x := range w {
			if x != 0 {
				weighted++
				weight += float64(x)
			}
		}
	}
	if tokens != total || weighted != total || math.Abs(weight-1) > 1e-6 {
		t.Errorf("micro-batches train %d tokens (%d weighted) with weights summing to %v, want %d and 1", tokens, weighted, weight, total)
	}
	if !rowsSeen[MicroRows] || len(rowsSeen) < 2 {
		t.Errorf("row counts %v: want the short rows in micro-batches of %d and the long ones in fewer", rowsSeen, MicroRows)
	}

	short, shortAdv := longAndShort(64, rand.New(rand.NewPCG(5, 6)))
	short, shortAdv = short[:64], shortAdv[:64]
	bs, err = buildBatches(short, shortAdv, 1, 256, &memoryLimit{cfg: m.Config, budget: DefaultUpdateMemory()})
	if err != nil {
		t.Fatal(err)
	}
	for _, b := range bs {
		if d := b.IDs.Shape().Dimensions; d[0] != MicroRows {
			t.Errorf("the embedded model's rows of up to 256 positions in micro-batches of %d under the default limit, want %d", d[0], MicroRows)
		}
	}

	_, err = buildBatches(trajs, adv, 1, 256, &memoryLimit{cfg: m.Config, budget: 100 << 20})
	if err == nil || !strings.Contains(err.Error(), "--update-memory") {
		t.Errorf("a sequence over the limit alone: error %v, want one naming --update-memory", err)
	}
}

// How a step's rows are cut into micro-batches moves only the rounding of the accumulated
// gradient: the same rollouts in one micro-batch and, under a limit that allows 4 rows, in six
// give the same loss and gradient norm to 1e-5.
func TestMicroBatchingKeepsTheUpdate(t *testing.T) {
	trajs, adv := longAndShort(24, rand.New(rand.NewPCG(7, 8)))
	trajs, adv = trajs[:24], adv[:24]
	var stats []train.StepStats
	for _, rows := range []int{0, 4} { // 0: no limit
		r := updateRunner(t, tinyModel, 1e-3)
		var limit *memoryLimit
		want := 1
		if rows > 0 {
			limit = &memoryLimit{cfg: r.model.Config, budget: train.UpdateBytes(r.model.Config, rows, 256)}
			want = len(trajs) / rows
		}
		bs, err := buildBatches(trajs, adv, 1, 256, limit)
		if err != nil {
			t.Fatal(err)
		}
		if len(bs) != want {
			t.Fatalf("%d micro-batches, want %d", len(bs), want)
		}
		st, err := r.Trainer().StepMicro(bs)
		if err != nil {
			t.Fatal(err)
		}
		stats = append(stats, st)
	}
	a, b := stats[0], stats[1]
	if !near(a.Loss, b.Loss, 1e-5*math.Abs(a.Loss)+1e-9) || !near(a.GradNorm, b.GradNorm, 1e-5*a.GradNorm) || a.Tokens != b.Tokens {
		t.Errorf("one micro-batch: loss %v, grad norm %v, %d tokens; six: %v, %v, %d", a.Loss, a.GradNorm, a.Tokens, b.Loss, b.GradNorm, b.Tokens)
	}
}

// Synthetic questions are problem i of synth.Set for their range, which with several ranges
// take turns question by question; one range gives the set itself, as before ranges could mix.
func TestSyntheticQuestionsTakeTurns(t *testing.T) {
	const seed, b = 5, 4
	set, err := synth.Set(seed, 2*b, 1, 60)
	if err != nil {
		t.Fatal(err)
	}
	q, err := syntheticQuestions(seed, b, []LengthRange{{1, 60}})(1)
	if err != nil {
		t.Fatal(err)
	}
	for j, p := range q {
		if p.Question != set[b+j].Question() || p.Answer != set[b+j].Answer() {
			t.Errorf("question %d: %q, want %q", b+j, p.Question, set[b+j].Question())
		}
	}
	ranges := []LengthRange{{11, 20}, {40, 60}}
	q, err = syntheticQuestions(seed, b, ranges)(1)
	if err != nil {
		t.Fatal(err)
	}
	for j, p := range q {
		i, l := b+j, ranges[(b+j)%2]
		want, err := synth.Set(seed, i+1, l.Min, l.Max)
		if err != nil {
			t.Fatal(err)
		}
		got, ok := synth.Parse(p.Question)
		if !ok || got != want[i] || got.N < l.Min || got.N > l.Max {
			t.Errorf("question %d: %q, want problem %d of %s: %q", i, p.Question, i, l, want[i].Question())
		}
	}
}
