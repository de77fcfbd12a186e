package runtime_test

import (
	"context"
	"testing"
	"time"

	"github.com/infty-dev/infty/llm"
	"github.com/infty-dev/infty/runtime"
	"github.com/infty-dev/infty/session"
)

// timed measures the time spent inside the model (Generate minus the engine's token callbacks).
type timed struct {
	*runtime.Engine
	inModel time.Duration
}

func (m *timed) Generate(ctx context.Context, req llm.Request, yield func(llm.Token) error) (llm.Result, error) {
	var inYield time.Duration
	t0 := time.Now()
	res, err := m.Engine.Generate(ctx, req, func(tok llm.Token) error {
		t := time.Now()
		err := yield(tok)
		inYield += time.Since(t)
		return err
	})
	m.inModel += time.Since(t0) - inYield
	return res, err
}

// BenchmarkEngineVsRuntime runs native iterations of the fixture model through the engine and,
// as the baseline, a bare runtime generation of as many tokens on the first iteration's prompt.
// engine_% is the share of the engine's wall time spent outside the model (parsing, events,
// logging, prompt building); the tok/s of the two sub-benchmarks compare end to end (the
// engine also re-prefills after the boundaries it forces).
func BenchmarkEngineVsRuntime(b *testing.B) {
	m, err := loadB(b, "qwen3-tiny-f32")
	if err != nil {
		b.Fatal(err)
	}
	defer m.Close()
	cfg := session.Config{Eta: 96, Phi: 2, ConclusionMax: 16, SummaryMax: 16, Sampling: llm.Sampling{Temperature: 1, Seed: 2}}
	probe, _ := session.New(m, cfg)
	snap, err := probe.Solve(context.Background(), "Benchmark", nil)
	probe.Close()
	if err != nil {
		b.Fatal(err)
	}
	tokens := snap.Tokens
	prompt, _ := m.RenderChat([]llm.Message{{Role: "user", Content: "Benchmark"}}, true)
	ids, _ := m.Encode(prompt)

	b.Run("runtime", func(b *testing.B) {
		for b.Loop() {
			res, err := m.Generate(context.Background(), llm.Request{Prompt: ids, MaxTokens: tokens, Sampling: cfg.Sampling},
				func(llm.Token) error { return nil })
			if err != nil || len(res.IDs) == 0 {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(tokens*b.N)/b.Elapsed().Seconds(), "tok/s")
	})
	b.Run("engine", func(b *testing.B) {
		tm := &timed{Engine: m}
		for b.Loop() {
			e, _ := session.New(tm, cfg)
			if _, err := e.Solve(context.Background(), "Benchmark", nil); err != nil {
				b.Fatal(err)
			}
			e.Close()
		}
		b.ReportMetric(float64(tokens*b.N)/b.Elapsed().Seconds(), "tok/s")
		b.ReportMetric(100*(1-tm.inModel.Seconds()/b.Elapsed().Seconds()), "engine_%")
	})
}
