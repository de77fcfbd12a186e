package main

import (
	"errors"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"strings"

	"github.com/infty-dev/infty/app"
	"github.com/infty-dev/infty/train"
	"github.com/infty-dev/infty/train/rl"
	"github.com/spf13/cobra"
)

func newTrainRLCmd() *cobra.Command {
	var (
		o                 rl.Options
		synthetic, quiet  bool
		length, modelRef  string
		seed              uint64
		saveDType, reward string
	)
	cmd := &cobra.Command{
		Use:   "rl --model DIR (--synthetic [--length MIN-MAX] | --data problems.jsonl) --out DIR",
		Short: "Reinforcement learning over whole iterative trajectories (InftyThink+'s GRPO)",
		Long: "Each step draws --batch questions and rolls each out --group times through the session " +
			"engine in native mode (η and φ as given), sampling at --temperature from the weights being " +
			"trained, all rollouts of a step batched in the embedded runtime. Reward R = R_task · R_eff: " +
			"R_task is 1 when the final \\boxed{} answer verifies (0 when it does not, or the run broke the " +
			"format), R_eff = 1 − ((n−1)/φ)² for n iterations with --reward task+eff, 1 with --reward task. " +
			"Advantage (R − group mean) / (group std + 1e-6); groups whose rewards are all equal are " +
			"skipped. Every token the model sampled in every iteration (reasoning, summary, conclusion; " +
			"not the user turn, the pre-filled <history> or the text the engine forces) carries its " +
			"trajectory's advantage in a token-level mean of −min(ρA, clip(ρ, 1−ε_low, 1+ε_high)A), ρ the " +
			"ratio to the rollout's recorded log-probabilities; --kl adds β·KL to the starting model.\n\n" +
			"--data reads {\"question\", \"answer\"} lines; --synthetic draws problems of the embedded " +
			"models' task from --seed (bench uses 777 and 4242, the cold start 1: pick another). " +
			"Checkpoints go to OUT/checkpoint-NNNNNN as `train sft` writes them (running the same command " +
			"again resumes); OUT/metrics.jsonl gets one line per step (reward, accuracy, iterations, " +
			"tokens, entropy, clip fraction, KL, skipped groups, rollout and update seconds); " +
			"`infty train plot OUT` charts it.",
		Example: "  infty train rl --model runtime/tinymodel/model --synthetic --length 1-60 --seed 31 \\\n" +
			"      --out ./rl --steps 60 --batch 8 --group 8 --reward task+eff",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if synthetic == (o.Data != "") {
				return errors.New("give exactly one of --synthetic and --data FILE")
			}
			if synthetic {
				for _, part := range strings.Split(length, ",") {
					lo, hi, err := app.ParseLength(part)
					if err != nil {
						return err
					}
					o.Lengths = append(o.Lengths, rl.LengthRange{Min: lo, Max: hi})
				}
			}
			o.Model, o.Train.Seed, o.Train.SaveDType, o.Reward = modelRef, seed, strings.ToUpper(saveDType), reward
			if o.Train.MinLR == 0 {
				o.Train.MinLR = o.Train.LR // a constant rate unless asked otherwise
			}
			if err := o.Check(); err != nil {
				return err
			}
			dir, err := resolveModel(cmdContext(cmd), modelRef, false)
			if err != nil {
				return err
			}
			o.Model = dir
			o.Log = cmd.ErrOrStderr()
			if !quiet {
				o.Progress = func(done, steps int) rl.Progress { return rlView{app.NewTrainView(o.Log, done, steps)} }
			}
			ctx, stop := signal.NotifyContext(cmdContext(cmd), os.Interrupt)
			defer stop()
			return rl.Run(ctx, o)
		},
	}
	f := cmd.Flags()
	f.StringVar(&modelRef, "model", "", "model to start from: a folder, a hub id ORG/NAME[@REV] or a cache path")
	f.StringVar(&o.Out, "out", "", "output folder for checkpoints and metrics.jsonl (resumed when it holds some)")
	f.BoolVar(&synthetic, "synthetic", false, "train on synthetic problems of the embedded models' task")
	f.StringVar(&length, "length", "1-60", "with --synthetic: steps of each problem, L or MIN-MAX; several comma-separated ranges take turns, question by question (e.g. 11-20,21-60: half of each)")
	f.StringVar(&o.Data, "data", "", "problems, JSON Lines of {\"question\": ..., \"answer\": ...}")
	f.IntVar(&o.Groups, "batch", 8, "B: questions per step")
	f.IntVar(&o.G, "group", 8, "G: rollouts per question")
	f.Float64Var(&o.Temperature, "temperature", 1, "sampling temperature of the rollouts (and of the trained log-probabilities)")
	f.StringVar(&reward, "reward", rl.RewardTask, "task (R_task) or task+eff (R_task · R_eff)")
	f.Float64Var(&o.Objective.Low, "clip-low", 0.2, "ε_low: the ratio's lower clip is 1 − ε_low")
	f.Float64Var(&o.Objective.High, "clip-high", 0.28, "ε_high: the ratio's upper clip is 1 + ε_high")
	f.Float64Var(&o.Objective.KL, "kl", 0, "coefficient of the KL term to the starting model (0: off)")
	f.IntVar(&o.Eta, "eta", 0, "η: reasoning budget of one iteration (default: half the window)")
	f.IntVar(&o.Phi, "phi", rl.DefaultPhi, "φ: maximum iterations (bench's default)")
	f.IntVar(&o.Parallel, "parallel", 0, "rollouts in flight at once (0: all of a step's); a run's bits follow the seed and this")
	app.SizeVar(f, &o.UpdateMemory, "update-memory", "memory for the update of one micro-batch, e.g. 2GiB (a bare number is MiB; default 4GiB, or a quarter of the available memory where less): longer sequences train fewer at a time, and one that does not fit alone stops the run")
	f.IntVar(&o.Train.Steps, "steps", 100, "RL steps (one optimizer update each)")
	f.Float64Var(&o.Train.LR, "lr", 1e-3, "learning rate")
	f.Float64Var(&o.Train.MinLR, "min-lr", 0, "final learning rate of the cosine (default: --lr, a constant rate)")
	f.IntVar(&o.Train.Warmup, "warmup", 0, "linear warmup steps")
	f.Float64Var(&o.Train.WeightDecay, "weight-decay", 0, "AdamW weight decay (matrices only)")
	f.Float64Var(&o.Train.ClipNorm, "clip", 1, "clip the global gradient norm to this (0: off)")
	f.Float64Var(&o.Train.Beta2, "beta2", 0.95, "AdamW β2")
	f.Uint64Var(&seed, "seed", 31, "seed of the questions and the rollouts (bench draws from 777 and 4242, the cold start from 1)")
	f.IntVar(&o.Train.SaveEvery, "save-every", 10, "checkpoint every this many steps (and at the end)")
	f.IntVar(&o.Train.StopAt, "stop-at", 0, "stop (with a checkpoint) after this step, before --steps; run again to go on")
	f.StringVar(&saveDType, "save-dtype", "f32", "dtype of checkpoint weights: f32 or bf16 (optimizer state is always f32)")
	f.StringVar(&o.Backend, "backend", "", "compute backend: go (default), cuda, xla:PLUGIN")
	f.BoolVar(&quiet, "quiet", false, "no progress display")
	return cmd
}

