package qwen

import (
	"math"
	"sync"

	"github.com/gomlx/compute"
	"github.com/gomlx/compute/dtypes"
	"github.com/gomlx/compute/shapes"
	. "github.com/gomlx/gomlx/core/graph" //nolint:revive // graph math reads like the paper this way
	"github.com/gomlx/gomlx/core/tensors"
)

// Forward is the whole model: the logits [batch, seq, vocab] at every position of ids
// [batch, seq] (Int32), whose absolute positions are positions [batch, seq] (Int32).
//
// Attention is causal by position: a token sees every token of its row whose position is not
// greater than its own, so right padding (given positions past the real ones) changes nothing
// for the real tokens. This is the function a trainer differentiates: gradients flow back to
// every node of w.
func Forward(cfg *Config, w *Weights, ids, positions *Node) *Node {
	keysFromSelf := func(_ int, k, v *Node) (keys, values, keyPositions *Node) { return k, v, positions }
	x := decoder(cfg, w, ids, positions, keysFromSelf)
	return lmHead(cfg, w, x)
}

// Cache holds, for one sequence, each layer's keys and values as [cacheLen, kvHeads, headDim].
// Slot t holds the token at position t; slots not yet written must be zero.
type Cache struct{ K, V []*Node }

// Step runs a chunk of one sequence through the model against a KV cache: ids [S] (Int32) holds
// nValid real tokens followed by padding, at positions start, start+1, …; start and nValid are
// Int32 scalars fed at run time, so one compiled graph serves every position. It adds the
// chunk's keys and values into the cache (ScatterSum: in place when the caller donates the
// cache buffers; padding rows add zeros) and returns the logits [vocab] of the last real token
// only. The caller keeps start+S <= cacheLen.
func Step(cfg *Config, w *Weights, ids, start, nValid *Node, cache *Cache) (logits *Node, updated *Cache) {
	g := ids.Graph()
	s := ids.Shape().Dimensions[0]
	cacheLen := cache.K[0].Shape().Dimensions[0]
	offsets := Iota(g, shapes.Make(dtypes.Int32, s), 0)
	positions := Add(offsets, start)
	slots := Reshape(positions, s, 1)
	valid := Reshape(ConvertDType(LessThan(offsets, nValid), dtypes.Float32), s, 1, 1)
	slotPositions := Reshape(Iota(g, shapes.Make(dtypes.Int32, cacheLen), 0), 1, cacheLen)
	updated = &Cache{K: make([]*Node, cfg.Layers), V: make([]*Node, cfg.Layers)}
	intoCache := func(l int, k, v *Node) (keys, values, keyPositions *Node) {
		updated.K[l] = ScatterSum(cache.K[l], slots, Mul(Squeeze(k, 0), valid), true, true)
		updated.V[l] = ScatterSum(cache.V[l], slots, Mul(Squeeze(v, 0), valid), true, true)
		return InsertAxes(updated.K[l], 0), InsertAxes(updated.V[l], 0), slotPositions
	}
	x := decoder(cfg, w, Reshape(ids, 1, s), Reshape(positions, 1, s), intoCache)
	last := Gather(Reshape(x, s, cfg.Hidden), AddScalar(nValid, -1)) // [hidden]
	return lmHead(cfg, w, last), updated
}

// embed looks up the rows of ids in the embedding table, stored [vocab, hidden] or in
// DecodeBlocks row blocks [p, vocab/p, hidden] (or column blocks, see ColumnBlocks), and
// returns them as Float32.
func embed(table, ids *Node) *Node {
	if table.Rank() == 3 && ColumnBlocks(table.Graph().Backend(), table.DType()) {
		// [p, hidden, vocab/p]: token id is column id%perBlock of block id/perBlock.
		perBlock := table.Shape().Dimensions[2]
		start := Stack([]*Node{DivScalar(ids, perBlock), ModScalar(ids, perBlock)}, -1)
		rows := GatherSlices(table, []int{0, 2}, start, []int{1, 1}, false) // [..., 1, hidden, 1]
		dims := append(ids.Shape().Clone().Dimensions, table.Shape().Dimensions[1])
		return matchDType(Reshape(rows, dims...), dtypes.Float32)
	}
	var index *Node
	if table.Rank() == 2 {
		index = InsertAxes(ids, -1)
	} else {
		perBlock := table.Shape().Dimensions[1]
		index = Stack([]*Node{DivScalar(ids, perBlock), ModScalar(ids, perBlock)}, -1)
	}
	return matchDType(Gather(table, index), dtypes.Float32)
}

