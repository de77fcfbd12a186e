package sft

import (
	"os"
	"testing"

	"github.com/infty-dev/infty/session/synth"
	"github.com/infty-dev/infty/train"
)

// BenchmarkStep times one AdamW update of the embedded model's recipe (2 layers × 64) on a batch
// of 16 iterative synthetic examples, the shape `make tiny-model` trains at.
func BenchmarkStep(b *testing.B) {
	ps, err := synth.Set(1, 64, 1, 60)
	if err != nil {
		b.Fatal(err)
	}
	ex, err := synth.Examples(ps, synth.ModeIterative, synth.DefaultStride)
	if err != nil {
		b.Fatal(err)
	}
	data, err := NewDataset(byteChat{}, conversations(ex), []int{258}, 256)
	if err != nil {
		b.Fatal(err)
	}
	cfgPath := recipeDir + "/config.json"
	if p := os.Getenv("INFTY_TRAIN_BENCH_CONFIG"); p != "" {
		cfgPath = p
	}
	m, err := train.InitModel(cfgPath, recipeDir, 1)
	if err != nil {
		b.Fatal(err)
	}
	tr, err := NewTrainer(testBackend(b), m, data, train.Options{Steps: 1 << 30, BatchSize: 16, LR: 1e-3, Seed: 1, MaxLen: 256}, "bench")
	if err != nil {
		b.Fatal(err)
	}
	if _, err := tr.Step(); err != nil { // compile
		b.Fatal(err)
	}
	b.ResetTimer()
	tokens := 0
	for range b.N {
		st, err := tr.Step()
		if err != nil {
			b.Fatal(err)
		}
		tokens += st.Tokens
	}
	b.ReportMetric(float64(tokens)/b.Elapsed().Seconds(), "trained-tok/s")
}
