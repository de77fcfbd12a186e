package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/infty-dev/infty/llm"
	"github.com/infty-dev/infty/runtime"
	"github.com/infty-dev/infty/runtime/tinymodel"
	"github.com/infty-dev/infty/session"
	"github.com/infty-dev/infty/session/sft"
	"github.com/infty-dev/infty/session/synth"
	"github.com/infty-dev/infty/session/trajlog"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

func init() {
	addCommand(newSolveCmd)
	addCommand(newCurateCmd)
	addCommand(newExportCmd)
}

// loadSessionModel is how every session command (solve, curate, the workbench, bench) gets a
// model: name empty means the embedded default model; otherwise resolveModel (hub id, folder or
// cache path). The returned model carries the name the user gave, for the logs.
func loadSessionModel(ctx context.Context, name, backend string, pull bool) (*runtime.Engine, error) {
	var dir string
	var err error
	if name == "" {
		dir, err = tinymodel.Dir(tinymodel.Iterative)
		if err != nil {
			if errors.Is(err, tinymodel.ErrNotBuilt) {
				return nil, errors.New("no --model given and this binary carries no embedded default model; pass --model DIR or ORG/NAME")
			}
			return nil, err
		}
		name = "infty-tiny"
	} else if dir, err = resolveModel(ctx, name, pull); err != nil {
		return nil, err
	}
	var m *runtime.Engine
	func() {
		defer func() {
			if r := recover(); r != nil {
				err = fmt.Errorf("loading %s: %v", name, r)
			}
		}()
		m, err = runtime.Open(dir, name, runtime.WithBackend(backend))
	}()
	return m, err
}

// sessionFlags are the flags of commands that run the engine.
type sessionFlags struct {
	model, summarizer, backend  string
	pull                        bool
	mode                        string
	eta, phi, summaryMax, concl int
	temperature, topP           float64
	topK                        int
	seed                        uint64
	answer, format, log         string
	step1, step2, cont          string
	flags                       *pflag.FlagSet // to tell flags given from defaults
}

func (f *sessionFlags) register(cmd *cobra.Command, withModel bool) {
	fl := cmd.Flags()
	f.flags = fl
	if withModel {
		fl.StringVar(&f.model, "model", "", "model: a folder, a hub id ORG/NAME[@REV] or a cache path (default: the embedded model)")
		fl.StringVar(&f.mode, "mode", "native", "how iterations are driven: native (the model writes <summary> itself) or scaffold (the engine cuts at η, a summarizer summarizes)")
		fl.IntVar(&f.phi, "phi", 0, fmt.Sprintf("maximum number of iterations φ; the φ-th concludes (default %d)", session.DefaultPhi))
		fl.IntVar(&f.concl, "conclusion-max", 0, fmt.Sprintf("bound on the conclusion in tokens (default %d)", session.DefaultConclusionMax))
		fl.StringVar(&f.answer, "answer", "", "reference answer: the final \\boxed{} answer is verified against it")
	}
	fl.StringVar(&f.summarizer, "summarizer", "", "model that writes scaffold/curate summaries (default: the model itself)")
	fl.StringVar(&f.backend, "backend", "", "compute backend (default: $INFTY_BACKEND, else the pure-Go \"go\")")
	fl.BoolVar(&f.pull, "pull", false, "download a hub model that is not in the cache")
	fl.IntVar(&f.eta, "eta", 0, fmt.Sprintf("reasoning budget η of one iteration in tokens (default %d, less when the model's window is smaller)", session.DefaultEta))
	fl.IntVar(&f.summaryMax, "summary-max", 0, fmt.Sprintf("bound on a summary in tokens (default %d)", session.DefaultSummaryMax))
	fl.Float64Var(&f.temperature, "temperature", 0, "sampling temperature (0 = greedy); without --temperature/--top-k/--top-p the model's generation_config.json decides (greedy when it has none)")
	fl.IntVar(&f.topK, "top-k", 0, "top-k sampling (0 = off)")
	fl.Float64Var(&f.topP, "top-p", 0, "top-p sampling (0 or 1 = off)")
	fl.Uint64Var(&f.seed, "seed", 0, "sampler seed (iteration i uses a seed derived from it)")
	fl.StringVar(&f.format, "format", "text", "output: text, or jsonl (one event per line)")
	fl.StringVar(&f.log, "log", "", "trajectory log to append to (default: a per-user file, see `infty export --help`)")
	fl.StringVar(&f.step1, "step1-prompt", "", "file replacing the summarizer's first-segment prompt")
	fl.StringVar(&f.step2, "step2-prompt", "", "file replacing the summarizer's later-segment prompt")
	fl.StringVar(&f.cont, "continue-prompt", "", "file replacing the scaffold's request to continue from the history")
}

