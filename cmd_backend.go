package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/infty-dev/infty/llm"
	"github.com/infty-dev/infty/runtime"
	"github.com/infty-dev/infty/runtime/backend"
	"github.com/spf13/cobra"
)

func init() { addCommand(newBackendCmd) }

func newBackendCmd() *cobra.Command {
	var spec string
	var open bool
	cmd := &cobra.Command{
		Use:   "backend",
		Short: "Show which compute backend would run, and where the CUDA PJRT plugin was looked for",
		Long: "Shows the backend a --backend value (or $INFTY_BACKEND) selects and, for XLA on CUDA, " +
			"which plugin, nvidia library folders and GPU devices were found. Nothing is loaded unless --open is given.\n\n" +
			"Backends: " + backend.Usage,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return backendInfo(cmd.OutOrStdout(), spec, open)
		},
	}
	cmd.Flags().StringVar(&spec, "backend", "", "backend to inspect (default: $INFTY_BACKEND, else \"go\")")
	cmd.Flags().BoolVar(&open, "open", false, "also open the backend and describe its device")
	cmd.AddCommand(newBackendEnvCmd(), newBackendBenchCmd())
	return cmd
}

func backendInfo(w io.Writer, spec string, open bool) error {
	s, err := backend.ParseSpec(spec)
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "XLA compiled in: %v\n", backend.XLAAvailable)
	if s.Kind == backend.KindCUDA {
		d := backend.DiscoverCUDA()
		plugin := d.Plugin
		if plugin == "" {
			plugin = "(none found)"
		}
		fmt.Fprintf(w, "CUDA plugin: %s\n", plugin)
		fmt.Fprintf(w, "searched:\n  %s\n", strings.Join(d.Searched, "\n  "))
		fmt.Fprintf(w, "GPU devices: %s\n", orNone(d.GPUDevices))
		fmt.Fprintf(w, "nvidia library folders: %s\n", orNone(d.LibraryDirs))
		if missing := d.MissingLibraryDirs(os.Getenv("LD_LIBRARY_PATH")); len(missing) > 0 {
			fmt.Fprintf(w, "not on LD_LIBRARY_PATH: %s\n", strings.Join(missing, ":"))
		}
		if d.CUDADataDir != "" {
			fmt.Fprintf(w, "CUDA data dir (libdevice): %s\n", d.CUDADataDir)
		}
	}
	if !open {
		return nil
	}
	start := time.Now()
	b, err := backend.Open(spec)
	if err != nil {
		return err
	}
	defer b.Finalize()
	fmt.Fprintf(w, "opened in %.1fs: %s\n", time.Since(start).Seconds(), backend.Describe(b))
	return nil
}

func orNone(s []string) string {
	if len(s) == 0 {
		return "(none)"
	}
	return strings.Join(s, " ")
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
	var (
		spec, model          string
		promptLen, newTokens int
		runs                 int
	)
	cmd := &cobra.Command{
		Use:   "bench --model DIR [--backend SPEC]",
		Short: "Time prefill and greedy decode of a model (random prompt, EOS ignored) and print JSON",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if promptLen < 1 || newTokens < 2 || runs < 1 {
				return fmt.Errorf("need --prompt ≥ 1, --new ≥ 2 and --runs ≥ 1")
			}
			t0 := time.Now()
			m, err := runtime.Load(model, runtime.WithBackend(spec))
			if err != nil {
				return err
			}
			defer m.Close()
			loadSeconds := time.Since(t0).Seconds()
			m.EOS = nil // random weights: always time the full budget
			prompt := make([]int, promptLen)
			for i := range prompt {
				prompt[i] = (i*7919 + 13) % m.Config.Vocab
			}
			ctx := cmd.Context()
			if ctx == nil {
				ctx = context.Background()
			}
			req := llm.Request{Prompt: prompt, MaxTokens: newTokens}
			t1 := time.Now()
			if _, err := m.Generate(ctx, req, func(llm.Token) error { return nil }); err != nil {
				return err
			}
			warmup := time.Since(t1).Seconds()
			var prefill, decode []float64
			for range runs {
				res, err := m.Generate(ctx, req, func(llm.Token) error { return nil })
				if err != nil {
					return err
				}
				prefill = append(prefill, float64(promptLen)/res.PrefillSeconds)
				// The first token comes from the prefill's logits.
				decode = append(decode, float64(len(res.IDs)-1)/res.DecodeSeconds)
			}
			return json.NewEncoder(cmd.OutOrStdout()).Encode(map[string]any{
				"backend":         backendLabel(m),
				"model":           model,
				"prompt_tokens":   promptLen,
				"new_tokens":      newTokens,
				"runs":            runs,
				"load_seconds":    loadSeconds,
				"warmup_seconds":  warmup,
				"prefill_tok_s":   median(prefill),
				"decode_tok_s":    median(decode),
				"prefill_all_tok": prefill,
				"decode_all_tok":  decode,
			})
		},
	}
	cmd.Flags().StringVar(&spec, "backend", "", "compute backend (default: $INFTY_BACKEND, else \"go\")")
	cmd.Flags().StringVar(&model, "model", "", "model folder (Hugging Face layout)")
	cmd.Flags().IntVar(&promptLen, "prompt", 512, "prompt length in tokens")
	cmd.Flags().IntVar(&newTokens, "new", 128, "tokens to generate per run")
	cmd.Flags().IntVar(&runs, "runs", 3, "timed runs after the warm-up (the median is reported)")
	_ = cmd.MarkFlagRequired("model")
	return cmd
}

func backendLabel(m *runtime.Model) string { return backend.Describe(m.Backend()) }

func median(v []float64) float64 {
	s := slices.Clone(v)
	slices.Sort(s)
	n := len(s)
	if n%2 == 1 {
		return s[n/2]
	}
	return (s[n/2-1] + s[n/2]) / 2
}
