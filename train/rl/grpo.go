package rl

import (
	"fmt"
	"math"
	"math/bits"
	"slices"

	"github.com/gomlx/compute/dtypes"
	"github.com/gomlx/compute/shapes"
	. "github.com/gomlx/gomlx/core/graph" //nolint:revive // graph math reads like the formulas
	"github.com/gomlx/gomlx/core/tensors"
	"github.com/infty-dev/infty/runtime/arch"
	"github.com/infty-dev/infty/train"
)

// AdvantageEps is the ε of (R − mean) / (std + ε).
const AdvantageEps = 1e-6

// Advantages normalises rewards within consecutive groups of g (one question's rollouts):
// (R − mean) / (std + ε), with the population standard deviation of the group. A group whose
// rewards are all equal carries no signal: its advantages are 0 and it is counted in skipped.
func Advantages(rewards []float64, g int) (adv []float64, skipped int) {
	adv = make([]float64, len(rewards))
	for lo := 0; lo < len(rewards); lo += g {
		grp := rewards[lo:min(lo+g, len(rewards))]
		mean := 0.0
		for _, r := range grp {
			mean += r
		}
		mean /= float64(len(grp))
		v, same := 0.0, true
		for _, r := range grp {
			v += (r - mean) * (r - mean)
			same = same && r == grp[0]
		}
		if same {
			skipped++
			continue
		}
		std := math.Sqrt(v / float64(len(grp)))
		for i, r := range grp {
			adv[lo+i] = (r - mean) / (std + AdvantageEps)
		}
	}
	return adv, skipped
}

// Objective are the loss's constants: the decoupled clip range of the probability ratio, the KL
// coefficient (0: no KL term) and the sampling temperature the log-probabilities are taken at.
type Objective struct {
	Low, High   float64
	KL          float64
	Temperature float64
}

// Batch input order after the ids: what Loss, Aux and the probes read.
const (
	inTargets = iota // [R, S] Int32: the next token at each position
	inWeight         // [R, S] Float32: 1/N at the N generated tokens of the whole step, 0 elsewhere
	inAdv            // [R, S] Float32: the trajectory's advantage
	inOld            // [R, S] Float32: the rollout's log-probability of the target
	inKnown          // [R, S] Float32: 1/K where inOld is one of the K recorded, 0 where the current policy stands in
	inRef            // [R, S] Float32: the reference model's log-probability (KL only)
)

// tokenLogProbs returns log softmax(logits/T) at targets and the entropy of that distribution,
// both [R, S].
func tokenLogProbs(logits, targets *Node, temperature float64) (logp, entropy *Node) {
	g := logits.Graph()
	dims := logits.Shape().Dimensions
	r, s, v := dims[0], dims[1], dims[2]
	flat := Reshape(logits, r*s, v)
	if temperature != 1 {
		flat = MulScalar(flat, 1/temperature)
	}
	maxes := StopGradient(ReduceAndKeep(flat, ReduceMax, -1))
	shifted := Sub(flat, maxes)
	lse := Log(ReduceSum(Exp(shifted), -1)) // of the shifted logits, [R*S]
	rows := Iota(g, shapes.Make(dtypes.Int32, r*s, 1), 0)
	idx := Concatenate([]*Node{rows, Reshape(targets, r*s, 1)}, -1)
	logp = Sub(Gather(shifted, idx), lse)
	probs := Exp(Sub(shifted, Reshape(lse, r*s, 1)))
	entropy = Sub(lse, ReduceSum(Mul(probs, shifted), -1))
	return Reshape(logp, r, s), Reshape(entropy, r, s)
}

// parts are the per-token pieces of the objective.
type parts struct {
	weight                *Node // [R, S]: 1/N at the step's N trained tokens
	logp, ratio, surr, k3 *Node
	clipped, gap, entropy *Node
}

func (c Objective) parts(logits *Node, in []*Node) parts {
	var p parts
	p.weight = in[inWeight]
	p.logp, p.entropy = tokenLogProbs(logits, in[inTargets], c.Temperature)
	g := logits.Graph()
	zero := ScalarZero(g, dtypes.Float32)
	known := ConvertDType(GreaterThan(in[inKnown], zero), dtypes.Float32)
	// Where the rollout recorded nothing the weights are still the rollout's (one update per
	// step), so the current log-probability is the rollout's, held constant.
	old := Add(Mul(known, in[inOld]), Mul(OneMinus(known), StopGradient(p.logp)))
	p.ratio = Exp(Sub(p.logp, old))
	adv := in[inAdv]
	clipped := ClipScalar(p.ratio, 1-c.Low, 1+c.High)
	p.surr = Min(Mul(p.ratio, adv), Mul(clipped, adv))
	hi := LogicalAnd(GreaterThan(adv, zero), GreaterThan(p.ratio, Scalar(g, dtypes.Float32, 1+c.High)))
	lo := LogicalAnd(LessThan(adv, zero), LessThan(p.ratio, Scalar(g, dtypes.Float32, 1-c.Low)))
	p.clipped = ConvertDType(LogicalOr(hi, lo), dtypes.Float32)
	p.gap = Mul(Abs(Sub(p.logp, in[inOld])), in[inKnown])
	if c.KL > 0 {
		// k3 = exp(ref − new) − (ref − new) − 1: unbiased for KL(π‖π_ref), never negative.
		d := Sub(in[inRef], p.logp)
		p.k3 = Sub(Sub(Exp(d), d), OnesLike(d))
	}
	return p
}

