package arch

import "github.com/gomlx/gomlx/core/graph"

// BatchStepper is the Model capability continuous batching needs: one step advances several
// sequences at once, each in its own slot of a shared KV cache.
type BatchStepper interface {
	// StepBatch runs a chunk of each of B sequences against a shared KV cache whose layers are
	// [slots, kvHeads, cacheLen, headDim]: row b of ids [B, S] (Int32) holds nValid[b] real
	// tokens followed by padding, at positions start[b], start[b]+1, … of cache slot slot[b]
	// (slot, start and nValid are Int32 [B], fed at run time, so one compiled graph serves
	// every mix of positions). The real tokens' keys and values are added to what the slot
	// holds at those positions, which must be zeros (the caller clears a slot before another
	// sequence writes it), and the logits
	// [B, vocab] of each row's last real token come back. A row with nValid 0 changes nothing.
	// Real rows use distinct slots, and start[b]+nValid[b] <= cacheLen. With as many rows as
	// the cache has slots, row b must be slot b: the rows then attend to the cache in place,
	// where fewer rows gather their slots' keys and values first.
	StepBatch(w Weights, ids, slot, start, nValid *graph.Node, cache *Cache) (logits *graph.Node, updated *Cache)
}
