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
// products with 1, 2, 4, 8 and 16 rows of x, and reports each as ms@N and its cost against one
// row as xN: how much of a batch's decode step the products take, which bounds what batching
// can gain. The weight is passed as the runtime passes it (laid out as DecodeShape says, a
// parameter of the graph); where that splits the contraction into parts, blocks-ms@N times
// the layout before, row blocks alone, alternating with it. const-ms@N times the same product with the weight as a graph constant, which the
// pure-Go backend packs once for its GEMM kernel instead of on every call, and const-x8 is its
// 8 rows against the stored weight's one row. The runtime does not do that: every compiled
// graph would hold a copy and a packed copy of every weight, ~14 GB per decode graph shape for
// the 1.5B shape in Float32.
func BenchmarkLinearRows(b *testing.B) {
	be, err := backend.Open("")
	if err != nil {
		b.Fatal(err)
	}
	rows := []int{1, 2, 4, 8, 16}
	for _, sh := range []struct {
		name    string
		out, in int
	}{{"gate-8960x1536", 8960, 1536}, {"down-1536x8960", 1536, 8960}, {"q-1536x1536", 1536, 1536}} {
		b.Run(sh.name, func(b *testing.B) {
			w := make([]float32, sh.out*sh.in)
			for i := range w {
				w[i] = float32(i%7-3) * 0.01
			}
			laid := store(w, sh.out, sh.in)
			stored, err := graph.NewExec(be, func(x, w *graph.Node) *graph.Node { return Linear(x, w, nil) })
			if err != nil {
				b.Fatal(err)
			}
			defer stored.Finalize()
			matrix := tensors.FromFlatDataAndDimensions(w, sh.out, sh.in)
			constant, err := graph.NewExec(be, func(x *graph.Node) *graph.Node {
				return graph.DotGeneral(x, []int{1}, nil, graph.Const(x.Graph(), matrix), []int{1}, nil)
			})
			if err != nil {
				b.Fatal(err)
			}
			defer constant.Finalize()
			ways := []func(x *tensors.Tensor) ([]*tensors.Tensor, error){
				func(x *tensors.Tensor) ([]*tensors.Tensor, error) { return stored.Call(x, laid) },
				func(x *tensors.Tensor) ([]*tensors.Tensor, error) { return constant.Call(x) },
			}
			if laid.Rank() == 4 {
				// The layout before parts, row blocks alone, as the baseline.
				p := blockSplit(MaxBlockRows, sh.out, sh.in)
				blocks := tensors.FromFlatDataAndDimensions(w, p, sh.out/p, sh.in)
				ways = append(ways, func(x *tensors.Tensor) ([]*tensors.Tensor, error) { return stored.Call(x, blocks) })
			}
			secs := timeRows(b, rows, sh.in, ways...)
			for i, r := range rows {
				b.ReportMetric(secs[0][i]*1e3, fmt.Sprintf("ms@%d", r))
				b.ReportMetric(secs[1][i]*1e3, fmt.Sprintf("const-ms@%d", r))
				if len(secs) > 2 {
					b.ReportMetric(secs[2][i]*1e3, fmt.Sprintf("blocks-ms@%d", r))
				}
				if i > 0 {
					b.ReportMetric(secs[0][i]/secs[0][0], fmt.Sprintf("x%d", r))
				}
			}
			// Against the stored weight's one row, which is how a single stream decodes.
			b.ReportMetric(secs[1][len(rows)-1]/secs[0][0], fmt.Sprintf("const-x%d", rows[len(rows)-1]))
		})
	}
}

// timeRows times each way of multiplying on x of each count of rows, alternating them
// (compiled outside the timing), and returns the seconds a call of each way and count.
func timeRows(b *testing.B, rows []int, in int, ways ...func(x *tensors.Tensor) ([]*tensors.Tensor, error)) [][]float64 {
	xs := make([]*tensors.Tensor, len(rows))
	call := func(run func(x *tensors.Tensor) ([]*tensors.Tensor, error), x *tensors.Tensor) {
		out, err := run(x)
		if err != nil {
			b.Fatal(err)
		}
		out[0].FinalizeAll()
	}
	for i, r := range rows {
		xs[i] = tensors.FromFlatDataAndDimensions(make([]float32, r*in), r, in)
		for _, run := range ways {
			call(run, xs[i])
		}
	}
	secs := make([][]float64, len(ways))
	for w := range ways {
		secs[w] = make([]float64, len(rows))
	}
	b.ResetTimer()
	for range b.N {
		for i := range rows {
			for w, run := range ways {
				start := time.Now()
				call(run, xs[i])
				secs[w][i] += time.Since(start).Seconds() / float64(b.N)
			}
		}
	}
	return secs
}
