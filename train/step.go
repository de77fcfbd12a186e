package train

import (
	"github.com/gomlx/compute"
	"github.com/gomlx/compute/dtypes"
	"github.com/gomlx/compute/shapes"
	. "github.com/gomlx/gomlx/core/graph" //nolint:revive // graph math reads like the formulas
	"github.com/gomlx/gomlx/core/tensors"
	"github.com/infty-dev/infty/runtime/arch"
)

// Hyper are the optimizer's constants baked into the step graph.
type Hyper struct {
	Beta1, Beta2, Eps float64
	WeightDecay       float64 // decoupled (AdamW), on matrices only, not on norms and biases
	ClipNorm          float64 // global gradient-norm clip; 0: off
}

// Loss builds a trainer's scalar loss from the model's logits [B, S, V] and the batch's
// inputs past the ids (Batch.Inputs, in order). The step differentiates it with respect to
// every weight, so it must be made of differentiable graph operations.
type Loss func(logits *Node, inputs []*Node) *Node

// Objective builds a trainer's loss, as Loss does, together with scalars it reports beside
// the loss (an entropy, a clip fraction), from the same logits and inputs, before the update:
// the two are built in one call so that what they share (a log softmax over the vocabulary)
// is in the graph once. The scalars are not differentiated.
type Objective func(logits *Node, inputs []*Node) (loss *Node, aux []*Node)

// Objective is loss reporting nothing beside it.
func (loss Loss) Objective() Objective {
	return func(logits *Node, inputs []*Node) (*Node, []*Node) { return loss(logits, inputs), nil }
}

// positionsFor returns 0..S-1 for every row of ids [B, S].
func positionsFor(ids *Node) *Node {
	return Iota(ids.Graph(), shapes.Make(dtypes.Int32, ids.Shape().Dimensions...), 1)
}

// forward is the logits of model on ids [B, S] with params bound by specs.
func forward(model arch.Model, specs []arch.TensorSpec, params []*Node, ids *Node) *Node {
	w, err := arch.Bind(specs, params)
	if err != nil {
		panic(err)
	}
	return model.Forward(w, ids, positionsFor(ids))
}

// appendAux appends the objective's scalars, not differentiated, to out.
func appendAux(out []*Node, aux []*Node) []*Node {
	for _, a := range aux {
		out = append(out, StopGradient(a))
	}
	return out
}

// stepGraph builds one AdamW step of loss. inputs: n params, n first moments, n second
// moments, then the scalars lr, c1 = 1/(1-β1^t), c2 = 1/(1-β2^t), then ids [B, S] Int32 and
// the loss's inputs. outputs: n params, n moments, n moments, loss, gradient norm (before
// clipping), then the objective's scalars.
func stepGraph(model arch.Model, specs []arch.TensorSpec, objective Objective, h Hyper, decay []bool) func([]*Node) []*Node {
	return func(in []*Node) []*Node {
		n := len(decay)
		params, m1, m2 := in[:n], in[n:2*n], in[2*n:3*n]
		lr, c1, c2 := in[3*n], in[3*n+1], in[3*n+2]
		ids := in[3*n+3]
		loss, aux := objective(forward(model, specs, params, ids), in[3*n+4:])
		out, norm := adamW(params, m1, m2, Gradient(loss, params...), lr, c1, c2, h, decay)
		return appendAux(append(out, loss, norm), aux)
	}
}

// adamW is the update of params from grads: n params, n moments, n moments, and the gradient
// norm before clipping.
func adamW(params, m1, m2, grads []*Node, lr, c1, c2 *Node, h Hyper, decay []bool) ([]*Node, *Node) {
	n := len(params)
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
	out := make([]*Node, 3*n)
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
	return out, norm
}

// accumGraph adds the gradient of loss on one micro-batch to a running sum. inputs: n params,
// n sums, ids and the loss's inputs. outputs: n sums, loss, then the objective's scalars.
func accumGraph(model arch.Model, specs []arch.TensorSpec, objective Objective) func([]*Node) []*Node {
	return func(in []*Node) []*Node {
		n := len(specs)
		params, sums := in[:n], in[n:2*n]
		loss, aux := objective(forward(model, specs, params, in[2*n]), in[2*n+1:])
		out := make([]*Node, 0, n+1)
		for i, gr := range Gradient(loss, params...) {
			out = append(out, Add(sums[i], gr))
		}
		return appendAux(append(out, loss), aux)
	}
}

// applyGraph is the AdamW step from summed gradients. inputs: n params, n moments, n moments,
// n gradients, lr, c1, c2. outputs: n params, n moments, n moments, gradient norm.
func applyGraph(h Hyper, decay []bool) func([]*Node) []*Node {
	return func(in []*Node) []*Node {
		n := len(decay)
		out, norm := adamW(in[:n], in[n:2*n], in[2*n:3*n], in[3*n:4*n], in[4*n], in[4*n+1], in[4*n+2], h, decay)
		return append(out, norm)
	}
}

// lossGraph evaluates loss without updating anything. inputs: n params, ids, the loss's
// inputs.
func lossGraph(model arch.Model, specs []arch.TensorSpec, lossOf Loss) func([]*Node) *Node {
	return func(in []*Node) *Node {
		n := len(specs)
		return lossOf(forward(model, specs, in[:n], in[n]), in[n+1:])
	}
}

// Probe evaluates a function of the model's logits on a batch for any set of weights, without
// updating anything: the log-probabilities a policy gives its samples, under the weights being
// trained or a frozen reference.
type Probe struct {
	exec *Exec
}

// NewProbe compiles fn over model's forward pass. fn gets the logits [B, S, V] and the batch's
// inputs past the ids.
func NewProbe(backend compute.Backend, model *Model, fn func(logits *Node, inputs []*Node) []*Node) (*Probe, error) {
	specs := model.Params.Specs
	exec, err := NewExec(backend, func(in []*Node) []*Node {
		n := len(specs)
		return fn(forward(model.Arch, specs, in[:n], in[n]), in[n+1:])
	})
	if err != nil {
		return nil, err
	}
	return &Probe{exec: exec}, nil
}

// Run evaluates the probe on b with weights (in the order of the model's Specs).
func (p *Probe) Run(weights []*tensors.Tensor, b Batch) ([]*tensors.Tensor, error) {
	args := make([]any, 0, len(weights)+1+len(b.Inputs))
	for _, w := range weights {
		args = append(args, w)
	}
	return p.exec.Call(append(args, b.args()...)...)
}
