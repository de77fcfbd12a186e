package runtime

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	goruntime "runtime"
	"slices"
	"sync"
	"time"

	"github.com/infty-dev/infty/runtime/hub"
)

// BatchLimits bound continuous batching. Zero fields take the defaults.
type BatchLimits struct {
	// MaxBatch is the most sequences admitted at once (default DefaultMaxBatch).
	MaxBatch int
	// KVBudget is the most bytes the KV cache of the admitted sequences may take (default: a
	// quarter of the memory available when the model is loaded, at least 64 MiB).
	KVBudget int64
	// Lanes is how many batches step at once, each of its own sequences, on its own core
	// (default: see defaultLanes).
	Lanes int
}

// DefaultMaxBatch is the default of BatchLimits.MaxBatch: the largest batch bucket.
const DefaultMaxBatch = 64

// minKVBudget is the smallest default KV budget, for a machine that cannot say what it has.
const minKVBudget = 64 << 20

// minGrace is the least time a decode step waits for the sequences it last served to come
// back; it grows to the last decode step's duration, so that a sequence left out because its
// caller is slow loses at most about a step. A variable only so that a test can make waiting
// it out stall for good.
var minGrace = 2 * time.Millisecond

// errClosed is what a generation gets when its model is closed under it.
var errClosed = errors.New("runtime: model closed")

// batcher is continuous batching over one model, or over one lane of it (see batchLanes):
// concurrent generations share each forward pass. A scheduler goroutine, running while any
// sequence is admitted or waiting, owns the KV cache and runs one step at a time: a prefill
// chunk of the sequences whose prompt is not yet in the cache, or one decode token of every
// sequence whose next token is known, alternating so that a long prompt does not stall
// running streams.
//
// Sampling, detokenising and the caller's callback run in the caller's goroutine, between
// steps. A decode step waits for the sequences it just served (for up to a grace period), so
// that they share the next pass; one whose caller has not come back by then (blocked in its
// callback, say) is left out, keeping its slot, and rejoins the step after it comes back
// (before leaving any out, the scheduler yields its core once, so that callers ready to run
// submit first). Decode steps take every ready sequence unless the timings of smaller batches
// show that fewer rows a step decode clearly more tokens per second (stepCost), as for a large
// model whose products, on the pure-Go backend, cost nearly as much per row in a batch as
// alone.
//
// Memory: a sequence reserves its prompt plus its MaxTokens positions at admission, and the
// cache, rectangular [slots, length] in power-of-two buckets, is sized for the admitted
// sequences; admission waits (first come, first served) until the cache for them would fit
// the lane's share of KVBudget. Growing the cache copies it, so for that moment the old and the
// new cache are both held. The cache is released when no sequence is left.
type batcher struct {
	m        *Model
	set      *batchLanes
	lane     int   // its index in set
	maxBatch int   // its share of MaxBatch
	budget   int64 // its share of KVBudget

	mu      sync.Mutex
	wake    chan struct{} // buffered: the scheduler has something new to look at
	done    chan struct{} // closed when the running scheduler exits; nil when none runs
	closed  bool
	waiting []*seq // not yet admitted, in arrival order
	active  []*seq // admitted: each holds a slot
	// slots and length are the cache shape the admitted sequences may grow it to: they only
	// grow while the batcher is busy, as the cache does.
	slots, length int
	lastPrefill   bool          // the last step was a prefill chunk: the next goes to decoding
	grace         time.Duration // how long a decode step waits for the sequences it served
	// step counts the steps run, and awaited is how many of the sequences the last one handed
	// logits to have not submitted their next id: each of those but the last to come back
	// submits without waking the scheduler, which cannot step before the last anyway (see
	// submit).
	step, awaited int

	cache kvCache // the scheduler goroutine's alone
	stats batchStats
	// stepCost is the running mean duration of a decode step by its bucket of rows: where a
	// bigger batch costs more per row than it saves (a large model on a backend whose kernels
	// are bound by arithmetic for several rows), decode steps take fewer rows at a time.
	stepCost map[int]time.Duration
	fewer    int // decode steps that took fewer rows than were ready, for decodeRows
	// compiled holds the decode graph shapes (rows bucket, cache slots, cache length) run at
	// least once: only their later steps are timed.
	compiled map[[3]int]bool
}

