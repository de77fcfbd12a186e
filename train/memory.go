package train

import (
	"fmt"

	"github.com/infty-dev/infty/runtime/arch"
)

// UpdateBytes estimates the peak memory of one update over a micro-batch of rows sequences of
// seq positions on the pure-Go backend: the forward activations the gradient keeps and the
// gradients themselves, not the weights and optimizer state, which do not grow with the batch.
//
// The terms are fitted to peaks of the process's resident memory around one accumulated
// update of the RL objective (2026-11-30, 17 shapes from the embedded model's up to hidden 512,
// MLP 1536, vocabulary 8192, 8 layers, 8 heads and 1536 positions), chosen so that none of
// those peaks exceeds its estimate (the estimates run 1.5-36% over): 3.5 floats a position and
// vocabulary entry (logits, their log softmax, its gradient); per layer 44 a position and
// hidden unit and 6 a position and MLP unit (the shapes measured had MLPs 3-4 times the hidden
// width, too alike to tell the two apart well; a wider MLP, as Qwen's 5-6 times, counts more);
// and per layer and attention head 4.25 a pair of positions (the scores, their softmax and both
// gradients), the term that makes long sequences dear: a row of 1536 positions of the embedded
// model needs ~360 MiB, one of 256 ~18 MiB.
func UpdateBytes(cfg *arch.Config, rows, seq int) int64 {
	s := float64(seq)
	perPosition := 3.5*float64(cfg.Vocab) + float64(cfg.Layers)*(44*float64(cfg.Hidden)+6*float64(cfg.Intermediate))
	perPair := 4.25 * float64(cfg.Layers*cfg.Heads)
	return int64(4 * float64(rows) * (s*perPosition + s*s*perPair))
}

// Size writes bytes in GiB, MiB or KiB, whichever reads best, for messages about memory.
func Size(bytes int64) string {
	switch {
	case bytes >= 1<<30:
		return fmt.Sprintf("%.1f GiB", float64(bytes)/(1<<30))
	case bytes >= 1<<20:
		return fmt.Sprintf("%.1f MiB", float64(bytes)/(1<<20))
	}
	return fmt.Sprintf("%.1f KiB", float64(bytes)/(1<<10))
}