// keySource gives layer l's attention its keys and values [batch, T, kvHeads, headDim] and
// their positions [batch, T], from the chunk's own k and v (plus, with a cache, the past).
type keySource func(l int, k, v *Node) (keys, values, keyPositions *Node)

// decoder embeds ids and runs every block: pre-norm residual attention, then pre-norm
// residual SiLU-gated MLP. Returns the hidden states [batch, seq, hidden] before the final norm.
func decoder(cfg *Config, w *Weights, ids, positions *Node, kv keySource) *Node {
	x := embed(w.Embed, ids) // [batch, seq, hidden]
	cos, sin := rope(cfg, positions)
	for l := range w.Layers {
		lw := &w.Layers[l]
		x = Add(x, attention(cfg, lw, rmsNorm(x, lw.InputNorm, cfg.RMSEps), positions, cos, sin, l, kv))
		h := rmsNorm(x, lw.PostAttentionNorm, cfg.RMSEps)
		gate := linear(h, lw.Gate, nil)
		x = Add(x, linear(Mul(Mul(gate, Logistic(gate)), linear(h, lw.Up, nil)), lw.Down, nil))
	}
	return x
}

// attention is grouped-query attention: each of the kvHeads key/value heads serves
// heads/kvHeads query heads, so queries are grouped as [batch, seq, kvHeads, group, headDim]
// and contracted against the shared keys without copying them per query head.
func attention(cfg *Config, lw *LayerWeights, x, positions, cos, sin *Node, l int, kv keySource) *Node {
	b, s := x.Shape().Dimensions[0], x.Shape().Dimensions[1]
	d, group := cfg.HeadDim, cfg.Heads/cfg.KVHeads
	q := Reshape(linear(x, lw.Q, lw.QBias), b, s, cfg.Heads, d)
	k := Reshape(linear(x, lw.K, lw.KBias), b, s, cfg.KVHeads, d)
	v := Reshape(linear(x, lw.V, lw.VBias), b, s, cfg.KVHeads, d)
	if cfg.QKNorm { // Qwen3 normalises each head before rotating it
		q, k = rmsNorm(q, lw.QNorm, cfg.RMSEps), rmsNorm(k, lw.KNorm, cfg.RMSEps)
	}
	q, k = applyRope(q, cos, sin), applyRope(k, cos, sin)
	keys, values, keyPositions := kv(l, k, v)
	t := keys.Shape().Dimensions[1]

	q = Reshape(MulScalar(q, 1/math.Sqrt(float64(d))), b, s, cfg.KVHeads, group, d)
	visible := LessOrEqual(Reshape(keyPositions, b, 1, 1, 1, t), Reshape(positions, b, 1, s, 1, 1))
	var out *Node
	if s <= maxMatvecRows {
		scores := DotGeneral(q, []int{4}, []int{0, 2}, keys, []int{3}, []int{0, 2}) // [b, kv, s, group, t]
		probs := MaskedSoftmax(scores, BroadcastToDims(visible, scores.Shape().Dimensions...), -1)
		out = DotGeneral(probs, []int{4}, []int{0, 1}, values, []int{1}, []int{0, 2}) // [b, kv, s, group, d]
	} else {
		// Many queries (prefill, training): lay every operand out as [b·kv, rows, head_dim] or
		// [b·kv, head_dim, t] so that each product over head_dim, forward and in the gradient,
		// is one the pure-Go backend multiplies as it lies. Otherwise it transposes them into
		// its "transposed" layout, whose kernel does a horizontal add per output element:
		// with a head_dim of 16 that made attention 70% of a training step.
		qT := TransposeAllDims(q, 0, 2, 1, 3, 4)                                      // [b, kv, s, group, d]
		keysT := TransposeAllDims(keys, 0, 2, 3, 1)                                   // [b, kv, d, t]
		valuesT := TransposeAllDims(values, 0, 2, 3, 1)                               // [b, kv, d, t]
		scores := DotGeneral(qT, []int{4}, []int{0, 1}, keysT, []int{2}, []int{0, 1}) // [b, kv, s, group, t]
		probs := MaskedSoftmax(scores, BroadcastToDims(visible, scores.Shape().Dimensions...), -1)
		out = DotGeneral(probs, []int{4}, []int{0, 1}, valuesT, []int{3}, []int{0, 1}) // [b, kv, s, group, d]
	}
	out = Reshape(TransposeAllDims(out, 0, 2, 1, 3, 4), b, s, cfg.Heads*d)
	return linear(out, lw.O, nil)
}