// modelSampling replaces the sampling of cfg with the model's own defaults (its
// generation_config.json, as transformers reads it) unless a sampling flag was given, so a model
// runs as its authors meant it to by default (DeepSeek-R1-Distill: T=0.6, top-p 0.95; the
// embedded model: greedy).
func (f *sessionFlags) modelSampling(cfg *session.Config, m *runtime.Engine) {
	if fl := f.flags; fl != nil && (fl.Changed("temperature") || fl.Changed("top-k") || fl.Changed("top-p")) {
		return
	}
	s := m.DefaultSampling()
	s.Seed = cfg.Sampling.Seed
	cfg.Sampling = s
}

// config turns the flags into an engine Config; window is the model's context length (0 when
// unknown), used to shrink defaults that would not fit it.
func (f *sessionFlags) config(window int) (session.Config, error) {
	switch f.format {
	case "text", "jsonl":
	default:
		return session.Config{}, fmt.Errorf("invalid --format %q: want text or jsonl", f.format)
	}
	cfg := session.Config{Mode: session.Mode(f.mode), Eta: f.eta, Phi: f.phi, SummaryMax: f.summaryMax, ConclusionMax: f.concl,
		Sampling:  llm.Sampling{Temperature: f.temperature, TopK: f.topK, TopP: f.topP, Seed: f.seed},
		Reference: f.answer}
	for _, v := range []struct {
		name string
		n    int
	}{{"--eta", f.eta}, {"--phi", f.phi}, {"--summary-max", f.summaryMax}, {"--conclusion-max", f.concl}} {
		if v.n < 0 {
			return cfg, fmt.Errorf("invalid %s %d: must be positive", v.name, v.n)
		}
	}
	if window > 0 {
		// Defaults made for long-context models would overflow a small window: an iteration holds
		// the question, the history (≤ summary bound), η and the summary or conclusion, which the
		// engine checks up front. Defaults take at most 1/11, 1/2 (less 4) and 1/11 of the window,
		// leaving about a third for the question (the embedded 256-token model's prompts are 79).
		if cfg.SummaryMax == 0 {
			cfg.SummaryMax = max(min(session.DefaultSummaryMax, window/11), 1)
		}
		if cfg.ConclusionMax == 0 {
			cfg.ConclusionMax = max(min(session.DefaultConclusionMax, window/11), 1)
		}
		if cfg.Eta == 0 {
			cfg.Eta = max(min(session.DefaultEta, window/2-4), 1)
		}
	}
	for _, p := range []struct {
		path string
		dst  *string
		flag string
	}{{f.step1, &cfg.Step1Prompt, "--step1-prompt"}, {f.step2, &cfg.Step2Prompt, "--step2-prompt"}, {f.cont, &cfg.ContinuePrompt, "--continue-prompt"}} {
		if p.path == "" {
			continue
		}
		s, err := session.ReadPrompt(p.path)
		if err != nil {
			return cfg, fmt.Errorf("invalid %s: %w", p.flag, err)
		}
		*p.dst = s
	}
	path := f.log
	if path == "" {
		var err error
		if path, err = trajlog.DefaultPath(time.Now()); err != nil {
			return cfg, err
		}
	}
	cfg.LogPath = path
	return cfg, nil
}

