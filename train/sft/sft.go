// Package sft is supervised fine-tuning on chat conversations: next-token cross-entropy on the
// assistant's turn (the user turn and a pre-filled <history> block are context, not targets),
// over train's optimizer, schedule and checkpoints. Run is the whole pipeline `infty train sft`
// drives: read and fingerprint the data, tokenize it with the model folder's own chat template
// and end-of-turn ids, resume from the latest checkpoint, train, export.
package sft

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/gomlx/compute"
	"github.com/gomlx/compute/dtypes"
	"github.com/gomlx/compute/shapes"
	. "github.com/gomlx/gomlx/core/graph" //nolint:revive // graph math reads like the formulas
	"github.com/gomlx/gomlx/core/tensors"
	"github.com/infty-dev/infty/runtime"
	"github.com/infty-dev/infty/runtime/backend"
	"github.com/infty-dev/infty/runtime/genconfig"
	"github.com/infty-dev/infty/runtime/hub"
	"github.com/infty-dev/infty/runtime/kernels"
	"github.com/infty-dev/infty/train"
)

// Loss is the mean next-token cross-entropy over the trained positions: inputs are the
// targets [B, S] Int32 and the mask [B, S] Float32 of a Batch.
func Loss(logits *Node, inputs []*Node) *Node { return maskedLoss(logits, inputs[0], inputs[1]) }

// maskedLoss is the mean next-token cross-entropy over the positions where mask is 1: logits
// [B, S, V], targets [B, S] Int32, mask [B, S] Float32. The target logit is gathered rather
// than picked with a one-hot, so a 150k vocabulary costs no [B, S, V] one-hot tensor.
func maskedLoss(logits, targets, mask *Node) *Node {
	g := logits.Graph()
	dims := logits.Shape().Dimensions
	b, s, v := dims[0], dims[1], dims[2]
	flat := Reshape(logits, b*s, v)
	lse := kernels.LogSumExp(flat) // [B*S]
	rows := Iota(g, shapes.Make(dtypes.Int32, b*s, 1), 0)
	idx := Concatenate([]*Node{rows, Reshape(targets, b*s, 1)}, -1)
	picked := Gather(flat, idx) // [B*S]
	nll := Mul(Sub(lse, picked), Reshape(mask, b*s))
	count := MaxScalar(ReduceAllSum(mask), 1)
	return Div(ReduceAllSum(nll), count)
}

// input is the batch as the trainer feeds it: ids, then Loss's targets and mask.
func (b Batch) input() train.Batch {
	return train.Batch{
		IDs: tensors.FromFlatDataAndDimensions(b.IDs, b.B, b.S),
		Inputs: []*tensors.Tensor{tensors.FromFlatDataAndDimensions(b.Targets, b.B, b.S),
			tensors.FromFlatDataAndDimensions(b.Mask, b.B, b.S)},
		Tokens: b.Tokens,
	}
}

// NewTrainer is a trainer of model on d with Loss, its batches drawn by opt.Seed and
// opt.BatchSize. dataHash identifies the data, so that resuming on other data is refused.
func NewTrainer(be compute.Backend, model *train.Model, d *Dataset, opt train.Options, dataHash string) (*train.Trainer, error) {
	opt.Defaults()
	batches := func(k int) train.Batch { return d.Batch(opt.Seed, k, opt.BatchSize).input() }
	return train.New(be, model, opt, Loss, batches, dataHash)
}

// Evaluate returns tr's mean loss over samples, each weighted by its trained tokens, without
// updating anything.
func (d *Dataset) Evaluate(tr *train.Trainer, samples []Sample) (float64, error) {
	var sum, count float64
	for _, s := range samples {
		one := &Dataset{Samples: []Sample{s}, maxLen: d.maxLen}
		b := one.Batch(0, 0, 1)
		loss, err := tr.Evaluate(b.input())
		if err != nil {
			return 0, err
		}
		sum += loss * float64(b.Tokens)
		count += float64(b.Tokens)
	}
	return sum / max(count, 1), nil
}

// Options are a run of Run: where the data, the model and the checkpoints are, and the
// hyperparameters.
type Options struct {
	Data       []string // JSON Lines files of conversations
	Out        string   // checkpoint folder; resumed when it holds checkpoints
	Model      string   // model folder to fine-tune, or "" with InitConfig
	InitConfig string   // config.json to train from random initialisation
	Tokenizer  string   // with InitConfig: the folder of tokenizer.json and tokenizer_config.json
	Backend    string   // compute backend spec; "" is the pure-Go one
	Export     string   // when set, the final model alone is also written here
	// UpdateMemory is the most memory one step's update may need by train.UpdateBytes; a run
	// whose longest batch would need more is refused before it starts. 0: half the memory
	// available (the process peaks at up to about twice the estimate).
	UpdateMemory int64
	Train        train.Options
	Log          io.Writer // reports: the model and data, a resume, the folders written
	// Progress, when set, makes the display of a run that starts after done of steps updates.
	Progress func(done, steps int) Progress
}

// Progress displays a run's updates.
type Progress interface {
	Step(train.StepStats)
	Done()
}

