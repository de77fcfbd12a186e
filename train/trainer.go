// Package train is what every trainer of infty shares: model weights on the host and their
// initialisation, AdamW with global gradient-norm clipping, the warmup + cosine schedule, and
// checkpoints that are Hugging Face model folders (runtime.Load and transformers read them)
// plus the optimizer state to resume from. The loss is the trainer's parameter: a Loss builds
// it from the model's logits and its batch's inputs, and the step differentiates it through the
// forward pass of the model's architecture (runtime/arch). Supervised fine-tuning lives in
// train/sft; a trainer can sample from the weights it is updating (Trainer.Snapshot).
//
// A run is deterministic for a seed: initial weights, batch order and every update depend only on
// the seed, the data and the options, and a resumed run continues exactly as an uninterrupted one.
package train

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"time"

	"github.com/gomlx/compute"
	. "github.com/gomlx/gomlx/core/graph" //nolint:revive
	"github.com/gomlx/gomlx/core/tensors"
	"github.com/infty-dev/infty/runtime"
	"github.com/infty-dev/infty/runtime/arch"
)

// Options are the hyperparameters of a run, as checkpoints record them and resuming checks them.
type Options struct {
	Steps       int     // total optimizer steps
	BatchSize   int     // examples per step
	LR          float64 // peak learning rate
	MinLR       float64 // learning rate at the end of the cosine
	Warmup      int     // linear warmup steps
	WeightDecay float64
	ClipNorm    float64 // global gradient-norm clip; 0: off
	Beta1       float64
	Beta2       float64
	Eps         float64
	Seed        uint64 // batch order (and initial weights when training from scratch)
	MaxLen      int    // longest example in tokens; longer ones are dropped
	SaveEvery   int    // checkpoint every this many steps (and at the end); 0: only at the end
	SaveDType   string // "F32" (default) or "BF16" for the model weights of checkpoints
	StopAt      int    // when > 0, Run stops (with a checkpoint) after this step, short of Steps
}

// Defaults fills zero fields.
func (o *Options) Defaults() {
	def := func(p *float64, v float64) {
		if *p == 0 {
			*p = v
		}
	}
	def(&o.LR, 1e-3)
	def(&o.Beta1, 0.9)
	def(&o.Beta2, 0.95)
	def(&o.Eps, 1e-8)
	if o.MinLR == 0 {
		o.MinLR = o.LR / 10
	}
	if o.BatchSize == 0 {
		o.BatchSize = 16
	}
	if o.MaxLen == 0 {
		o.MaxLen = 1024
	}
	if o.SaveDType == "" {
		o.SaveDType = "F32"
	}
}

func (o *Options) validate() error {
	switch {
	case o.Steps <= 0:
		return fmt.Errorf("train: steps must be positive, got %d", o.Steps)
	case o.BatchSize <= 0:
		return fmt.Errorf("train: batch size must be positive, got %d", o.BatchSize)
	case o.Warmup < 0 || o.Warmup > o.Steps:
		return fmt.Errorf("train: warmup %d must lie in 0..steps (%d)", o.Warmup, o.Steps)
	case o.LR <= 0 || o.MinLR < 0 || o.MinLR > o.LR:
		return fmt.Errorf("train: learning rates must satisfy 0 <= min-lr <= lr, 0 < lr (got lr %g, min-lr %g)", o.LR, o.MinLR)
	case o.SaveDType != "F32" && o.SaveDType != "BF16":
		return fmt.Errorf("train: save dtype %q (F32 or BF16)", o.SaveDType)
	}
	return nil
}

// Model is a model being trained: its config (parsed and as read), its weights, and the folder
// its tokenizer files come from.
type Model struct {
	Config       *arch.Config
	Arch         arch.Model
	RawConfig    []byte // config.json as given; written back with torch_dtype updated
	Params       *Params
	TokenizerDir string
}

// Batch is one step's data: ids [B, S] Int32, which the model reads, and the inputs the loss
// reads besides the logits.
type Batch struct {
	IDs    *tensors.Tensor
	Inputs []*tensors.Tensor
	Tokens int // tokens the loss counts, for reports and weighting
}

// Batches gives the batch of step k (0-based). It must depend only on k (and what it closes
// over), so that a resumed run sees exactly the batches an uninterrupted one would.
type Batches func(k int) Batch

// Trainer runs steps and writes checkpoints.
type Trainer struct {
	model     *Model
	opt       Options
	loss      Loss      // for Evaluate
	objective Objective // loss and the scalars reported beside it, for the updates
	batches   Batches
	backend   compute.Backend
	exec      *Exec
	evalExec  *Exec
	accExec   *Exec // gradient accumulation over micro-batches (StepMicro), built on first use
	appExec   *Exec
	hyper     Hyper
	decay     []bool

	params, m1, m2 []*tensors.Tensor
	step           int // updates done
	dataHash       string
	startHash      string // of the weights the run started from (Params.Hash)
}

