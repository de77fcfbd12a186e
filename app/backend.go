package app

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
)

// BackendInfo says which backend spec selects and, for XLA on CUDA, what discovery found; with
// open it also opens the backend and describes its device.
func BackendInfo(w io.Writer, spec string, open bool) error {
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
	if s.Kind == backend.KindGo {
		fmt.Fprintf(w, "CPU kernels: %s\n", backend.GoKernels())
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

// BackendBenchOptions are the flags of `infty backend bench`.
type BackendBenchOptions struct {
	Backend, Model       string
	PromptLen, NewTokens int
	Runs                 int
}

// BackendBench times prefill and decode of a model on a backend, after a warm-up run that
// compiles the graphs, and writes the rates as JSON to out.
func BackendBench(ctx context.Context, o BackendBenchOptions, out io.Writer) error {
	if o.PromptLen < 1 || o.NewTokens < 2 || o.Runs < 1 {
		return fmt.Errorf("need --prompt ≥ 1, --new ≥ 2 and --runs ≥ 1")
	}
	t0 := time.Now()
	m, err := runtime.Load(o.Model, runtime.WithBackend(o.Backend))
	if err != nil {
		return err
	}
	defer m.Close()
	loadSeconds := time.Since(t0).Seconds()
	m.EOS = nil // random weights: always time the full budget
	prompt := make([]int, o.PromptLen)
	for i := range prompt {
		prompt[i] = (i*7919 + 13) % m.Config.Vocab
	}
	req := llm.Request{Prompt: prompt, MaxTokens: o.NewTokens}
	t1 := time.Now()
	if _, err := m.Generate(ctx, req, func(llm.Token) error { return nil }); err != nil {
		return err
	}
	warmup := time.Since(t1).Seconds()
	var prefill, decode []float64
	for range o.Runs {
		res, err := m.Generate(ctx, req, func(llm.Token) error { return nil })
		if err != nil {
			return err
		}
		prefill = append(prefill, float64(o.PromptLen)/res.PrefillSeconds)
		// The first token comes from the prefill's logits.
		decode = append(decode, float64(len(res.IDs)-1)/res.DecodeSeconds)
	}
	return json.NewEncoder(out).Encode(map[string]any{
		"backend":         backend.Describe(m.Backend()),
		"model":           o.Model,
		"prompt_tokens":   o.PromptLen,
		"new_tokens":      o.NewTokens,
		"runs":            o.Runs,
		"load_seconds":    loadSeconds,
		"warmup_seconds":  warmup,
		"prefill_tok_s":   median(prefill),
		"decode_tok_s":    median(decode),
		"prefill_all_tok": prefill,
		"decode_all_tok":  decode,
	})
}

func median(v []float64) float64 {
	s := slices.Clone(v)
	slices.Sort(s)
	n := len(s)
	if n%2 == 1 {
		return s[n/2]
	}
	return (s[n/2-1] + s[n/2]) / 2
}