// signalContext ends on Ctrl-C or SIGTERM, so a run stops cleanly with its log intact.
func signalContext(cmd *cobra.Command) (context.Context, context.CancelFunc) {
	return signal.NotifyContext(cmdContext(cmd), os.Interrupt, syscall.SIGTERM)
}

func newSolveCmd() *cobra.Command {
	var f sessionFlags
	cmd := &cobra.Command{
		Use:   "solve [flags] QUESTION",
		Short: "Solve a question in bounded iterations, streaming them (text, or JSON Lines events)",
		Long: "solve runs the InftyThink+ engine headless on one question (use - to read it from stdin).\n\n" +
			"native: the model writes <summary> to continue and a conclusion to finish; the engine pre-fills\n" +
			"<history>, forces \"\\n</think><summary>\\n\" when η runs out and asks for the conclusion at φ.\n" +
			"scaffold: for models not trained in this format; the engine cuts the reasoning at the last\n" +
			"paragraph break before η and a summarizer writes the cumulative summary.\n\n" +
			"With --format jsonl each line is one event with a \"type\": iteration_start, delta, summary,\n" +
			"reasoning, iteration_end, stats, answer, done, error. Every finished iteration is appended to the\n" +
			"trajectory log (fsynced), which `infty export` turns into SFT data.",
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			question := strings.Join(args, " ")
			if question == "-" {
				b, err := io.ReadAll(cmd.InOrStdin())
				if err != nil {
					return err
				}
				question = strings.TrimSpace(string(b))
			}
			if strings.TrimSpace(question) == "" {
				return errors.New("empty question")
			}
			ctx, cancel := signalContext(cmd)
			defer cancel()
			return runSolve(ctx, &f, question, cmd.OutOrStdout(), cmd.ErrOrStderr())
		},
	}
	f.register(cmd, true)
	return cmd
}

func runSolve(ctx context.Context, f *sessionFlags, question string, out, errOut io.Writer) error {
	if f.mode != string(session.ModeNative) && f.mode != string(session.ModeScaffold) {
		return fmt.Errorf("invalid --mode %q: want native or scaffold", f.mode)
	}
	if f.format != "text" && f.format != "jsonl" {
		return fmt.Errorf("invalid --format %q: want text or jsonl", f.format)
	}
	m, err := loadSessionModel(ctx, f.model, f.backend, f.pull)
	if err != nil {
		return err
	}
	defer m.Close()
	cfg, err := f.config(m.ContextLength())
	if err != nil {
		return err
	}
	f.modelSampling(&cfg, m)
	syntheticReference(&cfg, question)
	var opts []session.Option
	if f.summarizer != "" {
		sm, err := loadSessionModel(ctx, f.summarizer, f.backend, f.pull)
		if err != nil {
			return fmt.Errorf("summarizer: %w", err)
		}
		defer sm.Close()
		opts = append(opts, session.WithSummarizer(sm))
	}
	e, err := session.New(m, cfg, opts...)
	if err != nil {
		return err
	}
	defer e.Close()
	w := bufio.NewWriter(out)
	defer w.Flush()
	var print func(session.Event) error
	if f.format == "jsonl" {
		print = func(ev session.Event) error { return writeEventJSON(w, ev) }
	} else {
		print = newTextPrinter(w, errOut).print
	}
	if f.format == "text" {
		fmt.Fprintf(errOut, "run %s · %s · %s · η=%d φ=%d · log %s\n", e.RunID(), m.Name(), cfg.Mode, e.Config().Eta, e.Config().Phi, cfg.LogPath)
	}
	ch, err := e.Start(ctx, question)
	if err != nil {
		return err
	}
	var runErr error
	for ev := range ch {
		if err := print(ev); err != nil {
			return err
		}
		if ev.Type == session.EventDelta {
			continue
		}
		if err := w.Flush(); err != nil {
			return err
		}
		if ev.Type == session.EventError {
			runErr = errors.New(ev.Message)
			_ = e.Wait()
			reportPanic(errOut, e.Err())
			break
		}
		if ev.Type == session.EventDone {
			break
		}
	}
	return runErr
}

