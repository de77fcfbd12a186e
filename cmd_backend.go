package main

import (
	"fmt"
	"os"
	"strings"

	"github.com/infty-dev/infty/app"
	"github.com/infty-dev/infty/runtime/backend"
	"github.com/spf13/cobra"
)

func init() { addCommand(newBackendCmd) }

func newBackendCmd() *cobra.Command {
	var spec, model string
	var open bool
	var engine engineFlags
	cmd := &cobra.Command{
		Use:   "backend",
		Short: "Show which compute backend would run, and where the CUDA PJRT plugin was looked for",
		Long: "Shows the backend a --backend value (or $INFTY_BACKEND) selects and, for XLA on CUDA, " +
			"which plugin, nvidia library folders and GPU devices were found. Nothing is loaded unless --open is given.\n\n" +
			"Backends: " + backend.Usage + "\n\n" +
			"With --engine URL it says which inference server answers there (vLLM, SGLang, llama.cpp, Ollama or " +
			"another OpenAI-compatible one), its version, the models it serves and, for --model NAME (or the only " +
			"one served), the context length and what it cannot do as infty asks.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			// $INFTY_ENGINE does not hide what --backend and --open ask about.
			asksBackend := cmd.Flags().Changed("backend") || open
			if e := engine.spec(); e.URL != "" && (cmd.Flags().Changed("engine") || !asksBackend) {
				return app.EngineInfo(cmdContext(cmd), cmd.OutOrStdout(), e, model)
			}
			return app.BackendInfo(cmd.OutOrStdout(), spec, open)
		},
	}
	engine.register(cmd.Flags())
	cmd.Flags().StringVar(&model, "model", "", "with --engine: the served model to describe")
	cmd.Flags().StringVar(&spec, "backend", "", "backend to inspect (default: $INFTY_BACKEND, else \"go\")")
	cmd.Flags().BoolVar(&open, "open", false, "also open the backend and describe its device")
	cmd.AddCommand(newBackendEnvCmd(), newBackendBenchCmd())
	return cmd
}

// newBackendEnvCmd prints shell lines that put the nvidia libraries beside the
// CUDA plugin on LD_LIBRARY_PATH: the dynamic loader reads it only when a
// process starts, so it must be set before infty runs.
func newBackendEnvCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "env",
		Short: "Print `export` lines for the CUDA backend (eval \"$(infty backend env)\")",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			d := backend.DiscoverCUDA()
			if d.Plugin == "" {
				_, err := backend.Open("cuda") // its error lists what was searched
				if err == nil {
					err = fmt.Errorf("no CUDA plugin found")
				}
				return err
			}
			w := cmd.OutOrStdout()
			fmt.Fprintf(w, "export %s=%s\n", backend.PluginEnv, shellQuote(d.Plugin))
			fmt.Fprintf(w, "export LD_LIBRARY_PATH=%s\n", shellQuote(d.LDLibraryPath(os.Getenv("LD_LIBRARY_PATH"))))
			return nil
		},
	}
}

func shellQuote(s string) string { return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'" }

// newBackendBenchCmd times prefill and decode of a model on a backend, after a
// warm-up run that compiles the graphs, for comparisons on one machine.
func newBackendBenchCmd() *cobra.Command {
	var o app.BackendBenchOptions
	cmd := &cobra.Command{
		Use:   "bench --model DIR [--backend SPEC]",
		Short: "Time prefill and greedy decode of a model (random prompt, EOS ignored) and print JSON",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return app.BackendBench(cmdContext(cmd), o, cmd.OutOrStdout())
		},
	}
	cmd.Flags().StringVar(&o.Backend, "backend", "", "compute backend (default: $INFTY_BACKEND, else \"go\")")
	cmd.Flags().StringVar(&o.Model, "model", "", "model folder (Hugging Face layout)")
	cmd.Flags().IntVar(&o.PromptLen, "prompt", 512, "prompt length in tokens")
	cmd.Flags().IntVar(&o.NewTokens, "new", 128, "tokens to generate per run")
	cmd.Flags().IntVar(&o.Runs, "runs", 3, "timed runs after the warm-up (the median is reported)")
	_ = cmd.MarkFlagRequired("model")
	return cmd
}
