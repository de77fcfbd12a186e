// Package qwen defines the Qwen2 and Qwen3 decoder-only transformers, registered with
// runtime/arch under their Hugging Face names. Weights are bound by their checkpoint names
// into the structs below; how they lie in memory and which kernels multiply them is
// runtime/kernels' business.
package qwen

import (
	"fmt"
	"math"
	"slices"

	"github.com/gomlx/compute/dtypes"
	"github.com/gomlx/compute/shapes"
	. "github.com/gomlx/gomlx/core/graph" //nolint:revive // graph math reads like the paper this way
	"github.com/gomlx/gomlx/core/tensors"
	"github.com/infty-dev/infty/runtime/arch"
	"github.com/infty-dev/infty/runtime/kernels"
)

func init() {
	arch.Register("Qwen2ForCausalLM", New)
	arch.Register("Qwen3ForCausalLM", New)
}

// Model is Qwen2 or Qwen3 for one config.
type Model struct {
	cfg    *arch.Config
	bias   bool // q/k/v projections have biases (always for Qwen2)
	qkNorm bool // per-head RMSNorm of q and k before RoPE (Qwen3)
}

// New validates cfg for Qwen2/Qwen3.
func New(cfg *arch.Config) (arch.Model, error) {
	m := &Model{cfg: cfg}
	switch cfg.Architecture {
	case "Qwen2ForCausalLM":
		m.bias = true
	case "Qwen3ForCausalLM":
		m.qkNorm = true
		m.bias = cfg.AttentionBias != nil && *cfg.AttentionBias
	default:
		return nil, fmt.Errorf("qwen: architecture %q is not Qwen2 or Qwen3", cfg.Architecture)
	}
	switch {
	case cfg.HiddenAct != "" && cfg.HiddenAct != "silu":
		return nil, fmt.Errorf("unsupported hidden_act %q (only silu)", cfg.HiddenAct)
	case cfg.RopeScaling != nil:
		return nil, fmt.Errorf("rope_scaling is not supported (got %s)", cfg.RopeScaling)
	case cfg.SlidingWindow:
		return nil, fmt.Errorf("use_sliding_window=true is not supported")
	}
	return m, nil
}

// weights are the model's tensors. Linear weights are [out, in] as in the checkpoint, or laid
// out by runtime/kernels (row or column blocks, bfloat16).
type weights struct {
	Embed  *Node `hf:"model.embed_tokens.weight"` // [vocab, hidden]
	Norm   *Node `hf:"model.norm.weight"`         // [hidden]
	Output *Node `hf:"lm_head.weight,optional"`   // [vocab, hidden]; absent when tied to Embed
	Layers []layer
}

// layer is one decoder block, under model.layers.N.
type layer struct {
	AttnNorm *Node `hf:"input_layernorm.weight"`           // [hidden]
	Q        *Node `hf:"self_attn.q_proj.weight"`          // [heads·headDim, hidden]
	K        *Node `hf:"self_attn.k_proj.weight"`          // [kvHeads·headDim, hidden]
	V        *Node `hf:"self_attn.v_proj.weight"`          // [kvHeads·headDim, hidden]
	O        *Node `hf:"self_attn.o_proj.weight"`          // [hidden, heads·headDim]
	QBias    *Node `hf:"self_attn.q_proj.bias,optional"`   // [heads·headDim]
	KBias    *Node `hf:"self_attn.k_proj.bias,optional"`   // [kvHeads·headDim]
	VBias    *Node `hf:"self_attn.v_proj.bias,optional"`   // [kvHeads·headDim]
	QNorm    *Node `hf:"self_attn.q_norm.weight,optional"` // [headDim], Qwen3
	KNorm    *Node `hf:"self_attn.k_norm.weight,optional"` // [headDim], Qwen3
	MLPNorm  *Node `hf:"post_attention_layernorm.weight"`  // [hidden]
	Gate     *Node `hf:"mlp.gate_proj.weight"`             // [inter, hidden]
	Up       *Node `hf:"mlp.up_proj.weight"`               // [inter, hidden]
	Down     *Node `hf:"mlp.down_proj.weight"`             // [hidden, inter]
}

