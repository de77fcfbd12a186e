package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"

	"github.com/infty-dev/infty/app"
	"github.com/infty-dev/infty/session"
	"github.com/infty-dev/infty/session/format"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

func init() {
	addCommand(newSolveCmd)
	addCommand(newCurateCmd)
	addCommand(newExportCmd)
}

// sessionFlags are the flags of commands that run the engine.
type sessionFlags struct {
	app.RunSpec
	engine engineFlags
	flags  *pflag.FlagSet // to tell flags given from defaults
}

func (f *sessionFlags) register(cmd *cobra.Command, withModel bool) {
	fl := cmd.Flags()
	f.flags = fl
	s := &f.RunSpec
	if withModel {
		fl.StringVar(&s.Model, "model", "", "model: a folder, a hub id ORG/NAME[@REV] or a cache path (default: the embedded model)")
		fl.StringVar(&s.Mode, "mode", "native", "how iterations are driven: native (the model writes <summary> itself) or scaffold (the engine cuts at η, a summarizer summarizes)")
		fl.IntVar(&s.Phi, "phi", 0, fmt.Sprintf("maximum number of iterations φ; the φ-th concludes (default %d)", session.DefaultPhi))
		fl.IntVar(&s.ConclusionMax, "conclusion-max", 0, fmt.Sprintf("bound on the conclusion in tokens (default %d)", session.DefaultConclusionMax))
		fl.StringVar(&s.Answer, "answer", "", "reference answer: the final \\boxed{} answer is verified against it")
	}
	fl.StringVar(&s.Summarizer, "summarizer", "", "model that writes scaffold/curate summaries (default: the model itself); with an engine, its served name")
	f.engine.register(fl)
	fl.StringVar(&s.SummarizerEngine, "summarizer-engine", "", "inference server of the summarizer (default: --engine's)")
	fl.StringVar(&s.SummarizerTokenizer, "summarizer-tokenizer", "", "the summarizer's tokenizer on an engine (default: --tokenizer on the same engine, else its served name in the Hugging Face cache)")
	fl.StringVar(&s.Backend, "backend", "", "compute backend (default: $INFTY_BACKEND, else the pure-Go \"go\")")
	app.AddBatchFlags(fl, &s.Batch)
	fl.BoolVar(&s.Pull, "pull", false, "download a hub model that is not in the cache")
	fl.IntVar(&s.Eta, "eta", 0, fmt.Sprintf("reasoning budget η of one iteration in tokens (default %d, less when the model's window is smaller)", session.DefaultEta))
	fl.IntVar(&s.SummaryMax, "summary-max", 0, fmt.Sprintf("bound on a summary in tokens (default %d)", session.DefaultSummaryMax))
	fl.Float64Var(&s.Sampling.Temperature, "temperature", 0, "sampling temperature (0 = greedy); without --temperature/--top-k/--top-p the model's generation_config.json decides (greedy when it has none)")
	fl.IntVar(&s.Sampling.TopK, "top-k", 0, "top-k sampling (0 = off)")
	fl.Float64Var(&s.Sampling.TopP, "top-p", 0, "top-p sampling (0 or 1 = off)")
	fl.Uint64Var(&s.Sampling.Seed, "seed", 0, "sampler seed (iteration i uses a seed derived from it)")
	fl.StringVar(&s.Format, "format", "text", "output: text, or jsonl (one event per line)")
	fl.StringVar(&s.LogPath, "log", "", "trajectory log to append to (default: a per-user file, see infty export --help)")
	fl.StringVar(&s.Step1Prompt, "step1-prompt", "", "file replacing the summarizer's first-segment prompt")
	fl.StringVar(&s.Step2Prompt, "step2-prompt", "", "file replacing the summarizer's later-segment prompt")
	fl.StringVar(&s.ContinuePrompt, "continue-prompt", "", "file replacing the scaffold's request to continue from the history")
}

// spec is the run the flags ask for, once they are parsed.
func (f *sessionFlags) spec() *app.RunSpec {
	f.SamplingGiven = f.flags.Changed("temperature") || f.flags.Changed("top-k") || f.flags.Changed("top-p")
	f.Engine = f.engine.spec()
	return &f.RunSpec
}

// signalContext ends on Ctrl-C or SIGTERM, so a run stops cleanly with its log intact.
func signalContext(cmd *cobra.Command) (context.Context, context.CancelFunc) {
	return signal.NotifyContext(cmdContext(cmd), os.Interrupt, syscall.SIGTERM)
}

// readQuestion is the question of the arguments, or stdin's when it is "-".
func readQuestion(cmd *cobra.Command, question string) (string, error) {
	if question != "-" {
		return question, nil
	}
	b, err := io.ReadAll(cmd.InOrStdin())
	return strings.TrimSpace(string(b)), err
}