// StepStats reports one update.
type StepStats struct {
	Step     int     `json:"step"` // 1-based index of the update just done
	Steps    int     `json:"steps"`
	Loss     float64 `json:"loss"`
	GradNorm float64 `json:"grad_norm"`
	LR       float64 `json:"lr"`
	Tokens   int     `json:"tokens"` // trained tokens in the batch
	Seconds  float64 `json:"seconds"`
	// Aux are the objective's scalars (a trainer made by NewWithAux), computed before the update.
	Aux []float64 `json:"-"`
}

// New prepares a run that minimises loss over batches. dataHash identifies the training data,
// so that resuming on other data is refused.
func New(backend compute.Backend, model *Model, opt Options, loss Loss, batches Batches, dataHash string) (*Trainer, error) {
	return NewWithAux(backend, model, opt, loss.Objective(), batches, dataHash)
}

// NewWithAux is New minimising objective's loss, with its scalars reported in each step's
// StepStats.Aux.
func NewWithAux(backend compute.Backend, model *Model, opt Options, objective Objective, batches Batches, dataHash string) (*Trainer, error) {
	opt.Defaults()
	if err := opt.validate(); err != nil {
		return nil, err
	}
	loss := func(logits *Node, inputs []*Node) *Node { l, _ := objective(logits, inputs); return l }
	t := &Trainer{model: model, opt: opt, loss: loss, objective: objective, batches: batches, backend: backend,
		dataHash: dataHash, startHash: model.Params.Hash()}
	for _, s := range model.Params.Specs {
		t.decay = append(t.decay, len(s.Shape) == 2)
	}
	h := Hyper{Beta1: opt.Beta1, Beta2: opt.Beta2, Eps: opt.Eps, WeightDecay: opt.WeightDecay, ClipNorm: opt.ClipNorm}
	t.hyper = h
	exec, err := NewExec(backend, stepGraph(model.Arch, model.Params.Specs, objective, h, t.decay))
	if err != nil {
		return nil, err
	}
	t.exec = exec
	t.params = model.Params.Tensors()
	zero := &Params{Specs: model.Params.Specs, Data: model.Params.zeros()}
	t.m1, t.m2 = zero.Tensors(), zero.Tensors()
	return t, nil
}

// Done is the number of updates done so far.
func (t *Trainer) Done() int { return t.step }

// Step does one update on the next batch.
func (t *Trainer) Step() (StepStats, error) {
	start := time.Now()
	k := t.step + 1
	b := t.batches(t.step)
	lr, c1, c2 := t.schedule(k)
	n := len(t.params)
	args := make([]any, 0, 3*n+4+len(b.Inputs))
	for _, group := range [][]*tensors.Tensor{t.params, t.m1, t.m2} {
		for _, x := range group {
			args = append(args, x)
		}
	}
	args = append(args, float32(lr), float32(c1), float32(c2))
	out, err := t.exec.Call(append(args, b.args()...)...)
	if err != nil {
		return StepStats{}, fmt.Errorf("train: step %d: %w", k, err)
	}
	loss := float64(tensors.ToScalar[float32](out[3*n]))
	norm := float64(tensors.ToScalar[float32](out[3*n+1]))
	if err := t.checkLoss(k, loss); err != nil {
		return StepStats{}, err
	}
	var aux []float64
	for _, a := range out[3*n+2:] {
		aux = append(aux, float64(tensors.ToScalar[float32](a)))
		a.FinalizeAll()
	}
	for _, x := range [][]*tensors.Tensor{t.params, t.m1, t.m2} {
		for _, old := range x {
			old.FinalizeAll()
		}
	}
	t.params, t.m1, t.m2 = out[:n], out[n:2*n], out[2*n:3*n]
	t.step = k
	return StepStats{Step: k, Steps: t.opt.Steps, Loss: loss, GradNorm: norm, LR: lr, Tokens: b.Tokens, Seconds: time.Since(start).Seconds(), Aux: aux}, nil
}

// schedule is step k's learning rate and AdamW's bias corrections c1 = 1/(1-β1^k) and
// c2 = 1/(1-β2^k).
func (t *Trainer) schedule(k int) (lr, c1, c2 float64) {
	return LearningRate(k, t.opt.Warmup, t.opt.Steps, t.opt.LR, t.opt.MinLR),
		1 / (1 - math.Pow(t.opt.Beta1, float64(k))), 1 / (1 - math.Pow(t.opt.Beta2, float64(k)))
}

