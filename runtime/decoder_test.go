package runtime

// decoder feeds one sequence through the batched step graph, in a cache of its own: the
// single-stream path, which tests hold against the full forward pass.
type decoder struct {
	m     *Model
	cache kvCache
	pos   int
}

func (m *Model) newDecoder() *decoder { return &decoder{m: m} }

func (d *decoder) free() { d.cache.free() }

// feed appends ids to the sequence and returns the logits after its last id.
func (d *decoder) feed(ids []int) ([]float32, error) {
	logits := make([]float32, d.m.Config.Vocab)
	for len(ids) > 0 {
		n := min(len(ids), maxChunk)
		if _, err := d.m.step(&d.cache, []row{{slot: 0, start: d.pos, ids: ids[:n]}}, [][]float32{logits}); err != nil {
			return nil, err
		}
		d.pos, ids = d.pos+n, ids[n:]
	}
	return logits, nil
}