// batchStats count what the batcher did, for benchmarks and tests.
type batchStats struct {
	Steps, DecodeSteps, DecodeRows int   // steps run; decode steps and the rows they decoded
	PeakActive, PeakRows           int   // the most sequences admitted at once, and rows in a step
	PeakCacheBytes                 int64 // the most bytes of KV cache held at once
}

// seq is one generation in the batcher.
type seq struct {
	need    int   // cache positions reserved: prompt plus budget
	slot    int   // valid once admitted
	pos     int   // positions in the cache
	pending []int // ids submitted and not yet fed
	left    bool  // the caller is gone: free the slot
	failed  error // why the sequence was ended under its caller, who may still submit
	// served is when the last decode step handed this sequence its logits, zero while it is
	// pending or prefilling; a decode step waits for it until served+grace. servedIn is that
	// step (batcher.step).
	served   time.Time
	servedIn int
	readyAt  time.Time    // when its pending id came: the longest waiting decode first
	member   int          // its index in the open Lockstep group, or -1
	out      chan stepOut // capacity 1: the logits after the last pending id
	// logits is where steps write this sequence's logits, handed to its caller through out:
	// one buffer for the whole generation, rewritten only in a step that feeds ids the caller
	// submitted, by when the caller has done with the last logits (it samples from them, then
	// submits).
	logits []float32
}

type stepOut struct {
	logits    []float32
	logSumExp float32 // of logits
	err       error
}

func newBatcher(m *Model, set *batchLanes, lane, maxBatch int, budget int64) *batcher {
	return &batcher{m: m, set: set, lane: lane, maxBatch: maxBatch, budget: budget, wake: make(chan struct{}, 1),
		grace: minGrace, stepCost: map[int]time.Duration{}, compiled: map[[3]int]bool{}}
}

// defaultKVBudget is BatchLimits.KVBudget's default.
func defaultKVBudget() int64 {
	budget := int64(minKVBudget)
	if avail, _, err := hub.AvailableMemory(); err == nil {
		budget = max(budget, avail/4)
	}
	return budget
}

// join queues a sequence that feeds prompt and then decodes up to maxTokens tokens, in the
// lane of the model that suits ctx, as the member of the open Lockstep group that ctx names, if
// any. It fails only for a sequence that could never fit the KV budget, even alone.
func (m *Model) join(ctx context.Context, prompt []int, maxTokens int) (*batcher, *seq, error) {
	b := m.lanes.pick(ctx)
	s, err := b.join(ctx, prompt, maxTokens)
	if err != nil {
		m.lanes.unjoin(b.lane)
		return nil, nil, err
	}
	return b, s, nil
}

func (b *batcher) join(ctx context.Context, prompt []int, maxTokens int) (*seq, error) {
	s := &seq{need: len(prompt) + maxTokens, pending: prompt, out: make(chan stepOut, 1)}
	if need := b.m.kvBytes(1, bucket(s.need, minCacheLen)); need > b.budget {
		lanes := ""
		if n := len(b.set.all); n > 1 {
			lanes = fmt.Sprintf(" (a lane's share of %s in %d lanes; or use fewer lanes)", mib(b.budget*int64(n)), n)
		}
		return nil, fmt.Errorf("generate: %d prompt and %d new tokens need %s of KV cache, over the budget of %s%s (raise the KV budget)",
			len(prompt), maxTokens, mib(need), mib(b.budget), lanes)
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		return nil, errClosed
	}
	s.member = b.memberOf(ctx)
	b.waiting = append(b.waiting, s)
	if b.done == nil {
		b.done = make(chan struct{})
		go b.run(b.done)
	}
	b.signal()
	return s, nil
}

func mib(n int64) string { return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20)) }

// takeStats returns the counts since the last call and starts them over.
func (b *batcher) takeStats() batchStats {
	b.mu.Lock()
	defer b.mu.Unlock()
	st := b.stats
	b.stats = batchStats{}
	return st
}