// checkLoss refuses to apply step k when its loss is not finite.
func (t *Trainer) checkLoss(k int, loss float64) error {
	if math.IsNaN(loss) || math.IsInf(loss, 0) {
		return fmt.Errorf("train: step %d: loss is %v (lower the learning rate or check the data); weights left as of step %d", k, loss, t.step)
	}
	return nil
}

// StepMicro does one update on the sum of the gradients of micro-batches, so that a batch too
// large for memory in one graph trains as one: the loss must be a sum over its examples
// normalised by the whole batch (a token-level mean over all micro-batches), and the reported
// loss and Aux are the sums over the micro-batches. bs must not be empty.
func (t *Trainer) StepMicro(bs []Batch) (StepStats, error) {
	start := time.Now()
	k := t.step + 1
	n := len(t.params)
	if t.accExec == nil {
		acc, err := NewExec(t.backend, accumGraph(t.model.Arch, t.model.Params.Specs, t.objective))
		if err != nil {
			return StepStats{}, err
		}
		app, err := NewExec(t.backend, applyGraph(t.hyper, t.decay))
		if err != nil {
			return StepStats{}, err
		}
		t.accExec, t.appExec = acc, app
	}
	sums := (&Params{Specs: t.model.Params.Specs, Data: t.model.Params.zeros()}).Tensors()
	var loss float64
	var aux []float64
	tokens := 0
	for _, b := range bs {
		args := make([]any, 0, 2*n+1+len(b.Inputs))
		for _, x := range slices.Concat(t.params, sums) {
			args = append(args, x)
		}
		out, err := t.accExec.Call(append(args, b.args()...)...)
		if err != nil {
			return StepStats{}, fmt.Errorf("train: step %d: %w", k, err)
		}
		for _, old := range sums {
			old.FinalizeAll()
		}
		sums = out[:n]
		loss += float64(tensors.ToScalar[float32](out[n]))
		for i, a := range out[n+1:] {
			if i == len(aux) {
				aux = append(aux, 0)
			}
			aux[i] += float64(tensors.ToScalar[float32](a))
			a.FinalizeAll()
		}
		out[n].FinalizeAll()
		tokens += b.Tokens
	}
	if err := t.checkLoss(k, loss); err != nil {
		return StepStats{}, err
	}
	lr, c1, c2 := t.schedule(k)
	args := make([]any, 0, 4*n+3)
	for _, x := range slices.Concat(t.params, t.m1, t.m2, sums) {
		args = append(args, x)
	}
	out, err := t.appExec.Call(append(args, float32(lr), float32(c1), float32(c2))...)
	if err != nil {
		return StepStats{}, fmt.Errorf("train: step %d: %w", k, err)
	}
	norm := float64(tensors.ToScalar[float32](out[3*n]))
	for _, x := range slices.Concat(t.params, t.m1, t.m2, sums) {
		x.FinalizeAll()
	}
	t.params, t.m1, t.m2 = out[:n], out[n:2*n], out[2*n:3*n]
	t.step = k
	return StepStats{Step: k, Steps: t.opt.Steps, Loss: loss, GradNorm: norm, LR: lr, Tokens: tokens, Seconds: time.Since(start).Seconds(), Aux: aux}, nil
}

// Run steps until opt.Steps, checkpointing into out every SaveEvery steps and at the end, and
// calling onStep after each update. When ctx is canceled it saves a checkpoint and returns
// ctx.Err(). It returns the folder of the last checkpoint.
func (t *Trainer) Run(ctx context.Context, out string, onStep func(StepStats)) (string, error) {
	last := ""
	end := t.opt.Steps
	if t.opt.StopAt > 0 && t.opt.StopAt < end {
		end = t.opt.StopAt
	}
	for t.step < end {
		if ctx.Err() != nil {
			dir, err := t.Save(out)
			if err != nil {
				return "", err
			}
			return dir, ctx.Err()
		}
		st, err := t.Step()
		if err != nil {
			return last, err
		}
		if onStep != nil {
			onStep(st)
		}
		if (t.opt.SaveEvery > 0 && t.step%t.opt.SaveEvery == 0) || t.step == end {
			if last, err = t.Save(out); err != nil {
				return "", err
			}
		}
	}
	return last, nil
}

// args are the batch's graph arguments after the weights: ids, then the loss's inputs.
func (b Batch) args() []any {
	args := []any{b.IDs}
	for _, x := range b.Inputs {
		args = append(args, x)
	}
	return args
}

