package tokenizer

import (
	"fmt"
	"math"
	"strings"
	"sync"
)

// bpe applies rank-ordered merges to the bytes of one pre-tokenized word.
type bpe struct {
	byteID       [256]int32
	merges       map[uint64]uint64 // (left id, right id) → (rank, merged id)
	ignoreMerges bool
	vocab        map[string]int32

	mu    sync.Mutex
	cache map[string][]int32
}

// cacheLimit bounds the per-word cache; when full it starts over, which keeps memory flat on
// endless novel input while frequent words come back within a few calls.
const cacheLimit = 1 << 16

// maxCachedWord keeps rare long words (runs of spaces or of one letter) out of the cache.
const maxCachedWord = 256

func pairKey(a, b int32) uint64 { return uint64(uint32(a))<<32 | uint64(uint32(b)) }

func newBPE(vocab map[string]int32, merges [][2]string, ignoreMerges bool) (*bpe, error) {
	m := &bpe{merges: make(map[uint64]uint64, len(merges)), ignoreMerges: ignoreMerges,
		vocab: vocab, cache: make(map[string][]int32)}
	for b := 0; b < 256; b++ {
		id, ok := vocab[string(byteToRune[b])]
		if !ok {
			return nil, fmt.Errorf("vocab lacks the byte-level token %q for byte 0x%02x", string(byteToRune[b]), b)
		}
		m.byteID[b] = id
	}
	var buf []byte
	for i, mg := range merges {
		a, ok := vocab[mg[0]]
		if !ok {
			return nil, fmt.Errorf("model.merges[%d] (%q %q): %q is not in the vocab", i, mg[0], mg[1], mg[0])
		}
		b, ok := vocab[mg[1]]
		if !ok {
			return nil, fmt.Errorf("model.merges[%d] (%q %q): %q is not in the vocab", i, mg[0], mg[1], mg[1])
		}
		buf = append(append(buf[:0], mg[0]...), mg[1]...)
		c, ok := vocab[string(buf)]
		if !ok {
			return nil, fmt.Errorf("model.merges[%d] (%q %q): the merged token %q is not in the vocab", i, mg[0], mg[1], mg[0]+mg[1])
		}
		// A repeated merge takes its last rank, as both reference implementations do.
		m.merges[pairKey(a, b)] = uint64(i)<<32 | uint64(uint32(c))
	}
	return m, nil
}

// encodeWord appends the ids of one word (raw bytes, spelt byte-level implicitly).
func (m *bpe) encodeWord(w string, out []int) []int {
	if len(w) == 1 {
		return append(out, int(m.byteID[w[0]]))
	}
	if len(w) > maxCachedWord {
		for _, id := range m.merge(w) {
			out = append(out, int(id))
		}
		return out
	}
	m.mu.Lock()
	ids, ok := m.cache[w]
	m.mu.Unlock()
	if !ok {
		ids = m.merge(w)
		m.mu.Lock()
		if len(m.cache) >= cacheLimit {
			clear(m.cache)
		}
		m.cache[strings.Clone(w)] = ids // a copy: w points into the caller's whole text
		m.mu.Unlock()
	}
	for _, id := range ids {
		out = append(out, int(id))
	}
	return out
}

func (m *bpe) lookup(a, b int32) (rank uint32, id int32) {
	v, ok := m.merges[pairKey(a, b)]
	if !ok {
		return math.MaxUint32, -1
	}
	return uint32(v >> 32), int32(uint32(v))
}

// merge runs BPE on w without the cache.
func (m *bpe) merge(w string) []int32 {
	if m.ignoreMerges {
		if id, ok := m.vocab[byteLevelString(w)]; ok {
			return []int32{id}
		}
	}
	syms := make([]int32, len(w))
	for i := 0; i < len(w); i++ {
		syms[i] = m.byteID[w[i]]
	}
	if len(syms) > 48 {
		return m.mergeHeap(syms)
	}
	return m.mergeScan(syms)
}