// submit hands the scheduler the next id of s, once s has received its logits.
func (b *batcher) submit(s *seq, id int) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed || s.failed != nil {
		s.deliver(stepOut{err: cmp.Or(s.failed, errClosed)})
		return
	}
	now := time.Now()
	awaited := b.awaits(s)
	late := !now.Before(s.served.Add(b.grace))
	s.pending, s.served, s.readyAt = []int{id}, time.Time{}, now
	if awaited {
		b.awaited--
	}
	// While others the last step served are still out, and within their grace, the scheduler
	// would only look and go back to waiting (its timer wakes it when the grace ends). Woken by
	// every id, with a timer of its own each time, a lane of the tiny model at 32 rows spent
	// ~117 µs between decode steps of ~0.9 ms; now ~70. Past the grace it no longer waits for
	// the others, and may be asleep with no timer, so a late id always wakes it. A Lockstep
	// group steps on its members alone, so there every id does.
	if !awaited || b.awaited == 0 || late || b.set.lock != nil {
		b.signal()
	}
}

// awaits reports whether s is one of the sequences the last step handed logits to that have
// not submitted their next id (counted in awaited).
func (b *batcher) awaits(s *seq) bool { return !s.served.IsZero() && s.servedIn == b.step }

// leave ends s: the scheduler frees its slot before the next step.
func (b *batcher) leave(s *seq) {
	b.mu.Lock()
	s.left = true
	if b.awaits(s) {
		s.served = time.Time{}
		b.awaited--
	}
	b.signal()
	b.mu.Unlock()
	b.set.unjoin(b.lane)
}

// deliver hands o to the caller of s; a caller that has not taken its last logits (it left,
// or the model closed meanwhile) keeps those.
func (s *seq) deliver(o stepOut) {
	select {
	case s.out <- o:
	default:
	}
}

// wait returns the logits after the ids s submitted (and their log-sum-exp), unless ctx ends
// first.
func (s *seq) wait(ctx context.Context) ([]float32, float32, error) {
	select {
	case o := <-s.out:
		return o.logits, o.logSumExp, o.err
	case <-ctx.Done():
		return nil, 0, ctx.Err()
	}
}

// close fails the generations in flight and waits for the scheduler to stop.
func (b *batcher) close() {
	b.mu.Lock()
	b.closed = true
	done := b.done
	b.signal()
	b.mu.Unlock()
	if done != nil {
		<-done
	}
}

func (b *batcher) signal() {
	select {
	case b.wake <- struct{}{}:
	default:
	}
}

