package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"text/tabwriter"
	"time"

	tea "charm.land/bubbletea/v2"
	"charm.land/lipgloss/v2"
	"github.com/charmbracelet/x/term"
	"github.com/infty-dev/infty/runtime"
	"github.com/infty-dev/infty/runtime/backend"
	"github.com/infty-dev/infty/runtime/tinymodel"
	"github.com/infty-dev/infty/session"
	"github.com/infty-dev/infty/session/synth"
	"github.com/infty-dev/infty/session/trajlog"
	"github.com/infty-dev/infty/themes"
	"github.com/infty-dev/infty/ui"
	"github.com/spf13/cobra"
)

func init() {
	rootRun = setupWorkbench
	addCommand(newInspectCmd)
}

// setupWorkbench gives the bare `infty [flags] [QUESTION]` the workbench: the flags of
// `infty solve` (shared definitions) plus --theme.
func setupWorkbench(root *cobra.Command) {
	var f sessionFlags
	var theme string
	f.register(root, true)
	root.Flags().StringVar(&theme, "theme", themes.Auto, "colors: "+strings.Join(themes.Names(), ", ")+" (NO_COLOR forces plain)")
	root.Use = "infty [flags] [QUESTION]"
	root.Long += "\n\nWithout a subcommand, infty opens the workbench on QUESTION (or asks for one): each iteration " +
		"streams into its own pane; space pauses, e edits the latest summary, b switches branches, ? lists the keys. " +
		"Without a terminal it prints what `infty solve` prints."
	root.Args = cobra.ArbitraryArgs
	root.RunE = func(cmd *cobra.Command, args []string) error {
		question := strings.TrimSpace(strings.Join(args, " "))
		ctx, cancel := signalContext(cmd)
		defer cancel()
		if !stdioIsTerminal() {
			if question == "" {
				return errors.New("no terminal to open the workbench in: give a QUESTION to solve it headless (or use `infty solve -`)")
			}
			if question == "-" {
				b, err := io.ReadAll(cmd.InOrStdin())
				if err != nil {
					return err
				}
				question = strings.TrimSpace(string(b))
			}
			return runSolve(ctx, &f, question, cmd.OutOrStdout(), cmd.ErrOrStderr())
		}
		th, err := pickTheme(theme)
		if err != nil {
			return err
		}
		return runWorkbench(ctx, &f, th, question, cmd.ErrOrStderr())
	}
}

// stdioIsTerminal says whether the workbench can take the terminal (tests replace it).
var stdioIsTerminal = func() bool { return term.IsTerminal(os.Stdin.Fd()) && term.IsTerminal(os.Stdout.Fd()) }

// pickTheme resolves --theme; only "auto" asks the terminal for its background color.
func pickTheme(name string) (themes.Theme, error) {
	noColor := os.Getenv("NO_COLOR") != ""
	dark := true
	if n := strings.ToLower(strings.TrimSpace(name)); (n == "" || n == themes.Auto) && !noColor {
		dark = lipgloss.HasDarkBackground(os.Stdin, os.Stdout)
	}
	return themes.Resolve(name, noColor, dark)
}

// workbenchRun holds what a started run must release when the program ends.
type workbenchRun struct {
	mu     sync.Mutex
	models []*runtime.Engine
	engine *session.Engine
	log    string
}

func (w *workbenchRun) close() {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.engine != nil {
		w.engine.Close()
	}
	for _, m := range w.models {
		m.Close()
	}
}

