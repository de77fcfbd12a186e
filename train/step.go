package train

import (
	"github.com/gomlx/compute/dtypes"
	"github.com/gomlx/compute/shapes"
	. "github.com/gomlx/gomlx/core/graph" //nolint:revive // graph math reads like the formulas
	"github.com/infty-dev/infty/runtime/arch"
)

// Hyper are the optimizer's constants baked into the step graph.
type Hyper struct {
	Beta1, Beta2, Eps float64
	WeightDecay       float64 // decoupled (AdamW), on matrices only, not on norms and biases
	ClipNorm          float64 // global gradient-norm clip; 0: off
}

// maskedLoss is the mean next-token cross-entropy over the positions where mask is 1: logits
// [B, S, V], targets [B, S] Int32, mask [B, S] Float32. The target logit is gathered rather
// than picked with a one-hot, so a 150k vocabulary costs no [B, S, V] one-hot tensor.
func maskedLoss(logits, targets, mask *Node) *Node {
	g := logits.Graph()
	dims := logits.Shape().Dimensions
	b, s, v := dims[0], dims[1], dims[2]
	flat := Reshape(logits, b*s, v)
	maxes := StopGradient(ReduceAndKeep(flat, ReduceMax, -1))
	lse := Add(Log(ReduceSum(Exp(Sub(flat, maxes)), -1)), Reshape(maxes, b*s))
	rows := Iota(g, shapes.Make(dtypes.Int32, b*s, 1), 0)
	idx := Concatenate([]*Node{rows, Reshape(targets, b*s, 1)}, -1)
	picked := Gather(flat, idx) // [B*S]
	nll := Mul(Sub(lse, picked), Reshape(mask, b*s))
	count := MaxScalar(ReduceAllSum(mask), 1)
	return Div(ReduceAllSum(nll), count)
}

// positionsFor returns 0..S-1 for every row of ids [B, S].
func positionsFor(ids *Node) *Node {
	return Iota(ids.Graph(), shapes.Make(dtypes.Int32, ids.Shape().Dimensions...), 1)
}

// stepGraph builds one AdamW step. inputs: n params, n first moments, n second moments, then
// the scalars lr, c1 = 1/(1-β1^t), c2 = 1/(1-β2^t), then ids, targets [B, S] Int32 and mask
// [B, S] Float32. outputs: n params, n moments, n moments, loss, gradient norm (before clipping).
func stepGraph(model arch.Model, specs []arch.TensorSpec, h Hyper, decay []bool) func([]*Node) []*Node {
	return func(in []*Node) []*Node {
		n := len(decay)
		params, m1, m2 := in[:n], in[n:2*n], in[2*n:3*n]
		lr, c1, c2 := in[3*n], in[3*n+1], in[3*n+2]
		ids, targets, mask := in[3*n+3], in[3*n+4], in[3*n+5]
		w, err := arch.Bind(specs, params)
		if err != nil {
			panic(err)
		}
		loss := maskedLoss(model.Forward(w, ids, positionsFor(ids)), targets, mask)
		grads := Gradient(loss, params...)
		var sq *Node
		for _, gr := range grads {
			s := ReduceAllSum(Square(gr))
			if sq == nil {
				sq = s
			} else {
				sq = Add(sq, s)
			}
		}
		norm := Sqrt(sq)
		scale := OnesLike(norm)
		if h.ClipNorm > 0 {
			scale = MinScalar(Div(Scalar(norm.Graph(), dtypes.Float32, h.ClipNorm), AddScalar(norm, 1e-6)), 1)
		}
		out := make([]*Node, 3*n+2)
		for i, p := range params {
			gr := Mul(grads[i], scale)
			m := Add(MulScalar(m1[i], h.Beta1), MulScalar(gr, 1-h.Beta1))
			v := Add(MulScalar(m2[i], h.Beta2), MulScalar(Square(gr), 1-h.Beta2))
			update := Div(Mul(m, c1), AddScalar(Sqrt(Mul(v, c2)), h.Eps))
			if decay[i] && h.WeightDecay > 0 {
				update = Add(update, MulScalar(p, h.WeightDecay))
			}
			out[i] = Sub(p, Mul(update, lr))
			out[n+i], out[2*n+i] = m, v
		}
		out[3*n], out[3*n+1] = loss, norm
		return out
	}
}

// lossGraph evaluates the masked loss without updating anything. inputs: n params, ids,
// targets, mask.
func lossGraph(model arch.Model, specs []arch.TensorSpec) func([]*Node) *Node {
	return func(in []*Node) *Node {
		n := len(specs)
		w, err := arch.Bind(specs, in[:n])
		if err != nil {
			panic(err)
		}
		ids, targets, mask := in[n], in[n+1], in[n+2]
		return maskedLoss(model.Forward(w, ids, positionsFor(ids)), targets, mask)
	}
}