// run is the scheduler: it steps the batch until no sequence is left, then releases the cache.
func (b *batcher) run(done chan struct{}) {
	defer close(done)
	b.mu.Lock()
	yielded := false // since the last step
	for {
		if b.closed {
			for _, s := range append(b.active, b.waiting...) {
				s.deliver(stepOut{err: errClosed})
				s.left = true
			}
		}
		b.reap()
		if lock := b.set.lock; lock != nil && !b.closed {
			if !lock.parked(b) {
				b.mu.Unlock()
				<-b.wake
				b.mu.Lock()
				continue
			}
			slices.SortStableFunc(b.waiting, byMember)
		}
		b.admit()
		if len(b.active) == 0 && len(b.waiting) == 0 {
			b.done = nil
			b.mu.Unlock()
			return
		}
		batch, prefill, until := b.pick(time.Now())
		if batch != nil && !prefill && !yielded && b.set.lock == nil && len(batch) < b.decoding() {
			// Some decoding sequences are not ready and past their grace. Their callers may
			// be ready to run but queued behind this goroutine: Go runs the goroutine a
			// wake-up readies next, on the waker's core, so the scheduler and one caller can
			// hand a core back and forth while the other callers queued there wait (in
			// BenchmarkBatch, 37 one-row steps while 31 streams waited). Yielding once lets
			// them submit first.
			yielded = true
			b.mu.Unlock()
			goruntime.Gosched()
			b.mu.Lock()
			continue
		}
		if batch == nil {
			b.mu.Unlock()
			var timer *time.Timer
			var timeout <-chan time.Time
			if !until.IsZero() {
				timer = time.NewTimer(time.Until(until))
				timeout = timer.C
			}
			select {
			case <-b.wake:
			case <-timeout:
			}
			if timer != nil {
				timer.Stop()
			}
			b.mu.Lock()
			continue
		}
		rows, logits := make([]row, len(batch)), make([][]float32, len(batch))
		for i, s := range batch {
			rows[i] = row{slot: s.slot, start: s.pos, ids: s.pending[:min(len(s.pending), maxChunk)]}
			if len(rows[i].ids) == len(s.pending) { // its logits go to its caller after this step
				if s.logits == nil {
					s.logits = make([]float32, b.m.Config.Vocab)
				}
				logits[i] = s.logits
			}
		}
		b.mu.Unlock()
		t0 := time.Now()
		yielded = false
		lse, err := b.m.step(&b.cache, rows, logits)
		took := time.Since(t0)
		b.mu.Lock()
		b.lastPrefill = prefill
		b.stats.Steps++
		b.stats.PeakRows = max(b.stats.PeakRows, len(rows))
		b.set.holds(b.lane, b.m.kvBytes(b.cache.slots, b.cache.length))
		if shape := [3]int{bucket(len(rows), 1), b.cache.slots, b.cache.length}; !prefill {
			b.stats.DecodeSteps++
			b.stats.DecodeRows += len(rows)
			if !b.compiled[shape] {
				// The first step of a graph shape includes compiling it, seconds for a large
				// model: timed, it would make that many rows look slow for many steps after.
				b.compiled[shape] = true
			} else {
				b.grace = max(minGrace, took)
				b.timed(shape[0], took)
			}
		}
		if err != nil {
			// The cache went with the failed step: every admitted sequence fails, not only
			// those of this step, which would otherwise go on from an empty cache.
			for _, s := range b.active {
				s.deliver(stepOut{err: err})
				s.left, s.failed = true, err
			}
			continue
		}
		now := time.Now()
		b.step++
		b.awaited = 0
		for i, s := range batch {
			s.pos += len(rows[i].ids)
			s.pending = s.pending[len(rows[i].ids):]
			if len(s.pending) == 0 {
				s.served, s.servedIn = now, b.step
				b.awaited++
				s.deliver(stepOut{logits: logits[i], logSumExp: lse[i]})
			}
		}
	}
}

// reap frees the slots of the sequences whose callers left, and the cache once none is
// left: the cache of the sequences gone may not fit the next.
func (b *batcher) reap() {
	gone := func(s *seq) bool { return s.left }
	n := len(b.active)
	b.active = slices.DeleteFunc(b.active, gone)
	b.waiting = slices.DeleteFunc(b.waiting, gone)
	if len(b.active) == 0 {
		b.cache.free()
		b.slots, b.length = 0, 0
		b.set.holds(b.lane, 0)
	}
	b.set.admitted(b.lane, len(b.active)-n)
}

// admit moves waiting sequences, first come first served, into free slots while the cache
// they may grow it to stays within the lane's limits.
func (b *batcher) admit() {
	for len(b.waiting) > 0 && len(b.active) < b.maxBatch {
		s := b.waiting[0]
		slots := max(b.slots, bucket(len(b.active)+1, 1))
		length := max(b.length, bucket(s.need, minCacheLen))
		if b.m.kvBytes(slots, length) > b.budget {
			return
		}
		used := make([]bool, len(b.active)+1)
		for _, a := range b.active {
			if a.slot < len(used) {
				used[a.slot] = true
			}
		}
		s.slot = slices.Index(used, false)
		b.slots, b.length = slots, length
		b.active = append(b.active, s)
		b.waiting = b.waiting[1:]
		b.set.admitted(b.lane, 1)
	}
}