// reportPanic writes the stack of a panic the engine recovered (a bug: the run ended with an
// error event, the log is intact) so that it can be reported.
func reportPanic(errOut io.Writer, err error) {
	var pe *session.PanicError
	if errors.As(err, &pe) {
		fmt.Fprintf(errOut, "infty: %v — this is a bug; please report it with this stack:\n%s\n", pe, pe.Stack)
	}
}

// writeEventJSON writes one event as a JSON line; the fields the command-line contract names are
// always present for their type, even when zero.
func writeEventJSON(w io.Writer, ev session.Event) error {
	b, err := json.Marshal(ev)
	if err != nil {
		return err
	}
	var obj map[string]any
	if err := json.Unmarshal(b, &obj); err != nil {
		return err
	}
	need := map[session.EventType][]string{
		session.EventIterationStart: {"iteration"},
		session.EventDelta:          {"iteration", "text"},
		session.EventSummary:        {"iteration", "text"},
		session.EventAnswer:         {"text"},
		session.EventDone:           {"iterations", "tokens", "seconds"},
		session.EventError:          {"message"},
	}
	for _, k := range need[ev.Type] {
		if _, ok := obj[k]; !ok {
			switch k {
			case "text", "message":
				obj[k] = ""
			default:
				obj[k] = 0
			}
		}
	}
	keys := make([]string, 0, len(obj))
	for k := range obj {
		keys = append(keys, k)
	}
	// "type" first, the rest sorted: stable lines that read well.
	sort.Slice(keys, func(i, j int) bool {
		if keys[i] == "type" || keys[j] == "type" {
			return keys[i] == "type"
		}
		return keys[i] < keys[j]
	})
	var buf bytes.Buffer
	buf.WriteByte('{')
	for i, k := range keys {
		if i > 0 {
			buf.WriteByte(',')
		}
		kb, _ := json.Marshal(k)
		vb, err := marshalNoEscape(obj[k])
		if err != nil {
			return err
		}
		buf.Write(kb)
		buf.WriteByte(':')
		buf.Write(vb)
	}
	buf.WriteString("}\n")
	_, err = w.Write(buf.Bytes())
	return err
}

func marshalNoEscape(v any) ([]byte, error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimRight(b.Bytes(), "\n"), nil
}

// textPrinter renders events for a person reading a terminal or a file.
type textPrinter struct {
	w, errOut io.Writer
	part      session.Part
}

func newTextPrinter(w, errOut io.Writer) *textPrinter { return &textPrinter{w: w, errOut: errOut} }