// lmHead applies the final norm and projects onto the vocabulary.
func lmHead(cfg *Config, w *Weights, x *Node) *Node {
	return linear(rmsNorm(x, w.FinalNorm, cfg.RMSEps), w.LMHead, nil)
}

// linear is x·Wᵀ (+ bias) with W kept in its Hugging Face [out, in] layout: contracting on
// W's axis 1 lets the backend use the weights as stored, with no transposed copy.
//
// Weights stored in half precision (the runtime's bf16 weight option) are used two ways. A
// matrix-vector product (decoding) multiplies them with x rounded to the same dtype,
// accumulating in Float32: half the bytes read per token, as llama.cpp does with F16 weights.
// A matrix-matrix product (prefill, training) widens the weight to Float32 first: the pure-Go
// backend's packed half-precision kernel is far slower than widening plus the Float32 one.
// Half-precision row blocks on a backend whose kernel for them is faulty are stored as column
// blocks instead (ColumnBlocks), or failing that widened for decoding too (dotF32).
func linear(x, weight, bias *Node) *Node {
	dims := x.Shape().Dimensions
	rows, in := x.Shape().Size()/dims[len(dims)-1], dims[len(dims)-1]
	lead := dims[: len(dims)-1 : len(dims)-1]
	columns := weight.Rank() == 3 && ColumnBlocks(x.Graph().Backend(), weight.DType())
	blocks := weight
	if weight.Rank() == 2 {
		out := weight.Shape().Dimensions[0]
		if p := matvecSplit(rows, out, in); p > 1 {
			blocks = Reshape(weight, p, out/p, in) // a copy per call: see DecodeBlocks
		}
	}
	outPerBlock := 0
	if blocks.Rank() == 3 {
		outPerBlock = blocks.Shape().Dimensions[1]
		if columns {
			outPerBlock = blocks.Shape().Dimensions[2]
		}
	}
	var y *Node
	if blocks.Rank() == 3 && rows <= maxMatvecRows && rows*outPerBlock*in < smallMatmulSize {
		// Blocks sized for one row may be too big for a few: then the packed path below, which
		// for half-precision weights must widen them (the packed bf16 kernel is very slow).
		p := blocks.Shape().Dimensions[0]
		xs := BroadcastToDims(Reshape(x, 1, rows, in), p, rows, in)
		if columns { // [p, rows, in]·[p, in, out/p]
			y = Dot(matchDType(xs, weight.DType()), blocks).WithAccumulatorDType(dtypes.Float32).
				WithOutputDType(dtypes.Float32).General([]int{2}, []int{0}, []int{1}, []int{0})
		} else {
			y = dotF32(xs, blocks).General([]int{2}, []int{0}, []int{2}, []int{0}) // [p, rows, out/p]
		}
		y = Reshape(TransposeAllDims(y, 1, 0, 2), append(lead, p*outPerBlock)...)
	} else if columns {
		// Batched over the blocks, [p, rows, in]·[p, in, out/p] is a layout the backend
		// multiplies as it is; contracting x with axis 1 of the weight alone would make it
		// transpose a copy of the (widened) weight first.
		p := weight.Shape().Dimensions[0]
		xs := BroadcastToDims(Reshape(x, 1, rows, in), p, rows, in)
		y = DotGeneral(xs, []int{2}, []int{0}, matchDType(weight, x.DType()), []int{1}, []int{0})
		y = Reshape(TransposeAllDims(y, 1, 0, 2), append(lead, p*outPerBlock)...)
	} else {
		y = DotGeneral(x, []int{x.Rank() - 1}, nil, matchDType(weight, x.DType()), []int{weight.Rank() - 1}, nil)
		if weight.Rank() == 3 { // [..., p, out/p] → [..., out]
			y = Reshape(y, append(lead, weight.Shape().Dimensions[0]*outPerBlock)...)
		}
	}
	if bias != nil {
		y = Add(y, ExpandLeftToRank(bias, y.Rank()))
	}
	return y
}

