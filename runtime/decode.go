package runtime

import (
	"fmt"

	"github.com/gomlx/compute/dtypes"
	"github.com/gomlx/compute/shapes"
	"github.com/gomlx/gomlx/core/graph"
	"github.com/gomlx/gomlx/core/tensors"
	"github.com/infty-dev/infty/runtime/arch"
	"github.com/infty-dev/infty/runtime/kernels"
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
	stepper, ok := m.arch.(arch.BatchStepper)
	if !ok {
		return fmt.Errorf("runtime: architecture %s has no batched KV-cache step", cfg.Architecture)
	}
	m.stepExec, err = graph.NewExec(m.backend, func(inputs []*graph.Node) []*graph.Node {
		w, err := arch.Bind(m.specs, inputs[:nw])
		if err != nil {
			panic(err)
		}
		ids, slot, start, nValid, into, kv := inputs[nw], inputs[nw+1], inputs[nw+2], inputs[nw+3], inputs[nw+4], inputs[nw+5:]
		cache := &arch.Cache{K: kv[:cfg.Layers], V: kv[cfg.Layers:]}
		logits, updated := stepper.StepBatch(w, ids, slot, start, nValid, cache)
		// The logits go out in the donated buffer of the step before's (kvCache.logits): as
		// a buffer of their own, a fresh one every step, 48 KiB at 32 rows of the tiny model,
		// they took ~14 µs of allocating and zeroing against ~1 for this copy.
		zero := graph.ScalarZero(logits.Graph(), dtypes.Int32)
		out := graph.DynamicUpdateSlice(into, logits, []*graph.Node{zero, zero})
		return append(append([]*graph.Node{out, kernels.LogSumExp(logits)}, updated.K...), updated.V...)
	})
	if err != nil {
		return err
	}
	m.stepExec.SetMaxCache(-1)
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
	out, err := m.forward.Call(args...)
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

// kvCache is the KV cache of a batch of sequences: K of every layer, then V of every layer,
// each [slots, kvHeads, length, headDim]. Only the goroutine stepping the batch touches it.
type kvCache struct {
	t             []*tensors.Tensor
	slots, length int
	// logits is the last step's logits, [rows bucket, vocab]: the next step of as many rows
	// writes its own into this buffer, donated (see compile).
	logits *tensors.Tensor
	// used marks the slots some sequence has written since the cache was made. StepBatch adds
	// a row's keys and values to what its slot holds (arch.BatchStepper), so a sequence's first
	// chunk clears a used slot first (clearSlot).
	used []bool
}

// free releases the cache buffers.
func (c *kvCache) free() {
	for _, t := range c.t {
		t.FinalizeAll()
	}
	if c.logits != nil {
		c.logits.FinalizeAll()
	}
	*c = kvCache{}
}

// kvBytes is the memory of a cache of slots × length positions.
func (m *Model) kvBytes(slots, length int) int64 {
	cfg := m.Config
	return int64(slots) * int64(length) * int64(2*cfg.Layers*cfg.KVHeads*cfg.HeadDim) * 4
}

// grow makes c hold at least slots × length, each rounded up to a power of two (length to at
// least minCacheLen), copying what it held. The copy is a graph on the backend (growExec) that
// pads the donated cache with zeros: through the host it took three allocations and three
// copies of the cache (2.9% of 64 tiny streams' decode steps, whose cache grows once from 64
// positions to 128), and on a GPU a round trip of it.
func (m *Model) grow(c *kvCache, slots, length int) error {
	slots, length = max(bucket(slots, 1), c.slots), max(bucket(length, minCacheLen), c.length)
	if c.t != nil && slots == c.slots && length == c.length {
		return nil
	}
	cfg := m.Config
	if c.t == nil {
		t := make([]*tensors.Tensor, 2*cfg.Layers)
		for i := range t {
			t[i] = tensors.FromShape(shapes.Make(dtypes.Float32, slots, cfg.KVHeads, length, cfg.HeadDim)) // zeros
		}
		*c = kvCache{t: t, slots: slots, length: length, used: make([]bool, slots)}
		return nil
	}
	exec, err := m.growExec(slots, length)
	if err != nil {
		return err
	}
	grown, err := m.callOnCache(c, exec)
	if err != nil {
		return err
	}
	used := append(c.used, make([]bool, slots-c.slots)...) // the new slots are zeros
	*c = kvCache{t: grown, slots: slots, length: length, logits: c.logits, used: used}
	return nil
}

// growExec is the graph that pads every tensor of a cache to [slots, kvHeads, length, headDim]
// with zeros, the new slots and positions last.
func (m *Model) growExec(slots, length int) (*graph.Exec, error) {
	m.cacheExecMu.Lock()
	defer m.cacheExecMu.Unlock()
	key := [2]int{slots, length}
	if e := m.growExecs[key]; e != nil {
		return e, nil
	}
	e, err := graph.NewExec(m.backend, func(cache []*graph.Node) []*graph.Node {
		out := make([]*graph.Node, len(cache))
		for i, x := range cache {
			d := x.Shape().Dimensions
			zero := graph.ScalarZero(x.Graph(), x.DType())
			out[i] = graph.Pad(x, zero, graph.PadAxis{End: slots - d[0]}, graph.PadAxis{}, graph.PadAxis{End: length - d[2]}, graph.PadAxis{})
		}
		return out
	})
	if err != nil {
		return nil, err
	}
	e.SetMaxCache(-1)
	if m.growExecs == nil {
		m.growExecs = map[[2]int]*graph.Exec{}
	}
	m.growExecs[key] = e
	return e, nil
}

// clearSlot sets every position of cache slot i to zero, in place (the cache donated).
func (m *Model) clearSlot(c *kvCache, i int) error {
	exec, err := m.clearSlotExec()
	if err != nil {
		return err
	}
	cleared, err := m.callOnCache(c, exec, int32(i))
	if err != nil {
		return err
	}
	c.t, c.used[i] = cleared, false
	return nil
}

// clearSlotExec is the graph that zeroes one slot (its first input) of every tensor of a cache.
func (m *Model) clearSlotExec() (*graph.Exec, error) {
	m.cacheExecMu.Lock()
	defer m.cacheExecMu.Unlock()
	if m.clearExec != nil {
		return m.clearExec, nil
	}
	e, err := graph.NewExec(m.backend, func(inputs []*graph.Node) []*graph.Node {
		slot, cache := inputs[0], inputs[1:]
		zero := graph.ScalarZero(slot.Graph(), dtypes.Int32)
		out := make([]*graph.Node, len(cache))
		for j, x := range cache {
			d := x.Shape().Dimensions
			zeros := graph.Zeros(x.Graph(), shapes.Make(x.DType(), 1, d[1], d[2], d[3]))
			out[j] = graph.DynamicUpdateSlice(x, zeros, []*graph.Node{slot, zero, zero, zero})
		}
		return out
	})
	if err != nil {
		return nil, err
	}
	e.SetMaxCache(-1)
	m.clearExec = e
	return e, nil
}

// callOnCache runs exec on args followed by every tensor of the cache, donated (the graph
// writes into their buffers), and returns its outputs. A failed call takes the cache with it:
// its buffers were handed over.
func (m *Model) callOnCache(c *kvCache, exec *graph.Exec, args ...any) ([]*tensors.Tensor, error) {
	for _, t := range c.t {
		buf, err := graph.DonateTensorBuffer(t, m.backend, 0)
		if err != nil {
			return nil, err
		}
		args = append(args, buf)
	}
	out, err := exec.Call(args...)
	if err != nil {
		c.t = nil // donated: gone
		c.free()
		return nil, err
	}
	return out, nil
}

// row is one sequence's part of a step: ids fed at positions start, start+1, … of cache slot.
type row struct {
	slot, start int
	ids         []int
}

// step runs rows (at most one per slot, each at most maxChunk ids) through the batched step
// graph, padded to power-of-two buckets of rows and of ids per row. It writes row i's logits
// after its last id into logits[i], a buffer of the vocabulary's size that the caller keeps
// across steps, or nowhere where that is nil (a prompt chunk that is not its last), and
// returns the log of the sum of their exponentials (a token's log-probability is its logit
// minus that). Copied out whole and handed over, the logits were a fresh allocation every
// step: 4.9 MB at 8 rows of the 1.5B shape, whose zeroing and page faults took 2.6% of the step.
func (m *Model) step(c *kvCache, rows []row, logits [][]float32) (lse []float32, err error) {
	b, s, slots, length := bucket(len(rows), 1), 1, 0, 0
	for _, r := range rows {
		s = max(s, bucket(len(r.ids), 1))
		slots, length = max(slots, r.slot+1), max(length, r.start+len(r.ids))
	}
	if err := m.grow(c, slots, length); err != nil {
		return nil, err
	}
	for _, r := range rows {
		if r.start == 0 && c.used[r.slot] { // a new sequence in a slot another has written
			if err := m.clearSlot(c, r.slot); err != nil {
				return nil, err
			}
		}
	}
	at := func(i int) int { return i } // where row i goes among the b
	if b == c.slots {
		// As many rows as slots: each row goes to its slot's place (arch.BatchStepper), which
		// spares the graph gathering every slot's keys and values; the slots without a row get
		// empty rows.
		at = func(i int) int { return rows[i].slot }
	}
	ids := make([]int32, b*s)
	slot, start, nValid := make([]int32, b), make([]int32, b), make([]int32, b)
	for i := range slot {
		slot[i] = int32(i) // empty rows: nValid 0 changes nothing, whatever the slot
	}
	for i, r := range rows {
		k := at(i)
		for j, id := range r.ids {
			ids[k*s+j] = int32(id)
		}
		slot[k], start[k], nValid[k] = int32(r.slot), int32(r.start), int32(len(r.ids))
	}
	v := m.Config.Vocab
	if c.logits == nil || c.logits.Shape().Dimensions[0] != b {
		if c.logits != nil {
			c.logits.FinalizeAll()
		}
		c.logits = tensors.FromShape(shapes.Make(dtypes.Float32, b, v))
	}
	into, err := graph.DonateTensorBuffer(c.logits, m.backend, 0)
	c.logits = nil // donated: the step's output takes its place
	if err != nil {
		return nil, err
	}
	args := m.weightArgs(tensors.FromFlatDataAndDimensions(ids, b, s), tensors.FromFlatDataAndDimensions(slot, b),
		tensors.FromFlatDataAndDimensions(start, b), tensors.FromFlatDataAndDimensions(nValid, b), into)
	// The step's scatters write the new rows into the cache's own buffers.
	out, err := m.callOnCache(c, m.stepExec, args...)
	if err != nil {
		return nil, err
	}
	c.t, c.logits = out[2:], out[0]
	for _, r := range rows {
		c.used[r.slot] = true
	}
	err = tensors.ConstFlatData(out[0], func(flat []float32) {
		for i, dst := range logits {
			if dst != nil {
				k := at(i)
				copy(dst, flat[k*v:(k+1)*v])
			}
		}
	})
	if err != nil {
		return nil, err
	}
	sums, err := tensors.CopyFlatData[float32](out[1])
	out[1].FinalizeAll()
	if err != nil {
		return nil, err
	}
	lse = make([]float32, len(rows))
	for i := range lse {
		lse[i] = sums[at(i)]
	}
	return lse, nil
}

// embedName is the embedding table's tensor, which decoding gathers rows of.
const embedName = "model.embed_tokens.weight"

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
		if s.Name == embedName && !m.Config.TieEmbeddings {
			continue
		}
		n += int64(m.weights[i].Shape().ByteSize())
	}
	return n
}
