// Command infty is a terminal workbench for iterative (InftyThink+) reasoning with models that
// run inside the program. Every subcommand lives in a cmd_*.go file beside this one and registers
// itself with addCommand, so the command tree is assembled in one place without one file having
// to know every other.
package main

import (
	"context"
	"os"

	"github.com/charmbracelet/fang"
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
		SilenceUsage: true,
	}
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

func main() {
	if err := fang.Execute(context.Background(), newRootCmd(), fang.WithVersion(version)); err != nil {
		os.Exit(1)
	}
}