// smallMatmulSize is the size (rows·out·in) below which the pure-Go backend multiplies
// without packing the operands, and splits the work across cores by batch only.
const smallMatmulSize = 4 << 20

// maxMatvecRows is the most rows of x (tokens) multiplied block-wise; more is prefill.
const maxMatvecRows = 4

// matvecSplit chooses how many row blocks of an [out, in] weight to multiply as separate
// batch entries when decoding (few rows of x). The pure-Go backend either packs the whole
// weight before a large product (a full extra copy of it, every token) or, for a small
// product, runs one batch entry per core: blocks small enough for that path and at least two
// of them let a token's matrix-vector product stream the weight once, on every core.
// Returns 1 (no split) for prefill-sized x.
func matvecSplit(rows, out, in int) int {
	if rows > maxMatvecRows {
		return 1
	}
	for p := 2; p <= out; p++ {
		if out%p == 0 && rows*(out/p)*in < smallMatmulSize {
			return p
		}
	}
	return 1
}

// DecodeBlocks is how many row blocks an inference runtime should store an [out, in] weight
// as, [p, out/p, in] (the same bytes, another shape), for fast decoding: every function here
// accepts a weight either way, but splitting a stored [out, in] inside the graph copies it on
// every call (the backend's Reshape of an input it does not own is a copy).
func DecodeBlocks(out, in int) int { return matvecSplit(1, out, in) }

// dotF32 starts a product of x with a weight contracting both on their last axis, rounding x
// to the weight's dtype when that is half precision, and accumulating and returning Float32
// in every case. Where the backend's half-precision kernel for that layout is faulty (see
// HalfDotFaulty) the weight is widened to Float32 instead: correct, but without the saving
// in bytes read.
func dotF32(x, weight *Node) *DotBuilder {
	if weight.DType() == dtypes.Float32 {
		return Dot(x, weight)
	}
	if HalfDotFaulty(x.Graph().Backend(), weight.DType()) {
		return Dot(x, ConvertDType(weight, dtypes.Float32))
	}
	return Dot(matchDType(x, weight.DType()), weight).WithAccumulatorDType(dtypes.Float32).WithOutputDType(dtypes.Float32)
}

// HalfDotFaulty reports whether backend multiplies half-precision (dtype) operands wrongly in
// the layout row blocks use when decoding, [B, N, K]·[B, M, K] contracting K with Float32
// accumulation. The pure-Go backend of gomlx/compute v0.1.2 built with GOEXPERIMENT=simd does:
// its AVX2 small-matrix kernel for that layout converts 16 half values per step but
// multiplies only the low 8, so every product over K >= 16 silently drops about half its
// terms. The answer comes from multiplying a small probe once per backend and dtype, so a
// fixed backend gets the fast path back with no change here.
func HalfDotFaulty(backend compute.Backend, dtype dtypes.DType) bool {
	return probed(backend, dtype, true)
}

// ColumnBlocks reports whether an inference runtime should store half-precision (dtype)
// matrices for backend as column blocks [p, in, out/p] instead of DecodeBlocks row blocks
// [p, out/p, in]: where the row-block kernel is faulty (HalfDotFaulty) and the one for
// [B, N, K]·[B, K, M] is right, column blocks keep decoding reading half the bytes of
// Float32 rather than widening every weight on every token. Every function here reads a
// rank-3 half-precision weight as column blocks exactly when this is true.
func ColumnBlocks(backend compute.Backend, dtype dtypes.DType) bool {
	return dtype.IsHalfPrecision() && probed(backend, dtype, true) && !probed(backend, dtype, false)
}

type halfProbeKey struct {
	backend    compute.Backend
	dtype      dtypes.DType
	transposed bool
}

