package main

import (
	"errors"
	"fmt"
	"os"
	"os/signal"
	"strings"

	"github.com/infty-dev/infty/app"
	"github.com/infty-dev/infty/session/synth"
	"github.com/infty-dev/infty/train"
	"github.com/infty-dev/infty/train/sft"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

func init() { addCommand(newTrainCmd) }

func newTrainCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "train",
		Short: "Fine-tune models on exported trajectories, and make synthetic training data",
	}
	cmd.AddCommand(newTrainSFTCmd(), newTrainRLCmd(), newTrainPlotCmd(), newTrainSynthCmd(), newTrainExportCmd())
	return cmd
}

func newTrainSFTCmd() *cobra.Command {
	var (
		o                   sft.Options
		seed                uint64
		saveDType, modelRef string
		quiet               bool
	)
	cmd := &cobra.Command{
		Use:   "sft --data FILE.jsonl --out DIR (--model DIR | --init-config config.json --tokenizer DIR)",
		Short: "Supervised fine-tuning on chat JSON Lines (the layout `infty export` writes)",
		Long: "Train a Qwen2/Qwen3 model on conversations, one JSON object per line: " +
			"{\"messages\": [{\"role\": \"user\", ...}, {\"role\": \"assistant\", ...}], ...}. Only the last " +
			"(assistant) message is trained on, through its end-of-turn token; the user turn and the " +
			"pre-filled <history> block (the export's no_loss_prefix_bytes, or a leading <history>…</history>) " +
			"are context only.\n\n" +
			"AdamW with linear warmup and cosine decay to --min-lr, global gradient-norm clipping. " +
			"Checkpoints go to DIR/checkpoint-NNNNNN: Hugging Face model folders (config.json, " +
			"model.safetensors, tokenizer files) that infty and transformers load, plus the optimizer " +
			"state. Running the same command again resumes from the latest checkpoint (refused when the " +
			"data, options or starting weights differ from the run's); a run is " +
			"deterministic for a seed. Ctrl-C saves a checkpoint before exiting.",
		Example: "  infty export --format chat runs.jsonl > sft.jsonl\n" +
			"  infty train sft --data sft.jsonl --model ./my-model --out ./ft --steps 500 --lr 1e-5\n" +
			"  infty train sft --data synth.jsonl --init-config runtime/tinymodel/recipe/config.json \\\n" +
			"      --tokenizer runtime/tinymodel/recipe --out ./tiny --steps 400 --lr 5e-3",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			o.Model, o.Train.Seed, o.Train.SaveDType = modelRef, seed, strings.ToUpper(saveDType)
			if err := o.Check(); err != nil {
				return err
			}
			if modelRef != "" {
				dir, err := resolveModel(cmdContext(cmd), modelRef, false)
				if err != nil {
					return err
				}
				o.Model = dir
			}
			o.Log = cmd.ErrOrStderr()
			if !quiet {
				o.Progress = func(done, steps int) sft.Progress { return app.NewTrainView(o.Log, done, steps) }
			}
			ctx, stop := signal.NotifyContext(cmdContext(cmd), os.Interrupt)
			defer stop()
			return sft.Run(ctx, o)
		},
	}
	f := cmd.Flags()
	f.StringArrayVar(&o.Data, "data", nil, "training data, JSON Lines (repeatable)")
	f.StringVar(&o.Out, "out", "", "output folder for checkpoints (resumed when it holds some)")
	f.StringVar(&modelRef, "model", "", "model to fine-tune: a folder, a hub id ORG/NAME[@REV] or a cache path")
	f.StringVar(&o.InitConfig, "init-config", "", "train from random initialisation with this config.json")
	f.StringVar(&o.Tokenizer, "tokenizer", "", "with --init-config: folder with tokenizer.json and tokenizer_config.json")
	optimizerFlags(f, &o.Train)
	f.Uint64Var(&seed, "seed", 1, "seed of the batch order and of random initialisation")
	f.IntVar(&o.Train.MaxLen, "max-len", 0, "drop conversations longer than this many tokens (default: the model's window)")
	app.SizeVar(f, &o.UpdateMemory, "update-memory", "most memory one step's update may need, e.g. 8GiB (a bare number is MiB; default half the available memory): a run whose longest batch would need more, by an estimate from the model's shape, is refused before it starts")
	f.IntVar(&o.Train.StopAt, "stop-at", 0, "stop (with a checkpoint) after this step, before --steps; run again to go on")
	f.IntVar(&o.Train.SaveEvery, "save-every", 100, "checkpoint every this many steps (and at the end)")
	f.StringVar(&saveDType, "save-dtype", "f32", "dtype of checkpoint weights: f32 or bf16 (optimizer state is always f32)")
	f.StringVar(&o.Export, "export", "", "at the end, also write the model alone (no optimizer state) to this folder")
	f.StringVar(&o.Backend, "backend", "", "compute backend: go (default), cuda, xla:PLUGIN")
	f.BoolVar(&quiet, "quiet", false, "no progress display")
	return cmd
}

