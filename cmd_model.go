package main

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"

	"github.com/infty-dev/infty/llm"
	"github.com/infty-dev/infty/runtime"
	"github.com/infty-dev/infty/runtime/backend"
	"github.com/spf13/cobra"
)

func init() {
	addCommand(newLogitsCmd)
	addCommand(newGenerateCmd)
}

// modelFlags are the flags every model-level command shares.
type modelFlags struct {
	model, ids, backend, weightDType string
}

func (f *modelFlags) register(cmd *cobra.Command) {
	cmd.Flags().StringVar(&f.model, "model", "", "model folder (Hugging Face layout)")
	cmd.Flags().StringVar(&f.ids, "ids", "", "comma-separated prompt token ids, e.g. 3,17,42")
	cmd.Flags().StringVar(&f.backend, "backend", "", "compute backend: "+backend.Usage+" (default: $INFTY_BACKEND, else go)")
	cmd.Flags().StringVar(&f.weightDType, "weight-dtype", "", "how weight matrices are kept: f32 (exact), bf16 (half the memory, faster decode) or q8 (8-bit Q8_0 blocks, about a quarter of the memory; default: $INFTY_WEIGHT_DTYPE, else f32)")
	_ = cmd.MarkFlagRequired("model")
	_ = cmd.MarkFlagRequired("ids")
}

// load parses the ids and loads the model; a panic anywhere below becomes an error, so a
// broken model folder never crashes the program.
func (f *modelFlags) load() (m *runtime.Model, ids []int, err error) {
	if ids, err = parseIDs(f.ids); err != nil {
		return nil, nil, err
	}
	defer func() {
		if r := recover(); r != nil {
			m, err = nil, fmt.Errorf("loading %s: %v", f.model, r)
		}
	}()
	m, err = runtime.Load(f.model, runtime.WithBackend(f.backend), runtime.WithWeightDType(f.weightDType))
	return m, ids, err
}

func parseIDs(s string) ([]int, error) {
	var ids []int
	for _, field := range strings.Split(s, ",") {
		id, err := strconv.Atoi(strings.TrimSpace(field))
		if err != nil {
			return nil, fmt.Errorf("--ids: %q is not a token id", field)
		}
		ids = append(ids, id)
	}
	return ids, nil
}

func printJSON(cmd *cobra.Command, v any) error {
	return json.NewEncoder(cmd.OutOrStdout()).Encode(v)
}

func newLogitsCmd() *cobra.Command {
	var f modelFlags
	cmd := &cobra.Command{
		Use:   "logits --model DIR --ids 3,17,42",
		Short: "Print the logits at every position of the given token ids (full forward pass) as JSON",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) (err error) {
			m, ids, err := f.load()
			if err != nil {
				return err
			}
			defer m.Close()
			logits, err := m.Logits(ids)
			if err != nil {
				return err
			}
			return printJSON(cmd, map[string]any{"logits": logits})
		},
	}
	f.register(cmd)
	return cmd
}

func newGenerateCmd() *cobra.Command {
	var (
		f         modelFlags
		maxTokens int
		sampling  llm.Sampling
	)
	cmd := &cobra.Command{
		Use:   "generate --model DIR --ids 3,17,42 --max-tokens N",
		Short: "Continue the given token ids through the KV cache and print the generated ids as JSON",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			m, ids, err := f.load()
			if err != nil {
				return err
			}
			defer m.Close()
			ctx := cmd.Context()
			if ctx == nil {
				ctx = context.Background()
			}
			res, err := m.Generate(ctx, llm.Request{Prompt: ids, MaxTokens: maxTokens, Sampling: sampling},
				func(llm.Token) error { return nil })
			if err != nil {
				return err
			}
			if res.IDs == nil {
				res.IDs = []int{}
			}
			return printJSON(cmd, map[string]any{"ids": res.IDs})
		},
	}
	f.register(cmd)
	cmd.Flags().IntVar(&maxTokens, "max-tokens", 16, "maximum number of tokens to generate")
	cmd.Flags().Float64Var(&sampling.Temperature, "temperature", 0, "sampling temperature; 0 is greedy")
	cmd.Flags().IntVar(&sampling.TopK, "top-k", 0, "keep only the k most likely tokens (0: off)")
	cmd.Flags().Float64Var(&sampling.TopP, "top-p", 0, "keep the smallest set of tokens whose probability reaches p (0 or 1: off)")
	cmd.Flags().Uint64Var(&sampling.Seed, "seed", 0, "random seed for sampling")
	return cmd
}