var halfProbes sync.Map // halfProbeKey → faulty bool

func probed(backend compute.Backend, dtype dtypes.DType, transposed bool) bool {
	key := halfProbeKey{backend, dtype, transposed}
	if v, ok := halfProbes.Load(key); ok {
		return v.(bool)
	}
	faulty := probeHalfDot(backend, dtype, transposed)
	halfProbes.Store(key, faulty)
	return faulty
}

// probeHalfDot multiplies ones [2, 1, 48] by ones [2, 24, 48] (transposed) or [2, 48, 24]
// (every sum is exactly 48 in any precision); a probe that cannot even run counts as faulty.
func probeHalfDot(backend compute.Backend, dtype dtypes.DType, transposed bool) bool {
	const k, m = 48, 24
	exec, err := NewExec(backend, func(g *Graph) *Node {
		lhs := Ones(g, shapes.Make(dtype, 2, 1, k))
		dot := Dot(lhs, Ones(g, shapes.Make(dtype, 2, m, k))).WithAccumulatorDType(dtypes.Float32).WithOutputDType(dtypes.Float32)
		if !transposed {
			dot = Dot(lhs, Ones(g, shapes.Make(dtype, 2, k, m))).WithAccumulatorDType(dtypes.Float32).WithOutputDType(dtypes.Float32)
			return dot.General([]int{2}, []int{0}, []int{1}, []int{0})
		}
		return dot.General([]int{2}, []int{0}, []int{2}, []int{0})
	})
	if err != nil {
		return true
	}
	defer exec.Finalize()
	out, err := exec.Exec()
	if err != nil {
		return true
	}
	defer out[0].FinalizeAll()
	got, err := tensors.CopyFlatData[float32](out[0])
	if err != nil || len(got) != 2*m {
		return true
	}
	for _, v := range got {
		if v != k {
			return true
		}
	}
	return false
}

// matchDType converts x to dtype when it differs.
func matchDType(x *Node, dtype dtypes.DType) *Node {
	if x.DType() == dtype {
		return x
	}
	return ConvertDType(x, dtype)
}

// rmsNorm is x·rsqrt(mean(x²)+eps)·weight over the last axis, written as a division by a
// square root because GoMLX defines no gradient for Rsqrt and trainers differentiate this.
func rmsNorm(x, weight *Node, eps float64) *Node {
	meanSquare := ReduceAndKeep(Square(x), ReduceMean, -1)
	return Mul(Div(x, Sqrt(AddScalar(meanSquare, eps))), ExpandLeftToRank(weight, x.Rank()))
}

// rope returns cos and sin [batch, seq, 1, headDim] of the rotate-half rotary embedding:
// frequencies theta^(-2i/d) for i < d/2, repeated as cat(freqs, freqs).
func rope(cfg *Config, positions *Node) (cos, sin *Node) {
	g := positions.Graph()
	half := cfg.HeadDim / 2
	inv := make([]float32, half)
	for i := range inv {
		inv[i] = float32(1 / math.Pow(cfg.RopeTheta, float64(2*i)/float64(cfg.HeadDim)))
	}
	b, s := positions.Shape().Dimensions[0], positions.Shape().Dimensions[1]
	angles := Mul(Reshape(ConvertDType(positions, dtypes.Float32), b, s, 1), Reshape(Const(g, inv), 1, 1, half))
	angles = Reshape(Concatenate([]*Node{angles, angles}, -1), b, s, 1, cfg.HeadDim)
	return Cos(angles), Sin(angles)
}

// applyRope rotates x [batch, seq, heads, headDim]: x·cos + rotate_half(x)·sin, where
// rotate_half(x) = cat(-x₂, x₁) for the two halves of the head dimension.
func applyRope(x, cos, sin *Node) *Node {
	half := x.Shape().Dimensions[3] / 2
	x1 := Slice(x, AxisRange(), AxisRange(), AxisRange(), AxisRange(0, half))
	x2 := Slice(x, AxisRange(), AxisRange(), AxisRange(), AxisRange(half))
	rotated := Concatenate([]*Node{Neg(x2), x1}, -1)
	return Add(Mul(x, cos), Mul(rotated, sin))
}