// optimizerFlags binds the flags of the optimizer and its schedule.
func optimizerFlags(f *pflag.FlagSet, opt *train.Options) {
	f.IntVar(&opt.Steps, "steps", 1000, "optimizer steps")
	f.IntVar(&opt.BatchSize, "batch-size", 16, "conversations per step")
	f.Float64Var(&opt.LR, "lr", 1e-3, "peak learning rate")
	f.Float64Var(&opt.MinLR, "min-lr", 0, "final learning rate of the cosine (default lr/10)")
	f.IntVar(&opt.Warmup, "warmup", 20, "linear warmup steps")
	f.Float64Var(&opt.WeightDecay, "weight-decay", 0.01, "AdamW weight decay (matrices only)")
	f.Float64Var(&opt.ClipNorm, "clip", 1, "clip the global gradient norm to this (0: off)")
	f.Float64Var(&opt.Beta2, "beta2", 0.95, "AdamW β2")
}

func newTrainSynthCmd() *cobra.Command {
	var (
		mode                  string
		seed                  uint64
		n, minLen, maxLen, st int
		out                   string
		shuffle               bool
	)
	cmd := &cobra.Command{
		Use:   "synth --mode iterative|vanilla --out FILE.jsonl",
		Short: "Write synthetic cold-start data (the task infty's default model is trained on)",
		Long: "Problems of session/synth (\"a=4 d=3 x=5 n=24. Do n steps: d=d+a, x=x+d (mod 10). x=?\") with " +
			"worked solutions, as chat JSON Lines for `infty train sft`: iterative writes one example " +
			"per InftyThink+ iteration (summary whenever the steps left are a multiple of --stride), " +
			"vanilla one plain chain of thought per problem.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if out == "" {
				return errors.New("--out is required")
			}
			ps, ex, err := synth.WriteFile(out, synth.FileOptions{Seed: seed, N: n, MinLen: minLen, MaxLen: maxLen,
				Mode: synth.Mode(mode), Stride: st, Shuffle: shuffle})
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.ErrOrStderr(), "%d problems, %d examples → %s\n", ps, ex, out)
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&mode, "mode", "iterative", "iterative (InftyThink+ iterations) or vanilla (one chain of thought)")
	f.Uint64Var(&seed, "seed", 1, "problem seed")
	f.IntVar(&n, "n", 1000, "number of problems")
	f.IntVar(&minLen, "min-len", 1, "fewest steps of a problem")
	f.IntVar(&maxLen, "max-len", 60, "most steps of a problem")
	f.IntVar(&st, "stride", synth.DefaultStride, "steps per iteration (iterative mode)")
	f.StringVar(&out, "out", "", "output file")
	f.BoolVar(&shuffle, "shuffle", false, "shuffle the examples (seeded)")
	return cmd
}

func newTrainExportCmd() *cobra.Command {
	var dtype string
	cmd := &cobra.Command{
		Use:   "export CHECKPOINT OUT",
		Short: "Write a checkpoint's model alone (no optimizer state) as a model folder, in F32 or BF16",
		Args:  cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			m, err := train.LoadModel(args[0])
			if err != nil {
				return err
			}
			if err := os.MkdirAll(args[1], 0o755); err != nil {
				return err
			}
			return train.WriteModel(args[1], m, m.Params, strings.ToUpper(dtype))
		},
	}
	cmd.Flags().StringVar(&dtype, "dtype", "bf16", "f32 or bf16")
	return cmd
}
