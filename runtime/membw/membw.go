// Package membw measures the machine's streaming memory-read bandwidth, the floor under
// token-by-token decoding: every generated token reads every weight once, so no decoder can
// beat (bytes of weights per token) ÷ (read bandwidth).
package membw

import (
	"runtime"
	"sync"
	"time"
)

// ReadBandwidth returns the best of passes full parallel reads of a buffer of the given
// size (bytes), in bytes per second, using one reader per CPU. The buffer should be much
// larger than the last-level cache (256 MiB or more) so the figure is DRAM's, not the cache's.
func ReadBandwidth(size, passes int) float64 {
	words := make([]uint64, size/8)
	for i := range words {
		words[i] = uint64(i) // touch every page so the reads hit real memory
	}
	workers := runtime.GOMAXPROCS(0)
	best := 0.0
	for range passes {
		start := time.Now()
		var wg sync.WaitGroup
		sums := make([]uint64, workers*8) // padded apart to avoid false sharing
		per := len(words) / workers
		for w := range workers {
			wg.Add(1)
			go func(part []uint64, out *uint64) {
				defer wg.Done()
				*out = sum(part)
			}(words[w*per:(w+1)*per], &sums[w*8])
		}
		wg.Wait()
		if bw := float64(per*workers*8) / time.Since(start).Seconds(); bw > best {
			best = bw
		}
		sink = sums[0]
	}
	return best
}

// sink keeps the sums alive so the compiler cannot drop the reads.
var sink uint64

// sum reads with eight independent accumulators so the loop is bound by memory, not by
// the dependency chain of a single add.
func sum(p []uint64) uint64 {
	var a, b, c, d, e, f, g, h uint64
	for len(p) >= 8 {
		q := p[:8:8]
		a += q[0]
		b += q[1]
		c += q[2]
		d += q[3]
		e += q[4]
		f += q[5]
		g += q[6]
		h += q[7]
		p = p[8:]
	}
	for _, v := range p {
		a += v
	}
	return a + b + c + d + e + f + g + h
}