// Specs implements arch.Model. The order is the one checkpoints have always been written in.
func (m *Model) Specs() []arch.TensorSpec {
	c := m.cfg
	h, q, kv := c.Hidden, c.Heads*c.HeadDim, c.KVHeads*c.HeadDim
	specs := []arch.TensorSpec{{Name: "model.embed_tokens.weight", Shape: []int{c.Vocab, h}}}
	for l := range c.Layers {
		add := func(name string, shape ...int) {
			specs = append(specs, arch.TensorSpec{Name: fmt.Sprintf("model.layers.%d.%s", l, name), Shape: shape})
		}
		add("input_layernorm.weight", h)
		add("post_attention_layernorm.weight", h)
		add("self_attn.q_proj.weight", q, h)
		add("self_attn.k_proj.weight", kv, h)
		add("self_attn.v_proj.weight", kv, h)
		add("self_attn.o_proj.weight", h, q)
		if m.bias {
			add("self_attn.q_proj.bias", q)
			add("self_attn.k_proj.bias", kv)
			add("self_attn.v_proj.bias", kv)
		}
		if m.qkNorm {
			add("self_attn.q_norm.weight", c.HeadDim)
			add("self_attn.k_norm.weight", c.HeadDim)
		}
		add("mlp.gate_proj.weight", c.Intermediate, h)
		add("mlp.up_proj.weight", c.Intermediate, h)
		add("mlp.down_proj.weight", h, c.Intermediate)
	}
	specs = append(specs, arch.TensorSpec{Name: "model.norm.weight", Shape: []int{h}})
	if !c.TieEmbeddings {
		specs = append(specs, arch.TensorSpec{Name: "lm_head.weight", Shape: []int{c.Vocab, h}})
	}
	return specs
}

// bind looks up every tensor by name; a tied model projects onto the vocabulary with Embed.
func (m *Model) bind(w arch.Weights) *weights {
	out := &weights{Layers: make([]layer, m.cfg.Layers)}
	must(arch.Populate(out, w, ""))
	for l := range out.Layers {
		must(arch.Populate(&out.Layers[l], w, fmt.Sprintf("model.layers.%d.", l)))
	}
	if m.cfg.TieEmbeddings {
		out.Output = out.Embed
	}
	return out
}

// must turns a binding error into a panic, which is how a graph-building function reports
// errors to GoMLX's NewExec.
func must(err error) {
	if err != nil {
		panic(err)
	}
}

// Forward implements arch.Model: a token sees every token of its row whose position is not
// greater than its own.
func (m *Model) Forward(w arch.Weights, ids, positions *Node) *Node {
	ws := m.bind(w)
	keysFromSelf := func(_ int, k, v *Node) (keys, values, keyPositions *Node) {
		return TransposeAllDims(k, 0, 2, 1, 3), TransposeAllDims(v, 0, 2, 1, 3), positions
	}
	return m.lmHead(ws, m.decoder(ws, ids, positions, 0, keysFromSelf))
}

// Step implements arch.Model as a batch of one sequence in a cache of one slot.
func (m *Model) Step(w arch.Weights, ids, start, nValid *Node, cache *arch.Cache) (logits *Node, updated *arch.Cache) {
	g := ids.Graph()
	one := func(x *Node) *Node { return InsertAxes(x, 0) }
	batched := &arch.Cache{K: make([]*Node, len(cache.K)), V: make([]*Node, len(cache.V))}
	for l := range cache.K {
		batched.K[l], batched.V[l] = one(cache.K[l]), one(cache.V[l])
	}
	slot := Zeros(g, shapes.Make(dtypes.Int32, 1))
	logits, updated = m.StepBatch(w, one(ids), slot, one(start), one(nValid), batched)
	for l := range updated.K {
		updated.K[l], updated.V[l] = Squeeze(updated.K[l], 0), Squeeze(updated.V[l], 0)
	}
	return Squeeze(logits, 0), updated
}

var _ arch.BatchStepper = (*Model)(nil)

