package main

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/charmbracelet/x/term"
	"github.com/infty-dev/infty/app"
	"github.com/infty-dev/infty/internal/cli"
	"github.com/infty-dev/infty/themes"
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
	root.Long += " A one-word question that is close to a command name is asked after `--` (`infty -- inspect`)."
	root.RunE = func(cmd *cobra.Command, args []string) error {
		if err := cli.MistypedCommand(cmd, args); err != nil {
			return err
		}
		if err := checkTheme(theme); err != nil {
			return err
		}
		question := strings.TrimSpace(strings.Join(args, " "))
		ctx, cancel := signalContext(cmd)
		defer cancel()
		if !stdioIsTerminal() {
			if question == "" {
				return errors.New("no terminal to open the workbench in: give a QUESTION to solve it headless (or use `infty solve -`)")
			}
			question, err := readQuestion(cmd, question)
			if err != nil {
				return err
			}
			return app.Solve(ctx, f.spec(), question, cmd.OutOrStdout(), cmd.ErrOrStderr())
		}
		th, err := app.PickTheme(theme)
		if err != nil {
			return err
		}
		return app.Workbench(ctx, f.spec(), th, question, cmd.ErrOrStderr())
	}
}

// checkTheme refuses an unknown --theme whether or not a terminal is there to use it, so that a
// typo is not ignored by the headless form and refused by the workbench.
func checkTheme(name string) error {
	_, err := themes.Resolve(name, true, true)
	return err
}

// stdioIsTerminal says whether the workbench can take the terminal (tests replace it).
var stdioIsTerminal = func() bool { return term.IsTerminal(os.Stdin.Fd()) && term.IsTerminal(os.Stdout.Fd()) }

func newInspectCmd() *cobra.Command {
	var theme string
	cmd := &cobra.Command{
		Use:   "inspect [LOG]...",
		Short: "Browse the trajectories of a log, see edits beside their originals, export a selection as SFT data",
		Long: "inspect lists the runs of a trajectory log (question, answer, verified?, iterations, edited?, branches).\n" +
			"enter opens one read-only with its branches (b); an edited summary is shown beside its original.\n" +
			"space marks runs, x exports the marked runs (or the open branch) as cold-start SFT JSON Lines,\n" +
			"/ filters by words, E keeps edited runs, c keeps verified ones (a run with any verified branch).\n" +
			"Without a terminal it prints the list. Without LOG it reads every log of the per-user folder, as\n" +
			"`infty export` does.",
		Args: cobra.ArbitraryArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := checkTheme(theme); err != nil {
				return err
			}
			paths, export := args, ""
			if len(paths) == 0 {
				var err error
				if paths, err = app.DefaultLogs(); err != nil {
					return err
				}
				// Not beside the logs: export and inspect would read it as one.
				export = "infty-logs.sft.jsonl"
			}
			runs, warnings, err := app.ReadLogs(paths)
			if err != nil {
				return err
			}
			path := paths[0]
			if len(paths) > 1 {
				// Several logs: the title names their folder, an export goes to the working folder.
				path = filepath.Join(filepath.Dir(paths[0]), fmt.Sprintf("(%d logs)", len(paths)))
				if export == "" {
					export = "infty-logs.sft.jsonl"
				}
			}
			if !stdioIsTerminal() {
				for _, w := range warnings {
					fmt.Fprintln(cmd.ErrOrStderr(), "warning:", w)
				}
				return app.PrintRuns(cmd.OutOrStdout(), runs)
			}
			th, err := app.PickTheme(theme)
			if err != nil {
				return err
			}
			return app.Inspect(cmdContext(cmd), th, path, export, runs, warnings)
		},
	}
	cmd.Flags().StringVar(&theme, "theme", themes.Auto, "colors: "+strings.Join(themes.Names(), ", ")+" (NO_COLOR forces plain)")
	return cmd
}