func runWorkbench(ctx context.Context, f *sessionFlags, th themes.Theme, question string, errOut io.Writer) error {
	if f.mode != string(session.ModeNative) && f.mode != string(session.ModeScaffold) {
		return fmt.Errorf("--mode %q: want native or scaffold", f.mode)
	}
	if f.model == "" {
		// Say it before taking the terminal, not after the person typed a question.
		if _, err := tinymodel.FS(tinymodel.Iterative); errors.Is(err, tinymodel.ErrNotBuilt) {
			return errors.New("no --model given and this binary carries no embedded default model; pass --model DIR or ORG/NAME")
		}
	}
	res := &workbenchRun{}
	defer res.close()
	modelName, suggestion := f.model, ""
	if modelName == "" {
		modelName = "infty-tiny (embedded)"
		suggestion = suggestedProblem(f.seed, time.Now())
	}
	start := func(q string) (ui.Started, error) {
		m, err := loadSessionModel(ctx, f.model, f.backend, f.pull)
		if err != nil {
			return ui.Started{}, err
		}
		res.mu.Lock()
		res.models = append(res.models, m)
		res.mu.Unlock()
		cfg, err := f.config(m.ContextLength())
		if err != nil {
			return ui.Started{}, err
		}
		f.modelSampling(&cfg, m)
		syntheticReference(&cfg, q)
		var opts []session.Option
		if f.summarizer != "" {
			sm, err := loadSessionModel(ctx, f.summarizer, f.backend, f.pull)
			if err != nil {
				return ui.Started{}, fmt.Errorf("--summarizer: %w", err)
			}
			res.mu.Lock()
			res.models = append(res.models, sm)
			res.mu.Unlock()
			opts = append(opts, session.WithSummarizer(sm))
		}
		e, err := session.New(m, cfg, opts...)
		if err != nil {
			return ui.Started{}, err
		}
		ch, err := e.Start(ctx, q)
		if err != nil {
			e.Close()
			return ui.Started{}, err
		}
		res.mu.Lock()
		res.engine, res.log = e, cfg.LogPath
		res.mu.Unlock()
		info := ui.Info{Model: m.Name(), Backend: backend.Describe(m.Runtime().Backend()), Eta: e.Config().Eta, Phi: e.Config().Phi}
		return ui.Started{Run: e, Events: ch, Info: info}, nil
	}
	wb := ui.New(ui.Options{
		Theme:      th,
		Question:   question,
		Suggestion: suggestion,
		Start:      start,
		Info:       ui.Info{Model: modelName, Backend: f.backend, Eta: f.eta, Phi: f.phi},
	})
	// Bubble Tea restores the terminal after a panic in Update, View or a command and returns
	// an error; the run's log is fsynced per iteration, so nothing finished is lost.
	_, err := tea.NewProgram(wb, tea.WithContext(ctx)).Run()
	res.mu.Lock()
	e, logPath := res.engine, res.log
	res.mu.Unlock()
	if e != nil {
		s := e.Snapshot()
		if s.Done {
			verdict := ""
			if s.Correct != nil {
				verdict = map[bool]string{true: " ✓ correct", false: " ✗ incorrect"}[*s.Correct]
			}
			ans := s.Answer
			if ans == "" {
				ans = "(none found)"
			}
			fmt.Fprintf(errOut, "answer: %s%s\n", ans, verdict)
		}
		fmt.Fprintf(errOut, "run %s · branch %d of %d · log %s\n", s.RunID, s.Branch, len(s.Branches), logPath)
		reportPanic(errOut, e.Err()) // the terminal is restored by now
	}
	if err != nil && !errors.Is(err, tea.ErrProgramKilled) && !errors.Is(err, context.Canceled) {
		return err
	}
	return wb.Err()
}

func newInspectCmd() *cobra.Command {
	var theme string
	cmd := &cobra.Command{
		Use:   "inspect LOG",
		Short: "Browse the trajectories of a log, see edits beside their originals, export a selection as SFT data",
		Long: "inspect lists the runs of a trajectory log (question, answer, verified?, iterations, edited?, branches).\n" +
			"enter opens one read-only with its branches (b); an edited summary is shown beside its original.\n" +
			"space marks runs, x exports the marked runs (or the open branch) as cold-start SFT JSON Lines,\n" +
			"/ filters by words, E keeps edited runs, c keeps verified ones. Without a terminal it prints the list.",
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			path := args[0]
			runs, warnings, err := trajlog.ReadFile(path)
			if err != nil {
				return err
			}
			if !stdioIsTerminal() {
				for _, w := range warnings {
					fmt.Fprintln(cmd.ErrOrStderr(), "warning:", w)
				}
				return printRuns(cmd.OutOrStdout(), runs)
			}
			th, err := pickTheme(theme)
			if err != nil {
				return err
			}
			in := ui.NewInspector(ui.InspectOptions{Theme: th, Path: path, Runs: runs, Warnings: warnings})
			_, err = tea.NewProgram(in, tea.WithContext(cmdContext(cmd))).Run()
			if errors.Is(err, tea.ErrProgramKilled) {
				return nil
			}
			return err
		},
	}
	cmd.Flags().StringVar(&theme, "theme", themes.Auto, "colors: "+strings.Join(themes.Names(), ", ")+" (NO_COLOR forces plain)")
	return cmd
}

// printRuns is inspect's headless form: one line per run.
func printRuns(w io.Writer, runs []*trajlog.Run) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "RUN\tQUESTION\tANSWER\tCORRECT\tITERATIONS\tEDITED\tBRANCHES")
	for _, r := range runs {
		b := r.Branch(r.Current)
		ans, correct, iters := "", "-", 0
		if b != nil {
			ans, iters = b.Answer, len(b.Iterations)
			if !b.Done {
				ans = "(unfinished)"
			}
			if b.Correct != nil {
				correct = map[bool]string{true: "yes", false: "no"}[*b.Correct]
			}
		}
		edited := "no"
		if len(r.Edits) > 0 {
			edited = "yes"
		}
		q := strings.ReplaceAll(r.Question, "\n", " ")
		if len([]rune(q)) > 60 {
			q = string([]rune(q)[:59]) + "…"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%d\t%s\t%d\n", r.ID, q, ans, correct, iters, edited, len(r.Branches))
	}
	return tw.Flush()
}

// suggestedProblem is the question the workbench offers on the embedded model, which knows one
// task: a fresh problem of it, long enough that its plain chain of thought could not fit the
// window. A nonzero --seed makes it repeatable (scripts, demos); otherwise the clock picks it.
func suggestedProblem(seed uint64, now time.Time) string {
	if seed == 0 {
		seed = uint64(now.UnixNano())
	}
	p, err := synth.New(seed, 24)
	if err != nil {
		return ""
	}
	return p.Question()
}
