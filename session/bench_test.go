package session_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/infty-dev/infty/llm"
	"github.com/infty-dev/infty/session"
)

// streamModel emits a fixed InftyThink+ turn by token index alone, at (almost) no cost, so the
// benchmarks below measure the engine, not the model: reasonTokens words, then the boundary
// and a short summary, or at iteration 2 a conclusion.
type streamModel struct{ reasonTokens int }

func (streamModel) Name() string { return "stream" }
func (streamModel) RenderChat(msgs []llm.Message, gen bool) (string, error) {
	s := ""
	for _, m := range msgs {
		s += "<|im_start|>" + m.Role + "\n" + m.Content + "<|im_end|>\n"
	}
	if gen {
		s += "<|im_start|>assistant\n"
	}
	return s, nil
}
func (streamModel) Encode(text string) ([]int, error) { return make([]int, len(text)/4+1), nil }

func (m streamModel) piece(k int, final bool) (string, bool) {
	switch {
	case k == 0:
		return "<think>", false
	case k == 1:
		return "\n", false
	case k < m.reasonTokens:
		return " word", false
	}
	tail := []string{"\n", "</think>", "<summary>", "\n", "all", " so", " far", "\n", "</summary>"}
	if final {
		tail = []string{"\n", "</think>", "\n", `\boxed{1}`, "\n"}
	}
	if i := k - m.reasonTokens; i < len(tail) {
		return tail[i], false
	}
	return "", true
}

func (m streamModel) Generate(ctx context.Context, req llm.Request, yield func(llm.Token) error) (llm.Result, error) {
	final := len(req.Prompt) > 16 // iterations after the first carry a history: conclude there
	for i := 0; i < req.MaxTokens; i++ {
		p, eos := m.piece(req.Offset+i, final)
		if eos {
			return llm.Result{Reason: llm.StopEOS}, nil
		}
		if err := yield(llm.Token{Index: req.Offset + i, Text: p}); err != nil {
			return llm.Result{Reason: llm.StopCanceled}, err
		}
	}
	return llm.Result{Reason: llm.StopBudget}, nil
}

// BenchmarkIteration compares a two-iteration native run through the engine with the bare
// token stream of the same model (the baseline): the ratio is the engine's per-token overhead
// (parsing, deltas, the pause gate) at InftyThink+ budgets.
func BenchmarkIteration(b *testing.B) {
	for _, eta := range []int{512, 6144} {
		m := streamModel{reasonTokens: eta - 16}
		b.Run(fmt.Sprintf("baseline/eta=%d", eta), func(b *testing.B) {
			for b.Loop() {
				for _, final := range []bool{false, true} {
					n := 0
					for k := 0; ; k++ {
						p, eos := m.piece(k, final)
						if eos {
							break
						}
						n += len(p)
					}
					if n == 0 {
						b.Fatal("empty")
					}
				}
			}
		})
		b.Run(fmt.Sprintf("engine/eta=%d", eta), func(b *testing.B) {
			for b.Loop() {
				e, err := session.New(m, session.Config{Eta: eta, Phi: 4})
				if err != nil {
					b.Fatal(err)
				}
				snap, err := e.Solve(context.Background(), "q", nil)
				if err != nil || len(snap.Iterations) != 2 {
					b.Fatal(err, len(snap.Iterations))
				}
				e.Close()
			}
		})
	}
}
