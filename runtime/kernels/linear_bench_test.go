package kernels

import (
	"fmt"
	"testing"
	"time"

	"github.com/gomlx/gomlx/core/graph"
	"github.com/gomlx/gomlx/core/tensors"
	"github.com/infty-dev/infty/runtime/backend"
)

// BenchmarkLinearRows times Linear alone on the DeepSeek-R1-Distill-Qwen-1.5B shape's decode
// products (weights stored as DecodeBlocks row blocks, as the runtime stores them) with 1, 2, 4
// and 8 rows of x, and reports each as ms@N and its cost against one row as xN: how much of a
// batch's decode step the products take, which bounds what batching can gain.
func BenchmarkLinearRows(b *testing.B) {
	be, err := backend.Open("")
	if err != nil {
		b.Fatal(err)
	}
	for _, sh := range []struct {
		name    string
		out, in int
	}{{"gate-8960x1536", 8960, 1536}, {"down-1536x8960", 1536, 8960}, {"q-1536x1536", 1536, 1536}} {
		b.Run(sh.name, func(b *testing.B) {
			p := DecodeBlocks(sh.out, sh.in)
			w := make([]float32, sh.out*sh.in)
			for i := range w {
				w[i] = float32(i%7-3) * 0.01
			}
			weight := tensors.FromFlatDataAndDimensions(w, p, sh.out/p, sh.in)
			exec, err := graph.NewExec(be, func(x, w *graph.Node) *graph.Node { return Linear(x, w, nil) })
			if err != nil {
				b.Fatal(err)
			}
			defer exec.Finalize()
			rows := []int{1, 2, 4, 8}
			xs := make([]*tensors.Tensor, len(rows))
			for i, r := range rows {
				xs[i] = tensors.FromFlatDataAndDimensions(make([]float32, r*sh.in), r, sh.in)
				out, err := exec.Exec(xs[i], weight) // compile outside the timing
				if err != nil {
					b.Fatal(err)
				}
				out[0].FinalizeAll()
			}
			secs := make([]float64, len(rows))
			b.ResetTimer()
			for range b.N {
				for i := range rows {
					start := time.Now()
					out, err := exec.Exec(xs[i], weight)
					if err != nil {
						b.Fatal(err)
					}
					out[0].FinalizeAll()
					secs[i] += time.Since(start).Seconds() / float64(b.N)
				}
			}
			for i, r := range rows {
				b.ReportMetric(secs[i]*1e3, fmt.Sprintf("ms@%d", r))
				if i > 0 {
					b.ReportMetric(secs[i]/secs[0], fmt.Sprintf("x%d", r))
				}
			}
		})
	}
}
