// Package kernels holds the choices of how weights lie in memory and which backend kernels
// multiply them: row blocks that let decoding stream a large matrix on every core, and
// products that read a weight as it is stored. Model definitions multiply and look up
// through Linear and Embed, so they stay free of these choices, and the runtime asks
// DecodeShape how to store weights and QuantizeQ8 to write 8-bit ones.
package kernels

import (
	"slices"

	"github.com/gomlx/compute"
	"github.com/gomlx/compute/dtypes"
	. "github.com/gomlx/gomlx/core/graph" //nolint:revive // graph math reads like the formulas
	"github.com/infty-dev/infty/runtime/backend"
)

// Embed looks up the rows of ids in the embedding table, stored [vocab, hidden] or in
// DecodeShape row blocks [p, vocab/p, hidden], and returns them as Float32. A Q8_0 table
// (see Q8Values) is [vocab, hidden/32·34] Uint8.
func Embed(table, ids *Node) *Node {
	if isQ8(table) {
		return embedQ8(table, ids)
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

// Linear is x·Wᵀ (+ bias) with W kept in its Hugging Face [out, in] layout, or as DecodeShape
// stores it: row blocks [p, out/p, in] of it, or [k, p, out/p, in/k] (see linearParts).
// Contracting on W's last axis lets the backend use the weights as stored, with no transposed
// copy.
//
// Weights stored in half precision (the runtime's bf16 weight option) are used two ways. A
// matrix-vector product (decoding) multiplies them with x rounded to the same dtype,
// accumulating in Float32: half the bytes read per token, as llama.cpp does with F16 weights.
// A matrix-matrix product (prefill, training) widens the weight to Float32 first: the pure-Go
// backend's packed half-precision kernel is far slower than widening plus the Float32 one.
//
// A Q8_0 weight (Uint8 [out, in/32·34], see Q8Values) goes through GoMLX's quantized dense
// product, see linearQ8.
func Linear(x, weight, bias *Node) *Node {
	if isQ8(weight) {
		return linearQ8(x, weight, bias)
	}
	if weight.Rank() <= 3 && Compiling(x.Graph().Backend()) {
		return compiledLinear(x, weight, bias)
	}
	dims := x.Shape().Dimensions
	rows, in := x.Shape().Size()/dims[len(dims)-1], dims[len(dims)-1]
	lead := dims[: len(dims)-1 : len(dims)-1]
	out := weight.Shape().Size() / in
	outDims := append(lead, out)
	var y *Node
	switch {
	case weight.Rank() == 4:
		y = linearParts(x, weight, rows, outDims)
	case rows%4 == 0 && out*in <= cachedWeightSize && weight.DType() == dtypes.Float32:
		// A weight that stays in cache while every row streams past it: x first gives the
		// output [rows, out] as the next op wants it. The weight-first product below would end
		// in a transpose of it, and the backend's generic transpose cost more than the product
		// at 64 rows of the tiny model. The backend's kernel takes x four rows at a time and
		// any rows left over one scalar product at a time, which made 2 rows of the tiny
		// model decode slower than 1: those go weight first.
		y = Reshape(DotGeneral(asMatrix(x, rows, in), []int{1}, nil, weight, []int{weight.Rank() - 1}, nil), outDims...)
	case rows*out*in < smallMatmulSize && (weight.DType() == dtypes.Float32 || rows <= MaxBlockRows):
		// Small enough for the backend's unpacked kernel as a whole: one product over every row
		// of the weight, row blocks read as the [out, in] matrix they are (the same bytes), the
		// weight first so that each of its rows is read once for all the rows of x.
		y = dotF32(x, weight).General([]int{weight.Rank() - 1}, nil, []int{x.Rank() - 1}, nil) // [..., lead...]
		y = rowsFirst(y, rows, outDims)
	case weight.Rank() == 3 && rows <= MaxBlockRows && rows*weight.Shape().Dimensions[1]*in < smallMatmulSize:
		// Too big for the unpacked kernel as one matrix, whose packed path copies the weight
		// first: the blocks as batch entries, which the backend spreads over the cores.
		p := weight.Shape().Dimensions[0]
		// x is rounded to a half-precision weight's dtype once, before it is repeated.
		xs := repeatFirst(Reshape(matchDType(x, weight.DType()), 1, rows, in), p)
		y = rowsFirst(dotF32(xs, weight).General([]int{2}, []int{0}, []int{2}, []int{0}), rows, outDims) // [p, out/p, rows]
	case weight.Rank() == 2 && matvecSplit(rows, out, in) > 1:
		// A weight not stored in blocks (a model made FromWeights): splitting it here copies it
		// on every call, which still beats the packed path's own copy and its slower kernel.
		p := matvecSplit(rows, out, in)
		return Linear(x, Reshape(weight, p, out/p, in), bias)
	default:
		y = DotGeneral(asMatrix(x, rows, in), []int{1}, nil, matchDType(weight, x.DType()), []int{weight.Rank() - 1}, nil)
		y = Reshape(y, outDims...) // [rows, p, out/p] → [..., out]
	}
	if bias != nil {
		y = Add(y, ExpandLeftToRank(bias, y.Rank()))
	}
	return y
}

// Compiling reports whether Linear and the runtime treat a backend as one that compiles whole
// graphs for its device (XLA): weights stay plain [out, in] and Linear is compiledLinear. A
// variable so that tests can run that path on the pure-Go backend, where no XLA plugin is.
var Compiling = func(b compute.Backend) bool { return !backend.IsGo(b) }

// compiledLinear is Linear on a backend that compiles a graph for its device (XLA): one
// product of x by the weight read as the [out, in] matrix it is, left for the compiler to
// tile. The block layouts and transposes above are for the pure-Go backend's kernels, and the
// loader stores weights plainly for other backends (row blocks, rank 3, are the same bytes).
// A half-precision weight meets x rounded to its dtype up to MaxBlockRows rows and a widened
// copy of itself beyond, as on the pure-Go backend, so both round alike.
func compiledLinear(x, weight, bias *Node) *Node {
	in := x.Shape().Dimensions[x.Rank()-1]
	w := weight
	if w.Rank() != 2 {
		w = Reshape(w, w.Shape().Size()/in, in)
	}
	var y *Node
	if rows := x.Shape().Size() / in; w.DType() != dtypes.Float32 && rows <= MaxBlockRows {
		y = Dot(matchDType(x, w.DType()), w).WithAccumulatorDType(dtypes.Float32).WithOutputDType(dtypes.Float32).
			General([]int{x.Rank() - 1}, nil, []int{1}, nil)
	} else {
		y = DotGeneral(x, []int{x.Rank() - 1}, nil, matchDType(w, x.DType()), []int{1}, nil)
	}
	if bias != nil {
		y = Add(y, ExpandLeftToRank(bias, y.Rank()))
	}
	return y
}

// linearParts multiplies x by a weight stored split along its contraction, [k, p, out/p, in/k]
// (DecodeShape): one product per part, summed. Up to MaxBlockRows rows, every part's row blocks
// are batch entries of one product, each with its part of x, as row blocks alone are (see
// Linear); more rows make one matrix-matrix product of each part.
func linearParts(x, weight *Node, rows int, outDims []int) *Node {
	wd := weight.Shape().Dimensions
	k, p, part := wd[0], wd[1], wd[3]
	xs := Reshape(x, rows, k, part)
	if rows > 1 {
		xs = TransposeAllDims(xs, 1, 0, 2)
	}
	xs = Reshape(xs, k, rows, part)
	if rows > MaxBlockRows {
		y := DotGeneral(xs, []int{2}, []int{0}, matchDType(weight, x.DType()), []int{3}, []int{0}) // [k, rows, p, out/p]
		return Reshape(ReduceSum(y, 0), outDims...)
	}
	// x is rounded to a half-precision weight's dtype once, before it is repeated.
	xs = Reshape(matchDType(xs, weight.DType()), k, 1, rows, part)
	if p > 1 {
		xs = Concatenate(slices.Repeat([]*Node{xs}, p), 1) // [k, p, rows, part]
	}
	y := dotF32(xs, weight).General([]int{3}, []int{0, 1}, []int{3}, []int{0, 1}) // [k, p, out/p, rows]
	return rowsFirst(ReduceSum(y, 0), rows, outDims)
}

// LogSumExp is log Σ exp over the last axis of x, from the largest value so that no
// exponential overflows (the largest is held constant for gradients: it cancels). Returns x's
// shape without its last axis.
func LogSumExp(x *Node) *Node {
	top := StopGradient(ReduceAndKeep(x, ReduceMax, -1))
	return Add(Log(ReduceSum(Exp(Sub(x, top)), -1)), Squeeze(top, -1))
}

// asMatrix is x as the one [rows, in] matrix it is. Its gradient's product for the weight then
// contracts x and the output's gradient over one axis of rows, which the pure-Go backend lays
// out with its tiled 2D transpose; over [batch, seq] it went element by element through its
// index iterator, a fifth of an RL update of the tiny model. The same products, the same bits.
func asMatrix(x *Node, rows, in int) *Node {
	if x.Rank() == 2 {
		return x
	}
	return Reshape(x, rows, in)
}

// repeatFirst is x [1, ...] repeated n times along its first axis. The backend broadcasts a
// leading axis element by element through an index iterator; a concatenation copies whole
// blocks, which for the 1.5B shape's products at 8 rows was a quarter of a decode step.
func repeatFirst(x *Node, n int) *Node {
	if n == 1 {
		return x
	}
	return Concatenate(slices.Repeat([]*Node{x}, n), 0)
}

// rowsFirst lays a product whose trailing axes run over the rows of x, [..., rows...], out as
// outDims [lead..., out]. It transposes the product as the one [out, rows] matrix it is: the
// backend transposes a matrix in tiles, but [p, out/p, rows] axis by axis through an index
// iterator, which was 6% of an 8-row decode step of the 1.5B shape. With one row that is only a
// reshape.
func rowsFirst(y *Node, rows int, outDims []int) *Node {
	if rows > 1 {
		y = Transpose(Reshape(y, y.Shape().Size()/rows, rows), 0, 1)
	}
	return Reshape(y, outDims...)
}

// cachedWeightSize is the most elements of a Float32 weight multiplied x first (see Linear):
// 256 KiB, which a core's L2 cache holds while the rows of x stream past it.
const cachedWeightSize = 64 << 10

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
// stored row blocks (DecodeShape) multiply block-wise, each block streamed once for all
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

// DecodeShape is the shape an inference runtime should store an [out, in] weight in for fast
// decoding of up to MaxBlockRows sequences at once; splitting a stored [out, in] inside the
// graph instead would copy it on every call (the backend's Reshape of an input it does not own
// is a copy). Linear accepts each, and Embed the first:
//   - [p, out/p, in], row blocks: the same bytes, another shape ([out, in] where not even
//     blocks of one row are small enough);
//   - [k, p, out/p, in/k] for a weight wider than tall (an MLP's down projection): its
//     contraction split into k parts, each stored [out, in/k] in row blocks. These are other
//     bytes; StoredRuns says where each element goes. Row blocks alone of such a weight must
//     be thin to keep each block's product small, and x is repeated once per block: at 8 rows
//     of DeepSeek-R1-Distill-Qwen-1.5B's down projection (1536×8960) in 64 blocks of 24 rows,
//     a third of the weight's size. In 7 parts of 8 blocks that product took 4.4–4.9 ms
//     against 6.5–7.8 ms, and one row 2.5–2.6 ms against 2.5–2.7 (BenchmarkLinearRows).
//     Float32 weights only: in BFloat16, whose kernel reads half the bytes and whose x is half
//     the size, parts made one row 1.3× slower (1.83 ms against 1.38) and 8 rows no faster.
func DecodeShape(out, in int, dtype dtypes.DType) []int {
	if k := contractionParts(out, in); k > 1 && dtype == dtypes.Float32 {
		// A part is at least minContractionPart long and out at least that tall, so it always
		// takes two row blocks or more; blockSplit returns 1 when none is small enough.
		part := in / k
		if p := blockSplit(MaxBlockRows, out, part); MaxBlockRows*(out/p)*part < smallMatmulSize {
			return []int{k, p, out / p, part}
		}
	}
	if p := blockSplit(MaxBlockRows, out, in); p > 1 {
		return []int{p, out / p, in}
	}
	return []int{out, in} // not even blocks of one row are small enough
}

// minContractionPart is the shortest part contractionParts splits a contraction into: the
// backend's kernel sums each output over a part, and ends every part with a horizontal add.
// Parts of 320 made one row of the 1.5B shape's down projection 1.5× slower.
const minContractionPart = 512

// contractionParts is how many equal parts DecodeShape splits the contraction of an [out, in]
// weight into: the fewest no longer than out, where in > out and the weight does not stay in
// cache (cachedWeightSize); else 1.
func contractionParts(out, in int) int {
	if in <= out || out*in <= cachedWeightSize {
		return 1
	}
	for k := 2; in/k >= minContractionPart; k++ {
		if in%k == 0 && in/k <= out {
			return k
		}
	}
	return 1
}

// StoredRuns calls run(dst, src, n) for each run of n elements that lie next to each other
// both in a row-major [out, in] matrix, from element src, and in the same matrix stored in
// shape (a DecodeShape), from element dst.
func StoredRuns(shape []int, run func(dst, src, n int)) {
	if len(shape) < 4 {
		n := 1
		for _, d := range shape {
			n *= d
		}
		run(0, 0, n)
		return
	}
	k, out, part := shape[0], shape[1]*shape[2], shape[3]
	for o := range out {
		for j := range k {
			run((j*out+o)*part, (o*k+j)*part, part)
		}
	}
}

// dotF32 starts a product of a weight with x (the weight first) contracting both on their
// last axis, rounding x to the weight's dtype when that is half precision, and accumulating
// and returning Float32 in every case.
func dotF32(x, weight *Node) *DotBuilder {
	if weight.DType() == dtypes.Float32 {
		return Dot(weight, x)
	}
	return Dot(weight, matchDType(x, weight.DType())).WithAccumulatorDType(dtypes.Float32).WithOutputDType(dtypes.Float32)
}

// matchDType converts x to dtype when it differs.
func matchDType(x *Node, dtype dtypes.DType) *Node {
	if x.DType() == dtype {
		return x
	}
	return ConvertDType(x, dtype)
}
