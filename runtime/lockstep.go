package runtime

import (
	"context"
	"fmt"
	"slices"
)

// Lockstep makes a group of concurrent generations on one Model reproducible. Batched, a
// sequence's logits depend on the company it keeps (the backend's kernels sum in an order
// that follows the batch's shape, ~1e-6), and without a group the company follows timing:
// who was back from sampling within the grace period, which sizes of batch measured fastest.
// With a group, the model takes a step only when every member that has not left is waiting
// on it (or for room in the cache), admits members in their order and steps all of them in
// that order, so every batch is a function of the members' requests alone.
//
// Each member passes the context from Member to its Generate calls, one call at a time, and
// calls Leave once it will make no more: until then the others wait for it, between its
// calls too. One group at a time per Model; generations outside it are stepped with it and
// make it timing-dependent again. Where the model decodes in lanes, member i is in lane i mod
// lanes, and each lane steps its members in lockstep.
type Lockstep struct {
	lanes *batchLanes
	n     int
	left  []bool // written holding every lane's lock, read holding any
}

type memberKey struct{}

type member struct {
	group *Lockstep
	index int
}

// Lockstep starts a group of n members on m. It fails while another group is open.
func (m *Model) Lockstep(n int) (*Lockstep, error) {
	ls := m.lanes
	ls.lockAll()
	defer ls.unlockAll()
	if open := ls.lock; open != nil {
		return nil, fmt.Errorf("lockstep: a group of %d is still open on this model", open.n)
	}
	if n < 1 {
		return nil, fmt.Errorf("lockstep: a group needs at least one member, got %d", n)
	}
	ls.lock = &Lockstep{lanes: ls, n: n, left: make([]bool, n)}
	return ls.lock, nil
}

// Member is ctx for member i's Generate calls.
func (l *Lockstep) Member(ctx context.Context, i int) context.Context {
	return context.WithValue(ctx, memberKey{}, member{group: l, index: i})
}

// Leave says member i makes no more calls; the group closes when all have left. Calling it
// twice is harmless.
func (l *Lockstep) Leave(i int) {
	ls := l.lanes
	ls.lockAll()
	defer ls.unlockAll()
	if l.left[i] {
		return
	}
	l.left[i] = true
	if !slices.Contains(l.left, false) && ls.lock == l {
		ls.lock = nil
	}
	for _, b := range ls.all {
		b.signal()
	}
}

// memberOf is the index in b's open group of the generation ctx belongs to, or -1 (for a
// context of a group that has closed too). b.mu is held.
func (b *batcher) memberOf(ctx context.Context) int {
	if mb, ok := ctx.Value(memberKey{}).(member); ok && mb.group == b.set.lock && mb.index >= 0 && mb.index < mb.group.n {
		return mb.index
	}
	return -1
}

// parked reports whether every member of the open group in b's lane that has not left waits
// on the scheduler: prompt or token pending, or not admitted yet. b.mu is held.
func (l *Lockstep) parked(b *batcher) bool {
	waits := slices.Clone(l.left)
	for i := range waits {
		waits[i] = waits[i] || i%len(l.lanes.all) != b.lane // another lane's
	}
	mark := func(s *seq) {
		if !s.left && s.member >= 0 {
			waits[s.member] = true
		}
	}
	for _, s := range b.waiting {
		mark(s)
	}
	for _, s := range b.active {
		if len(s.pending) > 0 {
			mark(s)
		}
	}
	return !slices.Contains(waits, false)
}

func byMember(x, y *seq) int { return x.member - y.member }