// StepBatch implements arch.BatchStepper. A row's keys and values go into the slot's positions
// by a ScatterSum onto the zeros there (0 + x is exactly x): it touches only the positions
// written, in place when the caller donates the cache buffers, where a replacing scatter would
// rewrite the whole cache. Padding adds zeros. (Clearing the old values in the same graph, by
// a second ScatterSum of them negated, took a gather, two products and that scatter for each
// of K and V in every layer: ~4% of a 32-row step of the tiny model.)
//
// The cache is head-major, [slots, kvHeads, cacheLen, headDim], so that both attention
// products take it as it lies ([batch, kvHeads] leading, then positions): laid out by
// position, the backend transposed every slot's keys and values on every step: a quarter of
// a 64-row step of the tiny model.
func (m *Model) StepBatch(w arch.Weights, ids, slot, start, nValid *Node, cache *arch.Cache) (logits *Node, updated *arch.Cache) {
	cfg, ws := m.cfg, m.bind(w)
	g := ids.Graph()
	b, s := ids.Shape().Dimensions[0], ids.Shape().Dimensions[1]
	kvh, cacheLen := cfg.KVHeads, cache.K[0].Shape().Dimensions[2]
	offsets := Iota(g, shapes.Make(dtypes.Int32, b, s), 1)
	positions := Add(offsets, Reshape(start, b, 1))
	valid := LessThan(offsets, Reshape(nValid, b, 1))
	// keep is 1 for the ids fed and 0 for padding, spread once over every head and element of
	// the keys and values it multiplies: broadcast in each product instead, the backend went
	// element by element through its index iterator, four times a layer.
	keep := BroadcastToDims(Reshape(ConvertDType(valid, dtypes.Float32), b, 1, s, 1), b, kvh, s, cfg.HeadDim)
	// Where each row's keys go, [b, kvHeads, s, 3]: (slot, head, position). Padding may lie
	// past the cache's end: it writes zeros, so any position in range will do.
	dims := []int{b, kvh, s}
	where := Stack([]*Node{
		BroadcastToDims(Reshape(slot, b, 1, 1), dims...),
		Iota(g, shapes.Make(dtypes.Int32, dims...), 1),
		BroadcastToDims(Reshape(MinScalar(positions, cacheLen-1), b, 1, s), dims...),
	}, -1)
	slotPositions := BroadcastToDims(Iota(g, shapes.Make(dtypes.Int32, 1, cacheLen), 1), b, cacheLen)
	dense := b == cache.K[0].Shape().Dimensions[0] // row r is slot r: attend to the cache as it is
	rows := Reshape(slot, b, 1)
	replace := func(c, x *Node) *Node {
		x = TransposeAllDims(x, 0, 2, 1, 3) // [b, kvHeads, s, headDim]
		return ScatterSum(c, where, Mul(x, keep), false, false)
	}
	updated = &arch.Cache{K: make([]*Node, cfg.Layers), V: make([]*Node, cfg.Layers)}
	intoCache := func(l int, k, v *Node) (keys, values, keyPositions *Node) {
		updated.K[l], updated.V[l] = replace(cache.K[l], k), replace(cache.V[l], v)
		if dense {
			return updated.K[l], updated.V[l], slotPositions
		}
		return Gather(updated.K[l], rows), Gather(updated.V[l], rows), slotPositions
	}
	x := m.decoder(ws, ids, positions, cacheLen, intoCache) // [b, s, hidden]
	last := Stack([]*Node{Iota(g, shapes.Make(dtypes.Int32, b), 0), MaxScalar(AddScalar(nValid, -1), 0)}, -1)
	return m.lmHead(ws, Gather(x, last)), updated // [b, vocab]
}

// keySource gives layer l's attention its keys and values [batch, kvHeads, T, headDim] and
// their positions [batch, T], from the chunk's own k and v [batch, seq, kvHeads, headDim]
// (plus, with a cache, the past).
type keySource func(l int, k, v *Node) (keys, values, keyPositions *Node)

// decoder embeds ids and runs every block: pre-norm residual attention, then pre-norm
// residual SiLU-gated MLP. Returns the hidden states [batch, seq, hidden] before the final norm.
// maxPos > 0 says every position is below it (a decode step's cache length), 0 nothing.
func (m *Model) decoder(w *weights, ids, positions *Node, maxPos int, kv keySource) *Node {
	cfg := m.cfg
	x := kernels.Embed(w.Embed, ids) // [batch, seq, hidden]
	sh := &shared{positions: positions}
	sh.cos, sh.sin = rope(cfg, positions, maxPos)
	for l := range w.Layers {
		lw := &w.Layers[l]
		x = Add(x, m.attention(lw, rmsNorm(x, lw.AttnNorm, cfg.RMSEps), sh, l, kv))
		h := rmsNorm(x, lw.MLPNorm, cfg.RMSEps)
		gate := kernels.Linear(h, lw.Gate, nil)
		x = Add(x, kernels.Linear(Mul(Mul(gate, Logistic(gate)), kernels.Linear(h, lw.Up, nil)), lw.Down, nil))
	}
	return x
}