// rlView shows an RL step on the training progress display, with its reward.
type rlView struct{ v *app.TrainView }

func (r rlView) Step(s train.StepStats, note string) { r.v.StepNote(s, note) }
func (r rlView) Done()                               { r.v.Done() }

func newTrainPlotCmd() *cobra.Command {
	var (
		series string
		width  int
		png    string
	)
	cmd := &cobra.Command{
		Use:   "plot OUT|metrics.jsonl...",
		Short: "Chart a training run's per-step metrics in the terminal or as a PNG",
		Long: "One sparkline per series of OUT/metrics.jsonl (what `infty train rl` writes), steps averaged " +
			"into at most --width columns, with each series' first, lowest, highest and last value. " +
			"With --png FILE: one panel per series against the step instead, each step's value and " +
			"(from 20 steps on) its moving mean, written to FILE. Several runs (the stages of a recipe) " +
			"are charted one after another.",
		Example: "  infty train plot ./rl\n  infty train plot ./rl --series reward_mean,acc,iters\n" +
			"  infty train plot ./rl --png rl.png\n  infty train plot ./rl-a ./rl-b ./rl-c --png stages.png",
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			paths := make([]string, len(args))
			for i, path := range args {
				if st, err := os.Stat(path); err == nil && st.IsDir() {
					path = filepath.Join(path, rl.MetricsFile)
				}
				paths[i] = path
			}
			if png != "" {
				if err := app.PlotMetricsPNG(paths, strings.Split(series, ","), png); err != nil {
					return err
				}
				fmt.Fprintf(cmd.OutOrStdout(), "wrote %s\n", png)
				return nil
			}
			return app.PlotMetrics(cmd.OutOrStdout(), paths, strings.Split(series, ","), width)
		},
	}
	cmd.Flags().StringVar(&series, "series", "reward_mean,acc,failed,iters,tokens,entropy,clip_frac,skipped_groups,rollout_s,update_s",
		"metrics to chart, comma-separated")
	cmd.Flags().IntVar(&width, "width", 60, "most columns of a sparkline")
	cmd.Flags().StringVar(&png, "png", "", "write the chart as a PNG image to this file instead")
	return cmd
}
