package qwen

import (
	"math"
	"math/rand/v2"
	"testing"

	. "github.com/gomlx/gomlx/core/graph" //nolint:revive // graph math reads like the formulas
	"github.com/gomlx/gomlx/core/tensors"
	"github.com/infty-dev/infty/runtime/backend"
)

// TestDecodeSoftmaxKeepsTheBits holds decodeSoftmax to GoMLX's MaskedSoftmax bit for bit,
// on rows as decoding makes them (at least one visible score each) with masked scores far
// above and far below the visible ones, where the exponential overflows or clamps.
func TestDecodeSoftmaxKeepsTheBits(t *testing.T) {
	be, err := backend.Open("go")
	if err != nil {
		t.Fatal(err)
	}
	const rows, n = 24, 96
	rng := rand.New(rand.NewPCG(3, 4))
	scores, mask := make([]float32, rows*n), make([]bool, rows*n)
	for r := range rows {
		for i := range n {
			k := r*n + i
			mask[k] = rng.IntN(3) > 0
			scores[k] = float32(rng.NormFloat64() * 4)
			if !mask[k] && r%3 == 1 {
				scores[k] = float32(rng.IntN(2)*2-1) * 500 // a masked score 500 away
			}
		}
		mask[r*n+rng.IntN(n)] = true
	}
	x := tensors.FromFlatDataAndDimensions(scores, rows, n)
	m := tensors.FromFlatDataAndDimensions(mask, rows, n)
	run := func(f func(x, m *Node) *Node) []float32 {
		out := MustExecOnce(be, f, x, m)
		return tensors.MustCopyFlatData[float32](out)
	}
	want := run(func(x, m *Node) *Node { return MaskedSoftmax(x, m, -1) })
	got := run(decodeSoftmax)
	for k := range want {
		if math.Float32bits(got[k]) != math.Float32bits(want[k]) {
			t.Fatalf("row %d, score %d (mask %v): decodeSoftmax %g, MaskedSoftmax %g", k/n, k%n, mask[k], got[k], want[k])
		}
	}
}
