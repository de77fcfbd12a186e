package runtime

import (
	"context"
	"sync"

	"github.com/gomlx/compute"
	"github.com/infty-dev/infty/runtime/backend"
)

// laneWeightBytes is the most bytes of weights a model may read per decoded token
// (decodeWeightBytes) and still decode in several lanes by default. A step of such a model is
// many products too small for the pure-Go backend to share among its workers, so one step
// keeps one core busy, and its weights stay in the processor's caches, so another lane reading
// them again costs little: 64 streams of the tiny embedded model (0.5 MiB) decode about 1.5-2×
// as fast in two lanes on 2 cores. A large model's products already use every core, and its
// decode is bound by reading the weights, which each lane would read again.
const laneWeightBytes = 16 << 20

// smallModelLanes is how many lanes a small model decodes in by default: the same on every
// machine, whatever its cores, so that a Lockstep group's batches (and with them the last bits
// of its logits, and an RL run) do not depend on the machine; 2 is what has been measured, on 2
// cores.
const smallModelLanes = 2

// defaultLanes is BatchLimits.Lanes's default for a model on be that reads weightBytes of
// weights per decoded token: smallModelLanes for a small model on the pure-Go backend, else one.
func defaultLanes(be compute.Backend, weightBytes int64) int {
	if weightBytes > laneWeightBytes || !backend.IsGo(be) {
		return 1
	}
	return smallModelLanes
}

// batchLanes are a model's lanes of continuous batching: each a batcher with its own
// sequences, KV cache and scheduler goroutine, stepping its own batches while the others
// step theirs, on another core. Independent rather than stepped together: while one lane's
// callers sample their tokens, another lane computes. A new generation goes to the lane with
// the fewest; a member of a Lockstep group to the lane its index names, so that every lane's
// batches stay a function of the members' requests.
//
// The limits are split between the lanes, each lane taking its share of MaxBatch sequences and
// of KVBudget bytes: shared, which lane got a place freed in another would follow timing, and a
// Lockstep group with more members than places would no more repeat to the bit.
type batchLanes struct {
	all []*batcher
	// lock is the open group stepped in lockstep, if any: written holding every lane's lock,
	// read holding any.
	lock *Lockstep

	mu     sync.Mutex // guards what follows; taken under a lane's own lock, never around one
	queued []int      // by lane: generations joined and not yet left
	active []int      // by lane: sequences admitted
	held   []int64    // by lane: bytes its cache holds
	peak   batchStats // PeakActive and PeakCacheBytes across the lanes
}

func newBatchLanes(m *Model, l BatchLimits) *batchLanes {
	maxBatch, budget := l.MaxBatch, l.KVBudget
	if maxBatch <= 0 {
		maxBatch = DefaultMaxBatch
	}
	if budget <= 0 {
		budget = defaultKVBudget()
	}
	n := l.Lanes
	if n <= 0 {
		n = defaultLanes(m.backend, m.decodeWeightBytes())
	}
	n = min(n, maxBatch)
	ls := &batchLanes{queued: make([]int, n), active: make([]int, n), held: make([]int64, n)}
	for i := range n {
		share := maxBatch / n
		if i < maxBatch%n {
			share++
		}
		ls.all = append(ls.all, newBatcher(m, ls, i, share, budget/int64(n)))
	}
	return ls
}

// pick is the lane a generation of ctx joins, counted in it until it leaves (unjoin).
func (ls *batchLanes) pick(ctx context.Context) *batcher {
	ls.mu.Lock()
	defer ls.mu.Unlock()
	lane := 0
	if mb, ok := ctx.Value(memberKey{}).(member); ok && mb.index >= 0 {
		lane = mb.index % len(ls.all)
	} else {
		for i, q := range ls.queued {
			if q < ls.queued[lane] {
				lane = i
			}
		}
	}
	ls.queued[lane]++
	return ls.all[lane]
}

func (ls *batchLanes) unjoin(lane int) {
	ls.mu.Lock()
	defer ls.mu.Unlock()
	ls.queued[lane]--
}

// admitted counts the sequences lane admits (n > 0) and those that leave it (n < 0).
func (ls *batchLanes) admitted(lane, n int) {
	if n == 0 {
		return
	}
	ls.mu.Lock()
	defer ls.mu.Unlock()
	ls.active[lane] += n
	var active int
	for _, a := range ls.active {
		active += a
	}
	ls.peak.PeakActive = max(ls.peak.PeakActive, active)
}

// holds records the bytes lane's cache holds now.
func (ls *batchLanes) holds(lane int, bytes int64) {
	ls.mu.Lock()
	defer ls.mu.Unlock()
	ls.held[lane] = bytes
	var sum int64
	for _, h := range ls.held {
		sum += h
	}
	ls.peak.PeakCacheBytes = max(ls.peak.PeakCacheBytes, sum)
}

// takeStats returns the counts of every lane since the last call and starts them over.
func (ls *batchLanes) takeStats() batchStats {
	var st batchStats
	for _, b := range ls.all {
		s := b.takeStats()
		st.Steps += s.Steps
		st.DecodeSteps += s.DecodeSteps
		st.DecodeRows += s.DecodeRows
		st.PeakRows = max(st.PeakRows, s.PeakRows)
	}
	ls.mu.Lock()
	defer ls.mu.Unlock()
	st.PeakActive, st.PeakCacheBytes = ls.peak.PeakActive, ls.peak.PeakCacheBytes
	ls.peak = batchStats{}
	return st
}

// lockAll takes every lane's lock, in order; unlockAll releases them.
func (ls *batchLanes) lockAll() {
	for _, b := range ls.all {
		b.mu.Lock()
	}
}

func (ls *batchLanes) unlockAll() {
	for _, b := range ls.all {
		b.mu.Unlock()
	}
}

func (ls *batchLanes) close() {
	for _, b := range ls.all {
		b.close()
	}
}