// pick chooses the next step: a prefill chunk of the sequences with prompt left to feed, or a
// decode token of those with one id pending. A decode step waits for the sequences it last
// served until their grace ends (until: when to look again); prefill and decode alternate
// while both have work.
func (b *batcher) pick(now time.Time) (batch []*seq, prefill bool, until time.Time) {
	var fill, decode []*seq
	for _, s := range b.active {
		switch {
		case len(s.pending) > 1 || (len(s.pending) == 1 && s.pos == 0):
			fill = append(fill, s)
		case len(s.pending) == 1:
			decode = append(decode, s)
		case !s.served.IsZero() && now.Before(s.served.Add(b.grace)):
			if until.IsZero() || s.served.Add(b.grace).Before(until) {
				until = s.served.Add(b.grace)
			}
		}
	}
	decodeNow := len(decode) > 0 && until.IsZero()
	if len(fill) > 0 && !(decodeNow && b.lastPrefill) {
		return prefillRows(fill), true, time.Time{}
	}
	if decodeNow && b.set.lock != nil {
		slices.SortStableFunc(decode, byMember)
		return decode, false, time.Time{}
	}
	if decodeNow {
		slices.SortStableFunc(decode, func(x, y *seq) int { return x.readyAt.Compare(y.readyAt) })
		return decode[:b.decodeRows(len(decode))], false, time.Time{}
	}
	return nil, false, until
}

// decoding counts the admitted sequences past their prompt.
func (b *batcher) decoding() int {
	n := 0
	for _, s := range b.active {
		if s.pos > 0 && len(s.pending) <= 1 {
			n++
		}
	}
	return n
}

// prefillRows takes sequences in admission order while the chunk, padded to its buckets of
// rows and ids, stays within maxChunk tokens: that bounds the attention scores' memory and
// how long running streams wait for it.
func prefillRows(fill []*seq) []*seq {
	s := 1
	for n := range fill {
		s2 := max(s, bucket(min(len(fill[n].pending), maxChunk), 1))
		if n > 0 && bucket(n+1, 1)*s2 > maxChunk {
			return fill[:n]
		}
		s = s2
	}
	return fill
}

// decodeRows is how many of n ready sequences the next decode step takes: all n, or the
// fewer whose bucket of rows decodes the most tokens per second by stepCost, by at least
// fewerGain over every larger bucket. A bucket not timed yet is tried first, from the largest
// down; while fewer rows win, every exploreEvery-th step takes a larger bucket again, so that
// a bucket once timed slow (under a burst of other load, say) gets another chance.
func (b *batcher) decodeRows(n int) int {
	best, bestRate := n, 0.0
	for c := n; ; c = bucket(c, 1) / 2 {
		cost, ok := b.stepCost[bucket(c, 1)]
		if !ok {
			return c
		}
		if rate := float64(c) / cost.Seconds(); bestRate == 0 || rate > bestRate*fewerGain {
			best, bestRate = c, rate
		}
		if c == 1 {
			break
		}
	}
	if best < n {
		if b.fewer++; b.fewer%exploreEvery == 0 {
			// The larger buckets take turns: were only the next one retimed, a bucket between
			// that times no faster than best would keep a much faster one above it untried.
			levels := 0
			for c := bucket(best, 1) * 2; c <= bucket(n, 1); c *= 2 {
				levels++
			}
			turn := (b.fewer/exploreEvery - 1) % levels
			return min(n, bucket(best, 1)<<(1+turn))
		}
	}
	return best
}

// timed folds the duration of a decode step of a bucket of rows into stepCost. A step slowed
// by the machine's other load raises the estimate a little; a faster one replaces it, so one
// unlucky step does not condemn a bucket.
func (b *batcher) timed(rows int, took time.Duration) {
	if old, ok := b.stepCost[rows]; ok && took > old {
		took = (4*old + took) / 5
	}
	b.stepCost[rows] = took
}

// exploreEvery is how often decodeRows retimes a larger bucket than the fastest by stepCost.
const exploreEvery = 8

// fewerGain is how much faster, in tokens per second by stepCost, fewer rows must decode than
// more for a decode step to take the fewer. Taking them wrongly costs a whole step for the
// rows left over, while their gain is small where it is this close; and the estimates of
// buckets timed seldom are the least sure. In two lanes on 2 cores, a step of 16 rows of the
// tiny model timed while the other lane was idle could look faster per token than one of 32,
// which decode ~1.8× as many tokens a second: of ~4,200 steps of 64 streams in BenchmarkBatch,
// ~230 took 16 rows where 32 were ready.
const fewerGain = 1.25