// mergeScan is BPE for short words: keep the rank of each adjacent pair, merge the lowest
// (leftmost among equals), refresh the two pairs beside it. Quadratic, and fastest when short.
func (m *bpe) mergeScan(syms []int32) []int32 {
	n := len(syms)
	ranks := make([]uint32, n)
	newIDs := make([]int32, n)
	for i := 0; i+1 < n; i++ {
		ranks[i], newIDs[i] = m.lookup(syms[i], syms[i+1])
	}
	for n > 1 {
		best := -1
		bestRank := uint32(math.MaxUint32)
		for i := 0; i+1 < n; i++ {
			if ranks[i] < bestRank {
				best, bestRank = i, ranks[i]
			}
		}
		if best < 0 {
			break
		}
		syms[best] = newIDs[best]
		copy(syms[best+1:n-1], syms[best+2:n])
		copy(ranks[best+1:n-1], ranks[best+2:n])
		copy(newIDs[best+1:n-1], newIDs[best+2:n])
		n--
		if best > 0 {
			ranks[best-1], newIDs[best-1] = m.lookup(syms[best-1], syms[best])
		}
		if best+1 < n {
			ranks[best], newIDs[best] = m.lookup(syms[best], syms[best+1])
		} else {
			ranks[best] = math.MaxUint32
		}
	}
	return syms[:n:n]
}

// mergeHeap is BPE for long words (long runs of one character, say): a linked list of symbols
// and a min-heap of candidate pairs keyed by (rank, position), entries checked when popped.
func (m *bpe) mergeHeap(syms []int32) []int32 {
	n := len(syms)
	prev := make([]int32, n)
	next := make([]int32, n)
	alive := make([]bool, n)
	for i := range syms {
		prev[i], next[i], alive[i] = int32(i-1), int32(i+1), true
	}
	next[n-1] = -1
	h := pairHeap{}
	push := func(i int32) {
		j := next[i]
		if j < 0 {
			return
		}
		if rank, id := m.lookup(syms[i], syms[j]); id >= 0 {
			h.push(pairItem{rank: rank, pos: i, right: syms[j], left: syms[i], id: id})
		}
	}
	for i := int32(0); i+1 < int32(n); i++ {
		push(i)
	}
	for len(h) > 0 {
		it := h.pop()
		i := it.pos
		j := next[i]
		// Stale entry: a neighbour merged since it was pushed.
		if !alive[i] || j < 0 || syms[i] != it.left || syms[j] != it.right {
			continue
		}
		syms[i] = it.id
		alive[j] = false
		next[i] = next[j]
		if next[j] >= 0 {
			prev[next[j]] = i
		}
		if prev[i] >= 0 {
			push(prev[i])
		}
		push(i)
	}
	out := make([]int32, 0, n)
	for i := int32(0); i >= 0; i = next[i] {
		out = append(out, syms[i])
	}
	return out
}

type pairItem struct {
	rank        uint32
	pos         int32
	left, right int32
	id          int32
}

func (a pairItem) less(b pairItem) bool {
	return a.rank < b.rank || (a.rank == b.rank && a.pos < b.pos)
}

type pairHeap []pairItem

func (h *pairHeap) push(it pairItem) {
	*h = append(*h, it)
	s := *h
	for i := len(s) - 1; i > 0; {
		p := (i - 1) / 2
		if !s[i].less(s[p]) {
			break
		}
		s[i], s[p] = s[p], s[i]
		i = p
	}
}

func (h *pairHeap) pop() pairItem {
	s := *h
	top := s[0]
	last := len(s) - 1
	s[0] = s[last]
	s = s[:last]
	for i := 0; ; {
		l, r, small := 2*i+1, 2*i+2, i
		if l < len(s) && s[l].less(s[small]) {
			small = l
		}
		if r < len(s) && s[r].less(s[small]) {
			small = r
		}
		if small == i {
			break
		}
		s[i], s[small] = s[small], s[i]
		i = small
	}
	*h = s
	return top
}