// Check reports options a run cannot start from, before anything is read.
func (o *Options) Check() error {
	if len(o.Data) == 0 || o.Out == "" {
		return errors.New("--data and --out are required")
	}
	if (o.Model == "") == (o.InitConfig == "") {
		return errors.New("give exactly one of --model DIR (fine-tune) and --init-config FILE (train from random initialisation)")
	}
	if o.InitConfig != "" && o.Tokenizer == "" {
		return errors.New("--init-config needs --tokenizer DIR (a folder with tokenizer.json and tokenizer_config.json)")
	}
	return nil
}

// Run trains as o says, resuming from the latest checkpoint in o.Out. When ctx is canceled it
// saves a checkpoint and returns ctx.Err().
func Run(ctx context.Context, o Options) error {
	if err := o.Check(); err != nil {
		return err
	}
	opt := o.Train
	var m *train.Model
	var err error
	if o.Model != "" {
		m, err = train.LoadModel(o.Model)
	} else {
		m, err = train.InitModel(o.InitConfig, o.Tokenizer, opt.Seed)
	}
	if err != nil {
		return err
	}
	ds, hash, err := readData(m, o.Data, &opt)
	if err != nil {
		return err
	}
	if err := fits(m, ds, opt.BatchSize, o.UpdateMemory); err != nil {
		return err
	}
	be, err := backend.Open(o.Backend)
	if err != nil {
		return err
	}
	tr, err := NewTrainer(be, m, ds, opt, hash)
	if err != nil {
		return err
	}
	fmt.Fprintf(o.Log, "model: %s, %d parameters; data: %d conversations (%d longer than %d tokens dropped)\n",
		m.Config.Architecture, m.Params.Count(), len(ds.Samples), ds.Dropped, opt.MaxLen)
	if last, err := train.LatestCheckpoint(o.Out); err != nil {
		return err
	} else if last != "" {
		if err := tr.Resume(last); err != nil {
			return err
		}
		fmt.Fprintf(o.Log, "resumed from %s (step %d)\n", last, tr.Done())
	}
	var p Progress
	if o.Progress != nil {
		p = o.Progress(tr.Done(), opt.Steps)
	}
	last, err := tr.Run(ctx, o.Out, func(s train.StepStats) {
		if p != nil {
			p.Step(s)
		}
	})
	if p != nil {
		p.Done()
	}
	if last != "" {
		fmt.Fprintf(o.Log, "checkpoint: %s\n", last)
	}
	if err != nil {
		return err
	}
	if o.Export != "" {
		if err := tr.Export(o.Export, opt.SaveDType); err != nil {
			return err
		}
		fmt.Fprintf(o.Log, "model folder: %s\n", o.Export)
	}
	return nil
}

// fits refuses a run whose longest batch would need more memory than budget (0: half the
// available memory), before a step runs out of it: a batch is one graph, with no micro-batches
// to fall back on.
func fits(m *train.Model, ds *Dataset, batchSize int, budget int64) error {
	flag := "--update-memory"
	if budget == 0 {
		avail, _, err := hub.AvailableMemory()
		if err != nil {
			return nil // nothing to go by
		}
		budget, flag = avail/2, "half the available memory"
	}
	s := ds.LongestBatch()
	if need := train.UpdateBytes(m.Config, batchSize, s); need > budget {
		return fmt.Errorf("train: a step of %d conversations padded to %d positions (the longest's) needs about %s, more than %s (%s); lower --batch-size or --max-len, or raise --update-memory",
			batchSize, s, train.Size(need), train.Size(budget), flag)
	}
	return nil
}

// readData reads the conversations of paths and tokenizes them as inference would with m's
// tokenizer folder, clamping opt.MaxLen (defaults filled in) to the model's window. The hash
// fingerprints the files' bytes, so that a resume on other data is refused.
func readData(m *train.Model, paths []string, opt *train.Options) (*Dataset, string, error) {
	chat, err := runtime.LoadChat(m.TokenizerDir)
	if err != nil {
		return nil, "", err
	}
	gen, err := genconfig.Load(m.TokenizerDir)
	if err != nil {
		return nil, "", err
	}
	var convs []Conversation
	h := sha256.New()
	for _, path := range paths {
		c, err := ReadJSONL(path)
		if err != nil {
			return nil, "", err
		}
		convs = append(convs, c...)
		f, err := os.Open(path)
		if err != nil {
			return nil, "", err
		}
		_, err = io.Copy(h, f)
		f.Close()
		if err != nil {
			return nil, "", err
		}
	}
	opt.Defaults()
	if m.Config.MaxPositions > 0 && opt.MaxLen > m.Config.MaxPositions {
		opt.MaxLen = m.Config.MaxPositions
	}
	eos := genconfig.EndOfTurnIDs(m.Config.EOS, gen, chat.Tmpl.Special["eos_token"], chat.Tok)
	ds, err := NewDataset(chat, convs, eos, opt.MaxLen)
	if err != nil {
		return nil, "", err
	}
	return ds, hex.EncodeToString(h.Sum(nil))[:16], nil
}
