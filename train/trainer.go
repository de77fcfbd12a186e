// Package train is infty's supervised fine-tuning: next-token cross-entropy on the assistant
// turns of chat conversations (the user turn and a pre-filled <history> block are context, not
// targets), AdamW with linear warmup and cosine decay, global gradient-norm clipping, all in one
// GoMLX graph over the forward pass of the model's architecture (runtime/arch). Checkpoints are Hugging Face model folders that
// runtime.Load and transformers both read, plus the optimizer state to resume from.
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
	"time"

	"github.com/gomlx/compute"
	. "github.com/gomlx/gomlx/core/graph" //nolint:revive
	"github.com/gomlx/gomlx/core/tensors"
	"github.com/infty-dev/infty/runtime/arch"
)

// Options are the hyperparameters of a run.
type Options struct {
	Steps       int     // total optimizer steps
	BatchSize   int     // conversations per step
	LR          float64 // peak learning rate
	MinLR       float64 // learning rate at the end of the cosine
	Warmup      int     // linear warmup steps
	WeightDecay float64
	ClipNorm    float64 // global gradient-norm clip; 0: off
	Beta1       float64
	Beta2       float64
	Eps         float64
	Seed        uint64 // batch order (and initial weights when training from scratch)
	MaxLen      int    // longest conversation in tokens; longer ones are dropped
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

// Trainer runs steps and writes checkpoints.
type Trainer struct {
	model   *Model
	data    *Dataset
	opt     Options
	backend compute.Backend
	exec    *Exec
	decay   []bool

	params, m1, m2 []*tensors.Tensor
	step           int // updates done
	dataHash       string
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
}

// New prepares a run. dataHash identifies the training data, so that resuming on other data is
// refused.
func New(backend compute.Backend, model *Model, data *Dataset, opt Options, dataHash string) (*Trainer, error) {
	opt.Defaults()
	if err := opt.validate(); err != nil {
		return nil, err
	}
	t := &Trainer{model: model, data: data, opt: opt, backend: backend, dataHash: dataHash}
	for _, s := range model.Params.Specs {
		t.decay = append(t.decay, len(s.Shape) == 2)
	}
	h := Hyper{Beta1: opt.Beta1, Beta2: opt.Beta2, Eps: opt.Eps, WeightDecay: opt.WeightDecay, ClipNorm: opt.ClipNorm}
	exec, err := NewExec(backend, stepGraph(model.Arch, model.Params.Specs, h, t.decay))
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
	b := t.data.Batch(t.opt.Seed, t.step, t.opt.BatchSize)
	lr := LearningRate(k, t.opt.Warmup, t.opt.Steps, t.opt.LR, t.opt.MinLR)
	c1 := 1 / (1 - math.Pow(t.opt.Beta1, float64(k)))
	c2 := 1 / (1 - math.Pow(t.opt.Beta2, float64(k)))
	n := len(t.params)
	args := make([]any, 0, 3*n+6)
	for _, group := range [][]*tensors.Tensor{t.params, t.m1, t.m2} {
		for _, x := range group {
			args = append(args, x)
		}
	}
	args = append(args, float32(lr), float32(c1), float32(c2),
		tensors.FromFlatDataAndDimensions(b.IDs, b.B, b.S),
		tensors.FromFlatDataAndDimensions(b.Targets, b.B, b.S),
		tensors.FromFlatDataAndDimensions(b.Mask, b.B, b.S))
	out, err := t.exec.Exec(args...)
	if err != nil {
		return StepStats{}, fmt.Errorf("train: step %d: %w", k, err)
	}
	loss := float64(tensors.ToScalar[float32](out[3*n]))
	norm := float64(tensors.ToScalar[float32](out[3*n+1]))
	if math.IsNaN(loss) || math.IsInf(loss, 0) {
		return StepStats{}, fmt.Errorf("train: step %d: loss is %v (lower the learning rate or check the data); weights left as of step %d", k, loss, t.step)
	}
	for _, x := range [][]*tensors.Tensor{t.params, t.m1, t.m2} {
		for _, old := range x {
			old.FinalizeAll()
		}
	}
	t.params, t.m1, t.m2 = out[:n], out[n:2*n], out[2*n:3*n]
	t.step = k
	return StepStats{Step: k, Steps: t.opt.Steps, Loss: loss, GradNorm: norm, LR: lr, Tokens: b.Tokens, Seconds: time.Since(start).Seconds()}, nil
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

// Evaluate returns the mean masked loss over the given samples, in batches, without updating.
func (t *Trainer) Evaluate(samples []Sample) (float64, error) {
	d := &Dataset{Samples: samples, maxLen: t.data.maxLen}
	return evaluate(t.backend, t.model.Arch, t.model.Params.Specs, t.params, d)
}

func evaluate(backend compute.Backend, model arch.Model, specs []arch.TensorSpec, params []*tensors.Tensor, d *Dataset) (float64, error) {
	exec, err := NewExec(backend, lossGraph(model, specs))
	if err != nil {
		return 0, err
	}
	var sum, count float64
	for _, s := range d.Samples {
		one := &Dataset{Samples: []Sample{s}, maxLen: d.maxLen}
		b := one.Batch(0, 0, 1)
		args := make([]any, 0, len(params)+3)
		for _, p := range params {
			args = append(args, p)
		}
		args = append(args, tensors.FromFlatDataAndDimensions(b.IDs, b.B, b.S),
			tensors.FromFlatDataAndDimensions(b.Targets, b.B, b.S),
			tensors.FromFlatDataAndDimensions(b.Mask, b.B, b.S))
		out, err := exec.Exec(args...)
		if err != nil {
			return 0, err
		}
		sum += float64(tensors.ToScalar[float32](out[0])) * float64(b.Tokens)
		count += float64(b.Tokens)
	}
	return sum / max(count, 1), nil
}

// state is trainer_state.json.
type state struct {
	Step     int     `json:"step"`
	Options  Options `json:"options"`
	DataHash string  `json:"data_hash"`
	Time     string  `json:"time"`
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
	host, err := fromTensors(t.params)
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
	p := &Params{Specs: t.model.Params.Specs, Data: host}
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
	w0, _ := writeTensors("param.", p.Specs, host, "F32") // exact weights even when the model is saved in BF16
	if err := writeSafetensors(filepath.Join(tmp, optimizerFile), append(append(w0, w1...), w2...)); err != nil {
		return "", err
	}
	st, err := marshalIndent(state{Step: t.step, Options: t.opt, DataHash: t.dataHash, Time: time.Now().UTC().Format(time.RFC3339)})
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