// mean is x's share of the mean over the step's trained tokens: summed over the micro-batches
// of a step, the mean.
func (p parts) mean(x *Node) *Node { return ReduceAllSum(Mul(x, p.weight)) }

// Loss is the clipped policy-gradient objective, averaged over every trained token of the
// step (token-level, not per sequence): −mean min(ρA, clip(ρ, 1−ε_low, 1+ε_high)A), plus
// KL·mean k3 when KL > 0, with ρ = exp(logp − logp_rollout). A micro-batch's loss is its
// share of the step's (the weights carry 1/N of the whole step).
func (c Objective) Loss(logits *Node, in []*Node) *Node { return c.loss(c.parts(logits, in)) }

func (c Objective) loss(p parts) *Node {
	loss := Neg(p.mean(p.surr))
	if c.KL > 0 {
		loss = Add(loss, MulScalar(p.mean(p.k3), c.KL))
	}
	return loss
}

// Aux are the step's diagnostics, before the update, each a micro-batch's share: mean entropy,
// the fraction of tokens whose ratio the clip cut, mean KL to the reference (0 without one),
// and the mean |logp − logp_rollout| over recorded tokens (the runtime against the trainer).
func (c Objective) Aux(logits *Node, in []*Node) []*Node { return c.aux(c.parts(logits, in)) }

func (c Objective) aux(p parts) []*Node {
	kl := ScalarZero(p.weight.Graph(), dtypes.Float32)
	if c.KL > 0 {
		kl = p.mean(p.k3)
	}
	return []*Node{p.mean(p.entropy), p.mean(p.clipped), kl, ReduceAllSum(p.gap)}
}

// LossAux is Loss and Aux from one set of parts (train.Objective): the log softmax over the
// vocabulary they both start from is built once in the update's graph, not twice.
func (c Objective) LossAux(logits *Node, in []*Node) (*Node, []*Node) {
	p := c.parts(logits, in)
	return c.loss(p), c.aux(p)
}

// The Aux scalars in order.
const (
	auxEntropy = iota
	auxClipFrac
	auxKL
	auxGap
)

// LogProbProbe returns log softmax(logits/T) at the targets, [R, S]: the trainer's view of
// what the rollout sampled, and the reference's for the KL term.
func LogProbProbe(temperature float64) func(logits *Node, in []*Node) []*Node {
	return func(logits *Node, in []*Node) []*Node {
		logp, _ := tokenLogProbs(logits, in[inTargets], temperature)
		return []*Node{logp}
	}
}

// row is one Generate call as a training sequence.
type row struct {
	call Call
	adv  float64
}

// MicroRows is the most sequences (Generate calls) in one micro-batch: the memory of the
// update's graph grows with it (about 15 MB a row of 256 positions for the embedded model).
const MicroRows = 32

// posBucket rounds a micro-batch's length up, so that steps reuse a few compiled graphs
// instead of compiling one per shape; past posLinear positions the buckets grow with the
// length (a quarter octave each), so a long window adds only a few shapes.
const (
	posBucket = 32
	posLinear = 256
)

// seqLen is the bucketed length of a micro-batch whose longest sequence is s.
func seqLen(s int) int {
	if s <= posLinear {
		return roundUp(s, posBucket)
	}
	octave := 1 << (bits.Len(uint(s-1)) - 1) // the power of two below s
	return roundUp(s, octave/4)
}

// rowCount is the rows of every micro-batch of a step of n sequences: MicroRows when there are
// that many (the last micro-batch padded with rows that train nothing), else the power of two
// above n. A step's graphs then differ only in length: a run of 55 steps whose last
// micro-batches came in every row count from 1 to 32 had exceeded the 32 graphs an executor
// keeps and stopped.
func rowCount(n int) int {
	if n >= MicroRows {
		return MicroRows
	}
	return 1 << bits.Len(uint(max(n, 1)-1))
}

