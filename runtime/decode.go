package runtime

import (
	"fmt"

	"github.com/gomlx/compute/dtypes"
	"github.com/gomlx/compute/shapes"
	"github.com/gomlx/gomlx/core/graph"
	"github.com/gomlx/gomlx/core/tensors"
	"github.com/infty-dev/infty/runtime/arch"
)

const (
	// maxChunk bounds the tokens one prefill graph takes: longer prompts go through in chunks,
	// which bounds the attention scores' memory and the number of compiled chunk sizes.
	maxChunk = 256
	// minCacheLen is the smallest KV-cache bucket; buckets double from there.
	minCacheLen = 64
)

// compile creates the executors; graphs are built lazily, once per input-shape bucket.
func (m *Model) compile() error {
	cfg, nw := m.Config, len(m.weights)
	var err error
	m.forward, err = graph.NewExec(m.backend, func(inputs []*graph.Node) *graph.Node {
		w, err := arch.Bind(m.specs, inputs[:nw])
		if err != nil {
			panic(err)
		}
		return m.arch.Forward(w, inputs[nw], inputs[nw+1])
	})
	if err != nil {
		return err
	}
	m.forward.SetMaxCache(-1) // one graph per sequence length: a debugging and testing path
	m.step, err = graph.NewExec(m.backend, func(inputs []*graph.Node) []*graph.Node {
		w, err := arch.Bind(m.specs, inputs[:nw])
		if err != nil {
			panic(err)
		}
		ids, start, nValid, kv := inputs[nw], inputs[nw+1], inputs[nw+2], inputs[nw+3:]
		cache := &arch.Cache{K: kv[:cfg.Layers], V: kv[cfg.Layers:]}
		logits, updated := m.arch.Step(w, ids, start, nValid, cache)
		return append(append([]*graph.Node{logits}, updated.K...), updated.V...)
	})
	if err != nil {
		return err
	}
	m.step.SetMaxCache(-1)
	return nil
}

func (m *Model) checkIDs(ids []int) error {
	if len(ids) == 0 {
		return fmt.Errorf("no token ids given")
	}
	for _, id := range ids {
		if id < 0 || id >= m.Config.Vocab {
			return fmt.Errorf("token id %d outside the vocabulary [0,%d)", id, m.Config.Vocab)
		}
	}
	return nil
}

// Logits runs the full forward pass (no cache) and returns the logits at every position of ids.
func (m *Model) Logits(ids []int) ([][]float32, error) {
	if err := m.checkIDs(ids); err != nil {
		return nil, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	n := len(ids)
	idsT, posT := make([]int32, n), make([]int32, n)
	for i, id := range ids {
		idsT[i], posT[i] = int32(id), int32(i)
	}
	args := m.weightArgs(tensors.FromFlatDataAndDimensions(idsT, 1, n), tensors.FromFlatDataAndDimensions(posT, 1, n))
	out, err := m.forward.Exec(args...)
	if err != nil {
		return nil, err
	}
	flat, err := tensors.CopyFlatData[float32](out[0])
	out[0].FinalizeAll()
	if err != nil {
		return nil, err
	}
	v := m.Config.Vocab
	rows := make([][]float32, n)
	for i := range rows {
		rows[i] = flat[i*v : (i+1)*v]
	}
	return rows, nil
}

func (m *Model) weightArgs(extra ...any) []any {
	args := make([]any, 0, len(m.weights)+len(extra))
	for _, w := range m.weights {
		args = append(args, w)
	}
	return append(args, extra...)
}

// decoder is one sequence being decoded: its KV cache and how many positions it holds.
// The caller holds m.mu.
type decoder struct {
	m     *Model
	cache []*tensors.Tensor // K of every layer, then V of every layer: [cacheLen, kvHeads, headDim]
	pos   int
}

func (m *Model) newDecoder() *decoder { return &decoder{m: m} }

// free releases the cache buffers.
func (d *decoder) free() {
	for _, t := range d.cache {
		t.FinalizeAll()
	}
	d.cache = nil
}

// feed appends ids to the sequence and returns the logits after its last id.
func (d *decoder) feed(ids []int) ([]float32, error) {
	var logits []float32
	for len(ids) > 0 {
		n := min(len(ids), maxChunk)
		var err error
		if logits, err = d.chunk(ids[:n]); err != nil {
			return nil, err
		}
		ids = ids[n:]
	}
	return logits, nil
}

// chunk runs up to maxChunk ids through the step graph, padded to a power of two.
func (d *decoder) chunk(ids []int) ([]float32, error) {
	n := len(ids)
	s := bucket(n, 1)
	if err := d.reserve(d.pos + s); err != nil {
		return nil, err
	}
	idsT := make([]int32, s)
	for i, id := range ids {
		idsT[i] = int32(id)
	}
	args := d.m.weightArgs(tensors.FromFlatDataAndDimensions(idsT, s), tensors.FromScalar(int32(d.pos)), tensors.FromScalar(int32(n)))
	for _, t := range d.cache {
		// Donated: the step's ScatterSum then writes the new rows into this very buffer.
		buf, err := graph.DonateTensorBuffer(t, d.m.backend, 0)
		if err != nil {
			return nil, err
		}
		args = append(args, buf)
	}
	out, err := d.m.step.Exec(args...)
	d.cache = nil
	if err != nil {
		return nil, err
	}
	d.cache = out[1:]
	d.pos += n
	logits, err := tensors.CopyFlatData[float32](out[0])
	out[0].FinalizeAll()
	return logits, err
}

// reserve makes the cache hold at least n positions, growing it to the next power of two.
func (d *decoder) reserve(n int) error {
	cfg := d.m.Config
	size := bucket(n, minCacheLen)
	if d.cache != nil && d.cache[0].Shape().Dimensions[0] >= n {
		return nil
	}
	shape := shapes.Make(dtypes.Float32, size, cfg.KVHeads, cfg.HeadDim)
	grown := make([]*tensors.Tensor, 2*cfg.Layers)
	for i := range grown {
		grown[i] = tensors.FromShape(shape) // zeros: ScatterSum adds into empty slots
		if d.cache == nil {
			continue
		}
		old, err := tensors.CopyFlatData[float32](d.cache[i])
		if err != nil {
			return err
		}
		grown[i].MutableFlatData(func(flat any) { copy(flat.([]float32), old) })
	}
	d.free()
	d.cache = grown
	return nil
}

// bucket rounds n up to a power of two, at least lo.
func bucket(n, lo int) int {
	b := lo
	for b < n {
		b *= 2
	}
	return b
}

// decodeWeightBytes is how many bytes of weights one decoded token reads: all of them except
// the embedding table, of which it gathers a single row (unless it doubles as the LM head).
func (m *Model) decodeWeightBytes() int64 {
	var n int64
	for i, s := range m.specs {
		if s.Name == "model.embed_tokens.weight" && !m.Config.TieEmbeddings {
			continue
		}
		n += int64(m.weights[i].Shape().ByteSize())
	}
	return n
}
