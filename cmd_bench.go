package main

import (
	"errors"
	"fmt"

	"github.com/infty-dev/infty/app"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

func init() { addCommand(newBenchCmd) }

func newBenchCmd() *cobra.Command {
	var (
		synthetic               bool
		n                       int
		length, dataset, format string
		o                       app.BenchOptions
		engine                  engineFlags
	)
	cmd := &cobra.Command{
		Use:   "bench (--synthetic [--seed S] [--n N] [--length L|MIN-MAX] | --dataset FILE.jsonl)",
		Short: "Accuracy, tokens, latency and iterations of iterative vs vanilla reasoning",
		Long: "bench solves a problem set twice — iteratively (the InftyThink+ engine, native mode) and " +
			"as one plain chain of thought in the model's window (vanilla) — and prints the columns of " +
			"the InftyThink+ results table: accuracy (percent), average generated tokens, average " +
			"latency (seconds) and average iterations.\n\n" +
			"--synthetic draws problems of the task the embedded models were trained on (\"a=4 d=3 x=5 n=34. " +
			"Do n steps: d=d+a, x=x+d (mod 10). x=?\") from a seed never used in training; --length sets their " +
			"steps. x after n steps repeats with period 20 in n, so a problem of n steps is one of n mod 20 " +
			"in disguise; the default lengths, 28-39, keep even that shorter chain (8-19 steps) beyond " +
			"the plain chain of thought that fits the 256-token window (7 steps). --dataset " +
			"reads {\"question\", \"answer\"} lines (e.g. AIME-style). By default the iterative mode runs " +
			"the embedded default model and the vanilla mode the embedded baseline trained with the " +
			"same size, window and budget on plain chains of thought.\n\n" +
			"With --engine the iterative mode runs --model as that server serves it, and the vanilla mode " +
			"runs there too when --vanilla-model names a served model (\"same\": --model).",
		Example: "  infty bench --synthetic --seed 777 --n 40\n  infty bench --dataset aime24.jsonl --model deepseek-ai/DeepSeek-R1-Distill-Qwen-1.5B --vanilla-model same --format json",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if synthetic == (dataset != "") {
				return errors.New("give exactly one of --synthetic and --dataset FILE")
			}
			if format != "table" && format != "json" {
				return fmt.Errorf("invalid --format %q: want table or json", format)
			}
			problems, err := app.BenchProblems(dataset, o.Seed, n, length)
			if err != nil {
				return err
			}
			o.Engine = engine.spec()
			o.Warn = func(msg string) { fmt.Fprintln(cmd.ErrOrStderr(), "warning:", msg) }
			ctx, stop := signalContext(cmd)
			defer stop()
			return app.Bench(ctx, o, problems, format, cmd.OutOrStdout(), cmd.ErrOrStderr())
		},
	}
	f := cmd.Flags()
	f.BoolVar(&synthetic, "synthetic", false, "benchmark on synthetic problems")
	f.IntVar(&n, "n", 40, "number of problems (with --dataset: the first N; 0 for all)")
	f.StringVar(&length, "length", "28-39", "steps of each synthetic problem: L or MIN-MAX")
	f.StringVar(&dataset, "dataset", "", "JSON Lines of {\"question\": ..., \"answer\": ...}")
	f.StringVar(&format, "format", "table", "table or json ({\"rows\": [{\"mode\", \"acc\", \"tok\", \"lat\", \"iters\"}, ...]})")
	registerBenchOptions(f, &o)
	engine.register(f)
	return cmd
}

// registerBenchOptions defines the flags that set app.BenchOptions.
func registerBenchOptions(f *pflag.FlagSet, o *app.BenchOptions) {
	f.Uint64Var(&o.Seed, "seed", 777, "seed of the synthetic problems (and of sampling when --temperature > 0)")
	f.StringVar(&o.Model, "model", "", "model of the iterative mode (default: the embedded model; with --engine, the served name)")
	f.StringVar(&o.VanillaModel, "vanilla-model", "", "model of the vanilla mode (default: the embedded baseline; \"same\": --model)")
	f.StringVar(&o.Modes, "modes", "iterative,vanilla", "modes to run, comma-separated")
	f.StringVar(&o.Backend, "backend", "", "compute backend: go (default), cuda, xla:PLUGIN")
	app.AddBatchFlags(f, &o.Batch)
	f.IntVar(&o.Eta, "eta", 0, "η: reasoning budget of one iteration (default: half the window, at most 6144)")
	f.IntVar(&o.Phi, "phi", 16, "φ: maximum iterations (not solve's 10: the embedded model works at most 5 steps per iteration, so 16 leaves room for --length up to 75)")
	f.Float64Var(&o.Temperature, "temperature", 0, "sampling temperature (0: greedy)")
	f.IntVar(&o.Parallel, "parallel", 1, "problems in flight at once; the table is the same for any value at temperature 0")
}
