package train

import (
	"testing"

	"github.com/infty-dev/infty/runtime/arch"
)

// UpdateBytes grows as an update's memory does: in proportion to the rows, faster than the
// length (attention), and with the vocabulary, the layers, the widths and the heads; and it
// stays above the peaks measured for the embedded model's shape (15 MiB a row of 256
// positions, 341 MiB one of 1536).
func TestUpdateBytesGrowsAsMemoryDoes(t *testing.T) {
	tiny := arch.Config{Hidden: 64, Intermediate: 256, Layers: 2, Heads: 4, KVHeads: 2, Vocab: 272}
	at := func(c arch.Config, rows, seq int) int64 { return UpdateBytes(&c, rows, seq) }
	if a, b := at(tiny, 1, 256), at(tiny, 8, 256); b != 8*a {
		t.Errorf("8 rows need %d bytes, one %d: want 8 times", b, a)
	}
	if a, b := at(tiny, 1, 512), at(tiny, 1, 1024); b <= 2*a {
		t.Errorf("1024 positions need %d bytes, 512 %d: want more than twice (attention is quadratic)", b, a)
	}
	base := at(tiny, 1, 256)
	for name, c := range map[string]arch.Config{
		"vocab":  {Hidden: 64, Intermediate: 256, Layers: 2, Heads: 4, KVHeads: 2, Vocab: 8192},
		"layers": {Hidden: 64, Intermediate: 256, Layers: 4, Heads: 4, KVHeads: 2, Vocab: 272},
		"hidden": {Hidden: 128, Intermediate: 256, Layers: 2, Heads: 4, KVHeads: 2, Vocab: 272},
		"mlp":    {Hidden: 64, Intermediate: 512, Layers: 2, Heads: 4, KVHeads: 2, Vocab: 272},
		"heads":  {Hidden: 64, Intermediate: 256, Layers: 2, Heads: 8, KVHeads: 2, Vocab: 272},
	} {
		if n := at(c, 1, 256); n <= base {
			t.Errorf("more %s: %d bytes, not more than %d", name, n, base)
		}
	}
	for _, m := range []struct {
		seq      int
		measured float64 // MiB
	}{{256, 15.05}, {1536, 340.92}} {
		if got := float64(at(tiny, 1, m.seq)) / (1 << 20); got < m.measured {
			t.Errorf("a row of %d positions: estimate %.1f MiB under the %.1f MiB measured", m.seq, got, m.measured)
		}
	}
}