// shared holds what every layer's attention uses alike, built once per graph: the positions,
// their rotary embedding and the decode mask (which keys each query sees).
type shared struct {
	positions, cos, sin, decodeMask *Node
	rotary                          map[int][2]*Node // cos and sin over n heads, by n
}

// rotaryFor returns cos and sin repeated over n heads, [batch, seq, n, headDim], built once per
// graph for each n. Multiplied by a query or key of the same shape, the backend takes its
// vector kernel; broadcast over the heads in the product, it went element by element through
// its index iterator, four products a layer. One token (a single stream's decode step) is
// left to broadcast: its products are too small for the copies to pay.
func (sh *shared) rotaryFor(n int) (cos, sin *Node) {
	if n == 1 || sh.positions.Shape().Size() == 1 {
		return sh.cos, sh.sin
	}
	if r, ok := sh.rotary[n]; ok {
		return r[0], r[1]
	}
	cos = Concatenate(slices.Repeat([]*Node{sh.cos}, n), 2)
	sin = Concatenate(slices.Repeat([]*Node{sh.sin}, n), 2)
	if sh.rotary == nil {
		sh.rotary = map[int][2]*Node{}
	}
	sh.rotary[n] = [2]*Node{cos, sin}
	return cos, sin
}

// attention is grouped-query attention: each of the kvHeads key/value heads serves
// heads/kvHeads query heads. Many queries are grouped as [batch, kvHeads, seq, group, headDim]
// and contracted against the shared keys without copying them per query head; a few
// (decoding) meet every kv head's keys, those of the other heads masked.
func (m *Model) attention(lw *layer, x *Node, sh *shared, l int, kv keySource) *Node {
	cfg := m.cfg
	b, s := x.Shape().Dimensions[0], x.Shape().Dimensions[1]
	d, group := cfg.HeadDim, cfg.Heads/cfg.KVHeads
	q := Reshape(kernels.Linear(x, lw.Q, lw.QBias), b, s, cfg.Heads, d)
	k := Reshape(kernels.Linear(x, lw.K, lw.KBias), b, s, cfg.KVHeads, d)
	v := Reshape(kernels.Linear(x, lw.V, lw.VBias), b, s, cfg.KVHeads, d)
	if m.qkNorm { // Qwen3 normalises each head before rotating it
		q, k = rmsNorm(q, lw.QNorm, cfg.RMSEps), rmsNorm(k, lw.KNorm, cfg.RMSEps)
	}
	positions := sh.positions
	qCos, qSin := sh.rotaryFor(cfg.Heads)
	kCos, kSin := sh.rotaryFor(cfg.KVHeads)
	q, k = applyRope(q, qCos, qSin), applyRope(k, kCos, kSin)
	keys, values, keyPositions := kv(l, k, v)
	t := keys.Shape().Dimensions[2]

	q = MulScalar(q, 1/math.Sqrt(float64(d)))
	var out *Node
	if s <= kernels.MaxMatvecRows {
		// Few queries (decoding): every query head of a row against the keys of every kv head,
		// [b] batches of (s·heads) × d · (kv·t × d)ᵀ, the keys and values as they lie, with the
		// scores of the other kv heads' keys masked to exactly 0 probability. Twice the
		// products of pairing each kv head with its own queries only, but as b batches instead
		// of b·kv, which on the pure-Go backend (whose cost for such small products is mostly
		// per batch) made decode attention a third faster at 64 rows.
		if sh.decodeMask == nil {
			sh.decodeMask = decodeMask(cfg, keyPositions, positions)
		}
		mask := sh.decodeMask
		// The keys and values go in as they lie, [b, kv, t, d]: a Reshape of the cache, which
		// is also the step's output, would be a copy of it (8 MiB a step at 64 rows of the tiny
		// model).
		scores := DotGeneral(Reshape(q, b, s*cfg.Heads, d), []int{2}, []int{0}, keys, []int{3}, []int{0}) // [b, s·heads, kv, t]
		probs := decodeSoftmax(Reshape(scores, b, s*cfg.Heads, cfg.KVHeads*t), mask)                      // [b, s·heads, kv·t]
		probs = Reshape(probs, b, s*cfg.Heads, cfg.KVHeads, t)
		out = DotGeneral(probs, []int{2, 3}, []int{0}, values, []int{1, 2}, []int{0}) // [b, s·heads, d]
		out = Reshape(out, b, s, cfg.Heads*d)
	} else {
		// Many queries (prefill, training): lay the keys and values out as [b·kv, head_dim, t]
		// so that each product over head_dim, forward and in the gradient, is one the pure-Go
		// backend multiplies as it lies. Otherwise it multiplies in its "transposed" layout,
		// whose kernel does a horizontal add per output element: with a head_dim of 16 that
		// made attention 70% of a training step.
		qT := TransposeAllDims(Reshape(q, b, s, cfg.KVHeads, group, d), 0, 2, 1, 3, 4) // [b, kv, s, group, d]
		visible := LessOrEqual(Reshape(keyPositions, b, 1, 1, 1, t), Reshape(positions, b, 1, s, 1, 1))
		keysT := TransposeAllDims(keys, 0, 1, 3, 2)                                   // [b, kv, d, t]
		valuesT := TransposeAllDims(values, 0, 1, 3, 2)                               // [b, kv, d, t]
		scores := DotGeneral(qT, []int{4}, []int{0, 1}, keysT, []int{2}, []int{0, 1}) // [b, kv, s, group, t]
		probs := MaskedSoftmax(scores, BroadcastToDims(visible, scores.Shape().Dimensions...), -1)
		out = DotGeneral(probs, []int{4}, []int{0, 1}, valuesT, []int{3}, []int{0, 1}) // [b, kv, s, group, d]
		out = Reshape(TransposeAllDims(out, 0, 2, 1, 3, 4), b, s, cfg.Heads*d)
	}
	return kernels.Linear(out, lw.O, nil)
}

