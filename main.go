// Command infty is a terminal workbench for iterative (InftyThink+) reasoning with models that
// run inside the program. Every subcommand lives in a cmd_*.go file beside this one and registers
// itself with addCommand, so the command tree is assembled in one place without one file having
// to know every other.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/infty-dev/infty/internal/cli"
	"github.com/infty-dev/infty/ui"
	"github.com/spf13/cobra"
)

// version is set by the linker for release builds.
var version = "dev"

// commandFactories collects the constructors registered by the cmd_*.go files.
var commandFactories []func() *cobra.Command

// addCommand registers a subcommand constructor; called from init functions.
func addCommand(f func() *cobra.Command) { commandFactories = append(commandFactories, f) }

func newRootCmd() *cobra.Command {
	root := &cobra.Command{
		Use:   "infty",
		Short: "A terminal workbench for iterative reasoning with embedded models",
		Long: "infty runs a reasoning model inside the program and drives it through bounded " +
			"iterations, each ending in a summary that the next one starts from (InftyThink+).",
		Version:       version,
		SilenceUsage:  true,
		SilenceErrors: true, // main prints them, exactly as they were written
	}
	root.SetVersionTemplate("infty {{.Version}}\n")
	root.SetHelpFunc(cli.PrintHelp)
	root.AddCommand(&cobra.Command{
		Use:   "version",
		Short: "Print the version",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			_, err := fmt.Fprintf(cmd.OutOrStdout(), "infty %s\n", version)
			return err
		},
	})
	for _, f := range commandFactories {
		root.AddCommand(f())
	}
	if rootRun != nil {
		rootRun(root)
	}
	return root
}

// rootRun, when set by the workbench file, gives the bare `infty [QUESTION]` its behaviour.
var rootRun func(root *cobra.Command)

// exitInterrupted is the shell's convention for a program ended by Ctrl-C (128 + SIGINT).
const exitInterrupted = 130

// execute runs the command line args and returns the process's exit status. Errors are printed
// as written: paths, ids and flag names keep their case.
func execute(args []string, stdout, stderr io.Writer) int {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	root := newRootCmd()
	root.SetArgs(args)
	root.SetOut(stdout)
	root.SetErr(stderr)
	err := root.ExecuteContext(ctx)
	interrupted := ctx.Err() != nil || errors.Is(err, ui.ErrInterrupted)
	if err != nil && !errors.Is(err, ui.ErrInterrupted) && !(interrupted && errors.Is(err, context.Canceled)) {
		fmt.Fprintln(stderr, "infty: "+err.Error())
		if cli.IsUsageError(err) {
			fmt.Fprintln(stderr, "Run `infty --help` (or `infty COMMAND --help`) for usage.")
		}
	}
	switch {
	case interrupted:
		return exitInterrupted
	case err != nil:
		return 1
	}
	return 0
}

func main() { os.Exit(execute(os.Args[1:], os.Stdout, os.Stderr)) }