func (p *textPrinter) print(ev session.Event) error {
	var err error
	switch ev.Type {
	case session.EventIterationStart:
		p.part = ""
		_, err = fmt.Fprintf(p.w, "\n── iteration %d ──\n", ev.Iteration)
	case session.EventDelta:
		if ev.Part != p.part {
			p.part = ev.Part
			label := map[session.Part]string{session.PartSummary: "\n[summary]\n", session.PartConclusion: "\n[conclusion]\n"}[ev.Part]
			if _, err = io.WriteString(p.w, label); err != nil {
				return err
			}
		}
		_, err = io.WriteString(p.w, ev.Text)
	case session.EventIterationEnd:
		forced := ""
		if ev.Forced {
			forced = ", forced"
		}
		_, err = fmt.Fprintf(p.w, "\n(%d tokens, %.1fs%s)\n", ev.Tokens, ev.Seconds, forced)
	case session.EventAnswer:
		verdict := ""
		if ev.Correct != nil {
			verdict = map[bool]string{true: " ✓ correct", false: " ✗ incorrect"}[*ev.Correct]
		}
		ans := ev.Text
		if ans == "" {
			ans = "(no \\boxed{} answer)"
		}
		_, err = fmt.Fprintf(p.w, "\nanswer: %s%s\n", ans, verdict)
	case session.EventDone:
		_, err = fmt.Fprintf(p.errOut, "done: %d iterations, %d tokens, %.1fs\n", ev.Iterations, ev.Tokens, ev.Seconds)
	case session.EventError:
		_, err = fmt.Fprintf(p.errOut, "error: %s\n", ev.Message)
	}
	return err
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
			"(mode \"curate\"), where it can be reviewed, edited and exported.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx, cancel := signalContext(cmd)
			defer cancel()
			return runCurate(ctx, &f, input, cmd.OutOrStdout(), cmd.ErrOrStderr())
		},
	}
	cmd.Flags().StringVar(&input, "input", "", "JSON Lines file of traces")
	_ = cmd.MarkFlagRequired("input")
	f.register(cmd, false)
	return cmd
}

func runCurate(ctx context.Context, f *sessionFlags, input string, out, errOut io.Writer) error {
	in, err := os.Open(input)
	if err != nil {
		return err
	}
	defer in.Close()
	sm, err := loadSessionModel(ctx, f.summarizer, f.backend, f.pull)
	if err != nil {
		return fmt.Errorf("summarizer: %w", err)
	}
	defer sm.Close()
	f.mode = string(session.ModeScaffold)
	cfg, err := f.config(sm.ContextLength())
	if err != nil {
		return err
	}
	f.modelSampling(&cfg, sm)
	log, err := trajlog.Open(cfg.LogPath)
	if err != nil {
		return err
	}
	defer log.Close()
	w := bufio.NewWriter(out)
	defer w.Flush()
	sc := bufio.NewScanner(in)
	sc.Buffer(make([]byte, 1<<20), 1<<30)
	done, skipped := 0, 0
	for line := 1; sc.Scan(); line++ {
		b := bytes.TrimSpace(sc.Bytes())
		if len(b) == 0 {
			continue
		}
		var tr session.Trace
		dec := json.NewDecoder(bytes.NewReader(b))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&tr); err != nil {
			// Unknown fields are allowed (datasets carry more); only malformed lines fail.
			if err2 := json.Unmarshal(b, &tr); err2 != nil {
				return fmt.Errorf("%s:%d: not a JSON object {\"question\", \"reasoning\", \"answer\"?}: %v", input, line, err2)
			}
		}
		if strings.TrimSpace(tr.Question) == "" || strings.TrimSpace(tr.Reasoning) == "" {
			return fmt.Errorf("%s:%d: \"question\" and \"reasoning\" must be non-empty strings", input, line)
		}
		c := cfg
		c.RunID = ""
		var emit func(session.Event)
		if f.format == "jsonl" {
			emit = func(ev session.Event) { _ = writeEventJSON(w, ev) }
		}
		snap, err := session.Curate(ctx, sm, c, tr, log, emit)
		if errors.Is(err, session.ErrSkipped) {
			skipped++
			fmt.Fprintf(errOut, "%s:%d: skipped: %v\n", input, line, err)
			continue
		}
		if err != nil {
			return fmt.Errorf("%s:%d: %w", input, line, err)
		}
		done++
		if f.format != "jsonl" {
			fmt.Fprintf(w, "%s:%d: run %s, %d iterations\n", input, line, snap.RunID, len(snap.Iterations))
		}
		if err := w.Flush(); err != nil {
			return err
		}
	}
	if err := sc.Err(); err != nil {
		return fmt.Errorf("%s: %w", input, err)
	}
	fmt.Fprintf(errOut, "curated %d traces (%d skipped) into %s\n", done, skipped, cfg.LogPath)
	return nil
}

