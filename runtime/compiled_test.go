package runtime

import (
	"path/filepath"
	"slices"
	"testing"

	"github.com/gomlx/compute"
	"github.com/infty-dev/infty/runtime/kernels"
)

// TestCompiledPathMatchesReference checks the fixtures' logits and greedy ids on the path a
// compiling backend (XLA, CUDA) takes, which scripts/gpu-check.sh checks on a GPU by hand:
// F32 and BF16 weights, the full forward pass and decoding through the KV cache.
func TestCompiledPathMatchesReference(t *testing.T) {
	// The pure-Go backend taken for a compiling one: weights laid out and multiplied as for
	// XLA, so that path's graphs run here, where no GPU or XLA plugin is.
	compiling := kernels.Compiling
	t.Cleanup(func() { kernels.Compiling = compiling })
	kernels.Compiling = func(compute.Backend) bool { return true }
	for _, name := range []string{"qwen2-tiny", "qwen3-tiny"} {
		ref := readReference(t, name)
		for _, dtype := range []string{"f32", "bf16"} {
			t.Run(name+"-"+dtype, func(t *testing.T) {
				m, err := Load(filepath.Join(modelsDir, ref.ByDType[dtype].ModelDir), WithBackend("go"), WithWeightDType(dtype))
				if err != nil {
					t.Fatal(err)
				}
				defer m.Close()
				for i, s := range m.Specs() {
					if got := m.Weights()[i].Shape().Dimensions; len(s.Shape) == 2 && !slices.Equal(got, s.Shape) {
						t.Fatalf("%s stored as %v, want the checkpoint's %v", s.Name, got, s.Shape)
					}
				}
				checkLogits(t, m, ref, dtype)
				checkGreedy(t, m, ref, dtype)
			})
		}
	}
}