func newSolveCmd() *cobra.Command {
	var f sessionFlags
	cmd := &cobra.Command{
		Use:   "solve [flags] QUESTION",
		Short: "Solve a question in bounded iterations, streaming them (text, or JSON Lines events)",
		Long: "solve runs the InftyThink+ engine headless on one question (use - to read it from stdin).\n\n" +
			"native: the model writes " + format.SummaryOpen + " to continue and a conclusion to finish; the engine pre-fills\n" +
			format.HistoryOpen + ", forces " + strconv.Quote(format.ForcedBoundary) + " when η runs out and asks for the conclusion at φ.\n" +
			"scaffold: for models not trained in this format; the engine cuts the reasoning at the last\n" +
			"paragraph break before η and a summarizer writes the cumulative summary.\n\n" +
			"With --format jsonl each line is one event with a \"type\": iteration_start, delta, summary,\n" +
			"reasoning, iteration_end, stats, answer, done, error. Every finished iteration is appended to the\n" +
			"trajectory log (fsynced), which `infty export` turns into SFT data.",
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			question, err := readQuestion(cmd, strings.Join(args, " "))
			if err != nil {
				return err
			}
			if strings.TrimSpace(question) == "" {
				return errors.New("empty question")
			}
			ctx, cancel := signalContext(cmd)
			defer cancel()
			return app.Solve(ctx, f.spec(), question, cmd.OutOrStdout(), cmd.ErrOrStderr())
		},
	}
	f.register(cmd, true)
	return cmd
}

func newCurateCmd() *cobra.Command {
	var f sessionFlags
	var input string
	cmd := &cobra.Command{
		Use:   "curate --input FILE [flags]",
		Short: "Turn long reasoning traces into summarized InftyThink+ trajectories in the log",
		Long: "curate reads JSON Lines {\"question\", \"reasoning\", \"answer\"?, \"reference\"?}, splits each reasoning\n" +
			"with the cold-start heuristic (paragraphs on \"\\n\\n\", lowercase starts merged, packed until η\n" +
			"tokens; a trace with one paragraph over η+500 tokens is skipped), has the summarizer write the\n" +
			"cumulative summary after every segment but the last, and appends each trajectory to the log\n" +
			"(mode \"curate\"), where it can be reviewed, edited and exported.\n\n" +
			"Rerun on the same input and --log, it skips the traces the log already holds finished (each\n" +
			"run records its trace's line and a hash of its question and reasoning), so an interrupted\n" +
			"curation carries on. Results are reported in input order whatever --parallel is.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx, cancel := signalContext(cmd)
			defer cancel()
			return app.Curate(ctx, f.spec(), input, cmd.OutOrStdout(), cmd.ErrOrStderr())
		},
	}
	cmd.Flags().StringVar(&input, "input", "", "JSON Lines file of traces")
	cmd.Flags().IntVar(&f.Parallel, "parallel", 1, "traces summarized at once (an engine batches them)")
	_ = cmd.MarkFlagRequired("input")
	f.register(cmd, false)
	return cmd
}

func newExportCmd() *cobra.Command {
	var logs []string
	var o app.ExportOptions
	cmd := &cobra.Command{
		Use:   "export [--log FILE]... [--only edited|correct] [--layout chat|flat] [--branches current|all|N]",
		Short: "Write cold-start SFT data (JSON Lines) from trajectory logs to stdout",
		Long: "export writes one example per iteration of the selected trajectories.\n\n" +
			"chat (default): {\"messages\":[{\"role\":\"user\",\"content\":q},{\"role\":\"assistant\",\"content\":\n" +
			strconv.Quote(format.Iteration{Index: 2, History: "…", Reasoning: "…", Summary: "…"}.Render()) + "}], \"no_loss_prefix_bytes\": N,\n" +
			"\"no_loss_prefix_chars\": M, \"run\", \"branch\", \"iteration\", \"final\", \"edited\", \"mode\", \"model\"}: the first N\n" +
			"bytes (M code points) of the assistant content are the pre-filled " + format.HistoryOpen + " block, not trained on.\n" +
			"flat: {\"question\", \"history\", \"reasoning_process\", \"summary\", \"conclusion\", …}.\n\n" +
			"Without --log, every *.jsonl in the per-user log folder ($XDG_DATA_HOME/infty/logs, else\n" +
			"~/.local/share/infty/logs) is read.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return app.Export(logs, o, cmd.OutOrStdout(), cmd.ErrOrStderr())
		},
	}
	cmd.Flags().StringArrayVar(&logs, "log", nil, "trajectory log to read (repeatable)")
	cmd.Flags().StringVar((*string)(&o.Only), "only", "", "keep only edited or correct (verified) trajectories")
	cmd.Flags().StringVar((*string)(&o.Layout), "layout", "chat", "chat (InftyThink+ messages) or flat (InftyThink fields)")
	cmd.Flags().StringVar(&o.Branches, "branches", "current", "current (each run's branch shown last), all, or a branch number")
	cmd.Flags().BoolVar(&o.Unfinished, "unfinished", false, "include trajectories that never reached a conclusion")
	return cmd
}