// buildBatches lays out the calls of the trajectories with a nonzero advantage as rows, sorted
// by length and cut into micro-batches (less padding, bounded memory): ids are
// prompt+generated less the last token, targets the next token, and the weight is 1/N at
// exactly the N generated tokens of the step. known marks the log-probabilities recorded at
// rollout that are taken as the old policy: at temperature 1 every sampled one (the runtime
// records log softmax of the raw logits), at another temperature none. A step with nothing to
// train gives one empty micro-batch.
//
// Every micro-batch has rowCount rows (padded), or fewer where limit allows fewer at the
// micro-batch's length (nil: no limit), always a power of two, so that a step's graphs come in
// few shapes. A sequence too long to fit the limit even alone is an error.
func buildBatches(trajs []Trajectory, adv []float64, temperature float64, window int, limit *memoryLimit) ([]train.Batch, error) {
	var rows []row
	total, recorded := 0, 0
	for i, t := range trajs {
		if adv[i] == 0 {
			continue
		}
		for _, c := range t.Calls {
			rows = append(rows, row{call: c, adv: adv[i]})
			total += len(c.IDs)
			for _, lp := range c.LogProb {
				if temperature == 1 && !math.IsNaN(lp) {
					recorded++
				}
			}
		}
	}
	slices.SortStableFunc(rows, func(a, b row) int {
		return (len(a.call.Prompt) + len(a.call.IDs)) - (len(b.call.Prompt) + len(b.call.IDs))
	})
	var out []train.Batch
	n := rowCount(len(rows))
	for lo := 0; lo < len(rows) || len(out) == 0; {
		k := n
		hi := min(lo+k, len(rows))
		s := batchLen(rows[lo:hi], window)
		// Sorted by length, a micro-batch's last row is its longest: fewer rows can only make
		// it shorter, so this ends.
		for limit != nil {
			m := limit.rows(s)
			if m < 1 {
				return nil, fmt.Errorf("an update of one sequence of %d positions needs about %s, more than the %s --update-memory allows (a smaller --eta shortens the sequences)",
					s, train.Size(train.UpdateBytes(limit.cfg, 1, s)), train.Size(limit.budget))
			}
			if m >= k {
				break
			}
			k = 1 << (bits.Len(uint(m)) - 1) // a power of two, as n is
			hi = min(lo+k, len(rows))
			s = batchLen(rows[lo:hi], window)
		}
		out = append(out, layout(rows[lo:hi], k, s, temperature, total, recorded))
		lo = hi
	}
	return out, nil
}

// memoryLimit bounds the memory of a micro-batch's update (train.UpdateBytes) for a model.
type memoryLimit struct {
	cfg    *arch.Config
	budget int64
}

// rows is the most rows of seq positions, a power of two up to MicroRows, whose update fits
// the budget; 0 when not even one does.
func (l *memoryLimit) rows(seq int) int {
	for k := MicroRows; k >= 1; k /= 2 {
		if train.UpdateBytes(l.cfg, k, seq) <= l.budget {
			return k
		}
	}
	return 0
}

// batchLen is the positions of a micro-batch of rows: the longest sequence less its last token,
// bucketed (seqLen) but not past the window unless a sequence is.
func batchLen(rows []row, window int) int {
	s := 1
	for _, r := range rows {
		s = max(s, len(r.call.Prompt)+len(r.call.IDs)-1)
	}
	return min(seqLen(s), max(window, s))
}

// layout is one micro-batch of rows, padded to n rows of s positions (batchLen); total and
// recorded are the step's trained and recorded tokens.
func layout(rows []row, n, s int, temperature float64, total, recorded int) train.Batch {
	ids := make([]int32, n*s)
	targets := make([]int32, n*s)
	weight := make([]float32, n*s)
	advs := make([]float32, n*s)
	old := make([]float32, n*s)
	known := make([]float32, n*s)
	tokens := 0
	for i, r := range rows {
		seq := append(append([]int(nil), r.call.Prompt...), r.call.IDs...)
		base := i * s
		for j := 0; j+1 < len(seq); j++ {
			ids[base+j] = int32(seq[j])
			targets[base+j] = int32(seq[j+1])
		}
		for k := range r.call.IDs {
			j := base + len(r.call.Prompt) - 1 + k // predicts generated token k
			weight[j], advs[j] = 1/float32(total), float32(r.adv)
			if lp := r.call.LogProb[k]; temperature == 1 && !math.IsNaN(lp) {
				old[j], known[j] = float32(lp), 1/float32(recorded)
			}
			tokens++
		}
	}
	t := func(d any) *tensors.Tensor {
		switch d := d.(type) {
		case []int32:
			return tensors.FromFlatDataAndDimensions(d, n, s)
		default:
			return tensors.FromFlatDataAndDimensions(d.([]float32), n, s)
		}
	}
	return train.Batch{IDs: t(ids), Inputs: []*tensors.Tensor{t(targets), t(weight), t(advs), t(old), t(known)}, Tokens: tokens}
}

func roundUp(x, m int) int { return (x + m - 1) / m * m }
