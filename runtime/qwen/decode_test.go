package qwen

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	. "github.com/gomlx/gomlx/core/graph" //nolint:revive // graph math reads like the formulas
	"github.com/gomlx/gomlx/core/tensors"
	"github.com/infty-dev/infty/runtime/arch"
	"github.com/infty-dev/infty/runtime/backend"
)

// TestDecodeSoftmaxKeepsTheBits holds decodeSoftmax to GoMLX's MaskedSoftmax bit for bit,
// on rows as decoding makes them (at least one visible score each), some with masked scores
// far above and far below the visible ones, some whose visible scores are huge, positive or
// negative (the lowest Float32 minus the largest score overflows, or nearly).
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
			switch {
			case !mask[k] && r%3 == 1:
				scores[k] = float32(rng.IntN(2)*2-1) * 500 // a masked score 500 away
			case r%6 == 2:
				scores[k] *= 1e36
			case r%6 == 5:
				scores[k] = scores[k]*1e30 - 3e37
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

// TestRopeTablesKeepTheBits holds the rotary tables a decode graph looks its positions up in
// to the cos and sin it computes otherwise, bit for bit, for every position of a cache of 256
// and a head_dim of 16, and checks that a padding position past the cache looks up its last.
func TestRopeTablesKeepTheBits(t *testing.T) {
	be, err := backend.Open("go")
	if err != nil {
		t.Fatal(err)
	}
	cfg := &arch.Config{HeadDim: 16, RopeTheta: 100}
	const n = 256
	pos := make([]int32, n+1)
	for i := range n {
		pos[i] = int32(i)
	}
	pos[n] = n + 40 // padding past the cache
	positions := tensors.FromFlatDataAndDimensions(pos, 1, n+1)
	for i, name := range []string{"cos", "signedSin"} {
		run := func(maxPos int) []float32 {
			out := MustExecOnce(be, func(p *Node) *Node {
				c, s := rope(cfg, p, maxPos)
				return []*Node{c, s}[i]
			}, positions)
			return tensors.MustCopyFlatData[float32](out)
		}
		want, got := run(0), run(n)
		for k := range n * cfg.HeadDim {
			if math.Float32bits(got[k]) != math.Float32bits(want[k]) {
				t.Fatalf("%s at position %d, element %d: table %g, computed %g", name, k/cfg.HeadDim, k%cfg.HeadDim, got[k], want[k])
			}
		}
		last := got[n*cfg.HeadDim:]
		if !slices.Equal(last, got[(n-1)*cfg.HeadDim:n*cfg.HeadDim]) {
			t.Errorf("%s: padding past the cache got %v, want position %d's row", name, last, n-1)
		}
	}
}