// Evaluate returns the loss on b with the current weights, without updating them.
func (t *Trainer) Evaluate(b Batch) (float64, error) {
	if t.evalExec == nil {
		exec, err := NewExec(t.backend, lossGraph(t.model.Arch, t.model.Params.Specs, t.loss))
		if err != nil {
			return 0, err
		}
		t.evalExec = exec
	}
	args := make([]any, 0, len(t.params)+1+len(b.Inputs))
	for _, p := range t.params {
		args = append(args, p)
	}
	out, err := t.evalExec.Call(append(args, b.args()...)...)
	if err != nil {
		return 0, err
	}
	defer out[0].FinalizeAll()
	return float64(tensors.ToScalar[float32](out[0])), nil
}

// Weights are the current weights on the backend, in the order of the model's Specs (for a
// Probe). They are the trainer's own: valid until the next Step or Resume, not to be modified.
func (t *Trainer) Weights() []*tensors.Tensor { return t.params }

// Params copies the current weights to the host.
func (t *Trainer) Params() (*Params, error) {
	host, err := fromTensors(t.params)
	if err != nil {
		return nil, err
	}
	return &Params{Specs: t.model.Params.Specs, Data: host}, nil
}

// Snapshot is the model as of the last update, held in memory for generating (a rollout, a
// look at what it says) without writing a checkpoint: the runtime model runs on the trainer's
// backend over a copy of the current weights, so the trainer's next updates leave it as it
// is. Its generation defaults and end-of-turn ids come from the model's tokenizer folder, as
// a checkpoint's would; runtime.NewEngine gives it the chat side. The caller closes it.
func (t *Trainer) Snapshot() (*runtime.Model, error) {
	p, err := t.Params()
	if err != nil {
		return nil, err
	}
	return runtime.FromWeights(t.backend, t.model.TokenizerDir, t.model.Config, p.Tensors())
}

// state is trainer_state.json.
type state struct {
	Step     int     `json:"step"`
	Options  Options `json:"options"`
	DataHash string  `json:"data_hash"`
	// StartHash identifies the weights the run started from: resumed from other weights (an
	// RL stage's folder reused with another start model), a run would go on from the
	// checkpoint and silently ignore the model it was given. Absent in checkpoints written
	// before it was recorded, which resume unchecked.
	StartHash string `json:"start_hash,omitempty"`
	Time      string `json:"time"`
}

// stateFile and optimizerFile sit beside the model files in a checkpoint folder.
const (
	stateFile     = "trainer_state.json"
	optimizerFile = "optimizer.safetensors"
)

// marshalIndent is json.MarshalIndent without HTML escaping.
func marshalIndent(v any) ([]byte, error) {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return nil, err
	}
	return append(b, '\n'), nil
}

// CheckpointDir is the folder of the checkpoint after step updates.
func CheckpointDir(out string, step int) string {
	return filepath.Join(out, fmt.Sprintf("checkpoint-%06d", step))
}

// Save writes the current state as out/checkpoint-NNNNNN (a Hugging Face model folder plus
// optimizer.safetensors and trainer_state.json). The folder is built under a temporary name and
// renamed, so a crash never leaves a half-written checkpoint that resume would pick up.
func (t *Trainer) Save(out string) (string, error) {
	p, err := t.Params()
	if err != nil {
		return "", err
	}
	dst := CheckpointDir(out, t.step)
	if err := os.MkdirAll(out, 0o755); err != nil {
		return "", err
	}
	tmp, err := os.MkdirTemp(out, ".checkpoint-*")
	if err != nil {
		return "", err
	}
	defer os.RemoveAll(tmp)
	if err := WriteModel(tmp, t.model, p, t.opt.SaveDType); err != nil {
		return "", err
	}
	m1, err := fromTensors(t.m1)
	if err != nil {
		return "", err
	}
	m2, err := fromTensors(t.m2)
	if err != nil {
		return "", err
	}
	w1, _ := writeTensors("m1.", p.Specs, m1, "F32")
	w2, _ := writeTensors("m2.", p.Specs, m2, "F32")
	w0, _ := writeTensors("param.", p.Specs, p.Data, "F32") // exact weights even when the model is saved in BF16
	if err := writeSafetensors(filepath.Join(tmp, optimizerFile), append(append(w0, w1...), w2...)); err != nil {
		return "", err
	}
	st, err := marshalIndent(state{Step: t.step, Options: t.opt, DataHash: t.dataHash, StartHash: t.startHash, Time: time.Now().UTC().Format(time.RFC3339)})
	if err != nil {
		return "", err
	}
	if err := os.WriteFile(filepath.Join(tmp, stateFile), st, 0o644); err != nil {
		return "", err
	}
	if err := os.Chmod(tmp, 0o755); err != nil {
		return "", err
	}
	if err := os.RemoveAll(dst); err != nil {
		return "", err
	}
	if err := os.Rename(tmp, dst); err != nil {
		return "", err
	}
	return dst, nil
}