func newExportCmd() *cobra.Command {
	var logs []string
	var only, layout, branches string
	var unfinished bool
	cmd := &cobra.Command{
		Use:   "export [--log FILE]... [--only edited|correct] [--layout chat|flat] [--branches current|all|N]",
		Short: "Write cold-start SFT data (JSON Lines) from trajectory logs to stdout",
		Long: "export writes one example per iteration of the selected trajectories.\n\n" +
			"chat (default): {\"messages\":[{\"role\":\"user\",\"content\":q},{\"role\":\"assistant\",\"content\":\n" +
			"\"<history>\\n…\\n</history><think>\\n…\\n</think><summary>\\n…\\n</summary>\"}], \"no_loss_prefix_bytes\": N,\n" +
			"\"no_loss_prefix_chars\": M, \"run\", \"branch\", \"iteration\", \"final\", \"edited\", \"mode\", \"model\"}: the first N\n" +
			"bytes (M code points) of the assistant content are the pre-filled <history> block, not trained on.\n" +
			"flat: {\"question\", \"history\", \"reasoning_process\", \"summary\", \"conclusion\", …}.\n\n" +
			"Without --log, every *.jsonl in the per-user log folder ($XDG_DATA_HOME/infty/logs, else\n" +
			"~/.local/share/infty/logs) is read.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			opts := sft.Options{Layout: sft.Layout(layout), Only: sft.Filter(only), Unfinished: unfinished}
			switch branches {
			case "current":
			case "all":
				opts.AllBranches = true
			default:
				n, err := strconv.Atoi(branches)
				if err != nil || n < 1 {
					return fmt.Errorf("invalid --branches %q: want current, all or a branch number", branches)
				}
				opts.Branch = n
			}
			if len(logs) == 0 {
				dir, err := trajlog.DefaultDir()
				if err != nil {
					return err
				}
				if logs, err = filepath.Glob(filepath.Join(dir, "*.jsonl")); err != nil {
					return err
				}
				if len(logs) == 0 {
					return fmt.Errorf("no logs in %s; pass --log FILE", dir)
				}
				sort.Strings(logs)
			}
			var runs []*trajlog.Run
			for _, path := range logs {
				rs, warns, err := trajlog.ReadFile(path)
				for _, w := range warns {
					fmt.Fprintln(cmd.ErrOrStderr(), "warning:", w)
				}
				if err != nil {
					return err
				}
				runs = append(runs, rs...)
			}
			w := bufio.NewWriter(cmd.OutOrStdout())
			n, err := sft.Export(w, runs, opts)
			if err != nil {
				return err
			}
			if err := w.Flush(); err != nil {
				return err
			}
			fmt.Fprintf(cmd.ErrOrStderr(), "exported %d examples from %d runs\n", n, len(runs))
			return nil
		},
	}
	cmd.Flags().StringArrayVar(&logs, "log", nil, "trajectory log to read (repeatable)")
	cmd.Flags().StringVar(&only, "only", "", "keep only edited or correct (verified) trajectories")
	cmd.Flags().StringVar(&layout, "layout", "chat", "chat (InftyThink+ messages) or flat (InftyThink fields)")
	cmd.Flags().StringVar(&branches, "branches", "current", "current (each run's branch shown last), all, or a branch number")
	cmd.Flags().BoolVar(&unfinished, "unfinished", false, "include trajectories that never reached a conclusion")
	return cmd
}

// syntheticReference checks a question of the synthetic task (the embedded model's) against its
// computed answer when no --answer was given.
func syntheticReference(cfg *session.Config, question string) {
	if cfg.Reference != "" {
		return
	}
	if p, ok := synth.Parse(question); ok {
		cfg.Reference = p.Answer()
	}
}
