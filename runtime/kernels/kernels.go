// Package kernels holds the choices of how weights lie in memory and which backend kernels
// multiply them: row blocks that let decoding stream a matrix on every core, column blocks
// where a backend's half-precision kernel for row blocks is faulty, and the probe that finds
// out. Model definitions multiply and look up through Linear and Embed, so they stay free of
// these choices, and the runtime asks DecodeBlocks and ColumnBlocks how to store weights and
// QuantizeQ8 to write 8-bit ones.
package kernels

import (
	"sync"

	"github.com/gomlx/compute"
	"github.com/gomlx/compute/dtypes"
	"github.com/gomlx/compute/shapes"
	. "github.com/gomlx/gomlx/core/graph" //nolint:revive // graph math reads like the formulas
	"github.com/gomlx/gomlx/core/tensors"
)

// Embed looks up the rows of ids in the embedding table, stored [vocab, hidden] or in
// DecodeBlocks row blocks [p, vocab/p, hidden] (or column blocks, see ColumnBlocks), and
// returns them as Float32. A Q8_0 table (see Q8Values) is [vocab, hidden/32·34] Uint8.
func Embed(table, ids *Node) *Node {
	if isQ8(table) {
		return embedQ8(table, ids)
	}
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

// Linear is x·Wᵀ (+ bias) with W kept in its Hugging Face [out, in] layout: contracting on
// W's axis 1 lets the backend use the weights as stored, with no transposed copy.
//
// Weights stored in half precision (the runtime's bf16 weight option) are used two ways. A
// matrix-vector product (decoding) multiplies them with x rounded to the same dtype,
// accumulating in Float32: half the bytes read per token, as llama.cpp does with F16 weights.
// A matrix-matrix product (prefill, training) widens the weight to Float32 first: the pure-Go
// backend's packed half-precision kernel is far slower than widening plus the Float32 one.
// Half-precision row blocks on a backend whose kernel for them is faulty are stored as column
// blocks instead (ColumnBlocks), or failing that widened for decoding too (dotF32).
//
// A Q8_0 weight (Uint8 [out, in/32·34], see Q8Values) goes through GoMLX's quantized dense
// product, see linearQ8.
func Linear(x, weight, bias *Node) *Node {
	if isQ8(weight) {
		return linearQ8(x, weight, bias)
	}
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
	if blocks.Rank() == 3 && rows <= MaxBlockRows && rows*outPerBlock*in < smallMatmulSize {
		// Blocks sized for fewer rows may be too big for these: then the packed path below, which
		// for half-precision weights must widen them (the packed bf16 kernel is very slow).
		p := blocks.Shape().Dimensions[0]
		xs := BroadcastToDims(Reshape(x, 1, rows, in), p, rows, in)
		if columns { // [p, rows, in]·[p, in, out/p]
			y = Dot(matchDType(xs, weight.DType()), blocks).WithAccumulatorDType(dtypes.Float32).
				WithOutputDType(dtypes.Float32).General([]int{2}, []int{0}, []int{1}, []int{0})
			y = Reshape(TransposeAllDims(y, 1, 0, 2), append(lead, p*outPerBlock)...)
		} else {
			// The weight first: the backend's kernel for this layout loops over the first
			// operand's rows outside, so each weight row is read once for all the rows of x
			// (a decoding batch) instead of once per row of x.
			y = dotF32(xs, blocks).General([]int{2}, []int{0}, []int{2}, []int{0})    // [p, out/p, rows]
			y = Reshape(TransposeAllDims(y, 2, 0, 1), append(lead, p*outPerBlock)...) // [rows, p, out/p]
		}
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

// MaxMatvecRows is the most rows of x (tokens) multiplied block-wise; more is prefill, for
// which attention too is better laid out for matrix-matrix products.
const MaxMatvecRows = 4

// matvecSplit chooses how many row blocks of an [out, in] weight to multiply as separate
// batch entries when decoding (few rows of x). The pure-Go backend either packs the whole
// weight before a large product (a full extra copy of it, every token) or, for a small
// product, runs one batch entry per core: blocks small enough for that path and at least two
// of them let a token's matrix-vector product stream the weight once, on every core.
// Returns 1 (no split) for prefill-sized x.
func matvecSplit(rows, out, in int) int {
	if rows > MaxMatvecRows {
		return 1
	}
	return blockSplit(rows, out, in)
}

// MaxBlockRows is the most rows of x (tokens: one per sequence of a decoding batch) that
// stored row blocks (DecodeBlocks) multiply block-wise, each block streamed once for all
// the rows; more rows take the packed matrix-matrix path, which copies the weight first.
const MaxBlockRows = 16

// blockSplit is the fewest row blocks (at least two) of an [out, in] weight small enough
// for the backend's unpacked path with rows rows of x; 1 when there are none.
func blockSplit(rows, out, in int) int {
	for p := 2; p <= out; p++ {
		if out%p == 0 && rows*(out/p)*in < smallMatmulSize {
			return p
		}
	}
	return 1
}

// DecodeBlocks is how many row blocks an inference runtime should store an [out, in] weight
// as, [p, out/p, in] (the same bytes, another shape), for fast decoding of up to
// MaxBlockRows sequences at once: Linear and Embed accept a weight either way, but splitting
// a stored [out, in] inside the graph copies it on every call (the backend's Reshape of an
// input it does not own is a copy).
func DecodeBlocks(out, in int) int { return blockSplit(MaxBlockRows, out, in) }

// dotF32 starts a product of a weight with x (the weight first) contracting both on their last axis, rounding x
// to the weight's dtype when that is half precision, and accumulating and returning Float32
// in every case. Where the backend's half-precision kernel for that layout is faulty (see
// HalfDotFaulty) the weight is widened to Float32 instead: correct, but without the saving
// in bytes read.
func dotF32(x, weight *Node) *DotBuilder {
	if weight.DType() == dtypes.Float32 {
		return Dot(weight, x)
	}
	if HalfDotFaulty(x.Graph().Backend(), weight.DType()) {
		return Dot(ConvertDType(weight, dtypes.Float32), x)
	}
	return Dot(weight, matchDType(x, weight.DType())).WithAccumulatorDType(dtypes.Float32).WithOutputDType(dtypes.Float32)
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
// Float32 rather than widening every weight on every token. Linear and Embed read a
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