// decodeMask is which keys each decoding query sees, [b, s·heads, kv·t]: those of its own kv
// head at positions not past its own. It is built from the [b, s, t] of visible positions by
// copying whole runs of them next to runs of false, where broadcasting them over the heads went
// element by element through the backend's index iterator: a tenth of a 64-row step of the
// tiny model.
func decodeMask(cfg *arch.Config, keyPositions, positions *Node) *Node {
	b, s, t := positions.Shape().Dimensions[0], positions.Shape().Dimensions[1], keyPositions.Shape().Dimensions[1]
	visible := LessOrEqual(Reshape(keyPositions, b, 1, t), Reshape(positions, b, s, 1)) // [b, s, t]
	hidden := ZerosLike(visible)
	group := cfg.Heads / cfg.KVHeads
	heads := make([]*Node, cfg.Heads)
	for h := range heads {
		runs := make([]*Node, cfg.KVHeads)
		for kv := range runs {
			runs[kv] = hidden
			if kv == h/group {
				runs[kv] = visible
			}
		}
		heads[h] = Concatenate(runs, -1) // [b, s, kv·t]
	}
	return Reshape(Stack(heads, 2), b, s*cfg.Heads, cfg.KVHeads*t) // [b, s, heads, kv·t]
}

// decodeSoftmax is GoMLX's MaskedSoftmax over the last axis with three of its four selections
// left out, and the same bits: a masked score, set to the lowest Float32 for the maximum, goes
// into the exponential as that, whose exponential is exactly 0, and the probabilities need no
// last selection, since a masked numerator is already 0 and the sum at least 1 (the largest
// score contributes exp(0)). Each selection goes over every score, the other kv heads' too:
// without two of them, a 32-row decode step of the tiny model took 5% less time.
func decodeSoftmax(scores, mask *Node) *Node {
	masked := Where(mask, scores, Const(scores.Graph(), scores.DType().LowestValue()))
	numerator := Exp(Sub(masked, ReduceAndKeep(masked, ReduceMax, -1)))
	return Div(numerator, ReduceAndKeep(numerator, ReduceSum, -1))
}

// lmHead applies the final norm and projects onto the vocabulary.
func (m *Model) lmHead(w *weights, x *Node) *Node {
	return kernels.Linear(rmsNorm(x, w.Norm, m.cfg.RMSEps), w.Output, nil)
}

// rmsNorm is x·rsqrt(mean(x²)+eps)·weight over the last axis, written as a division by a
// square root because GoMLX defines no gradient for Rsqrt and trainers differentiate this.
func rmsNorm(x, weight *Node, eps float64) *Node {
	meanSquare := ReduceAndKeep(Square(x), ReduceMean, -1)
	return Mul(Div(x, Sqrt(AddScalar(meanSquare, eps))), ExpandLeftToRank(weight, x.Rank()))
}

// rope returns cos and signedSin [batch, seq, 1, headDim] of the rotate-half rotary
// embedding, frequencies theta^(-2i/d) for i < d/2 repeated as cat(freqs, freqs): cos of the
// angles, and their sin with the first half negated, which folds rotate_half's negation in
// (see applyRope). Computed once per graph, for every layer. Positions below maxPos (> 0:
// a decode step's cache length) look their rows up in tables the graph carries, where those
// are small (ropeTableMax); see ropeTables.
func rope(cfg *arch.Config, positions *Node, maxPos int) (cos, signedSin *Node) {
	g := positions.Graph()
	b, s := positions.Shape().Dimensions[0], positions.Shape().Dimensions[1]
	inv := ropeFrequencies(cfg)
	if maxPos > 0 && maxPos*cfg.HeadDim <= ropeTableMax {
		cosT, sinT := ropeTables(inv, maxPos)
		at := InsertAxes(positions, -1) // padding past the cache reads the last row: gathers clamp
		lookup := func(table []float32) *Node {
			return Reshape(Gather(Const(g, tensors.FromFlatDataAndDimensions(table, maxPos, cfg.HeadDim)), at), b, s, 1, cfg.HeadDim)
		}
		return lookup(cosT), lookup(sinT)
	}
	half := len(inv)
	angles := Mul(Reshape(ConvertDType(positions, dtypes.Float32), b, s, 1), Reshape(Const(g, inv), 1, 1, half))
	c, sin := Cos(angles), Sin(angles)
	cos = Reshape(Concatenate([]*Node{c, c}, -1), b, s, 1, cfg.HeadDim)
	return cos, Reshape(Concatenate([]*Node{Neg(sin), sin}, -1), b, s, 1, cfg.HeadDim)
}

// ropeTableMax is the most elements (positions × head_dim) of each rotary table a decode graph
// carries: 256 KiB, up to 4096 positions of a head_dim of 16 or 512 of 128.
const ropeTableMax = 64 << 10

// ropeFrequencies are theta^(-2i/d) for i < d/2, in Float32.
func ropeFrequencies(cfg *arch.Config) []float32 {
	inv := make([]float32, cfg.HeadDim/2)
	for i := range inv {
		inv[i] = float32(1 / math.Pow(cfg.RopeTheta, float64(2*i)/float64(cfg.HeadDim)))
	}
	return inv
}

// ropeTables are rope's cos and signedSin for positions 0 … n-1, [n, headDim] row-major,
// computed as the pure-Go backend computes them in the graph: the angle a Float32 product,
// its cos and sin in Float64 rounded to Float32. So a decode step gets the same bits either
// way, for two lookups where the angles took seven ops, whose cos and sin went element by
// element through float64 (2.5% of a 32-row step of the tiny model).
func ropeTables(inv []float32, n int) (cos, signedSin []float32) {
	half := len(inv)
	cos, signedSin = make([]float32, n*2*half), make([]float32, n*2*half)
	for p := range n {
		row := p * 2 * half
		for i, f := range inv {
			angle := float64(float32(p) * f)
			c, s := float32(math.Cos(angle)), float32(math.Sin(angle))
			cos[row+i], cos[row+half+i] = c, c
			signedSin[row+i], signedSin[row+half+i] = -s, s
		}
	}
	return cos, signedSin
}

// applyRope rotates x [batch, seq, heads, headDim]: x·cos + rotate_half(x)·sin, where
// rotate_half(x) = cat(-x₂, x₁) for the two halves of the head dimension. cat(x₂, x₁) is the
// halves reversed, one op where slicing and concatenating takes three (decoding runs this
// twice per layer per token), and signedSin carries the negation.
func applyRope(x, cos, signedSin *Node) *Node {
	dims := x.Shape().Dimensions
	halves := Reshape(x, dims[0], dims[1], dims[2], 2, dims[3]/2)
	swapped := Reshape(Reverse(halves, 3), dims...)
	return Add(Mul(x, cos), Mul(swapped, signedSin))
}
