package synth

import (
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"

	"github.com/infty-dev/infty/internal/atomicfile"
	"github.com/infty-dev/infty/session/format"
	"github.com/infty-dev/infty/session/sft"
)

// Mode picks how worked solutions are written.
type Mode string

const (
	ModeIterative Mode = "iterative" // InftyThink+ iterations, one example per iteration
	ModeVanilla   Mode = "vanilla"   // one long chain of thought per problem
)

// Examples renders problems as SFT examples in both layouts, with the answer. In iterative mode
// every iteration of every problem becomes one example.
func Examples(problems []Problem, mode Mode, stride int) ([]sft.Example, error) {
	var out []sft.Example
	for _, p := range problems {
		q := p.Question()
		var its []format.Iteration
		switch mode {
		case ModeIterative:
			its = p.Iterations(stride)
		case ModeVanilla:
			its = []format.Iteration{p.Vanilla()}
		default:
			return nil, fmt.Errorf("synth: unknown mode %q (iterative or vanilla)", mode)
		}
		for _, it := range its {
			out = append(out, sft.Example{Chat: sft.NewChat(q, it), Flat: sft.NewFlat(q, it), Answer: p.Answer()})
		}
	}
	return out, nil
}

// Shuffle permutes examples deterministically for a seed, so that iterations of one problem
// do not sit next to each other in a training file.
func Shuffle(ex []sft.Example, seed uint64) {
	r := rand.New(rand.NewPCG(seed, 0x5417_ff1e))
	r.Shuffle(len(ex), func(i, j int) { ex[i], ex[j] = ex[j], ex[i] })
}

// FileOptions say which problems WriteFile writes and how.
type FileOptions struct {
	Seed              uint64
	N, MinLen, MaxLen int
	Mode              Mode
	Stride            int
	Shuffle           bool // shuffle the examples, seeded by Seed
}

// WriteFile writes the examples of N problems to path as SFT JSON Lines (session/sft's layout),
// creating its folder, and returns how many problems and examples it wrote. The file replaces
// path whole (atomicfile), so a failed or killed run leaves no half-written data set.
func WriteFile(path string, o FileOptions) (problems, examples int, err error) {
	ps, err := Set(o.Seed, o.N, o.MinLen, o.MaxLen)
	if err != nil {
		return 0, 0, err
	}
	ex, err := Examples(ps, o.Mode, o.Stride)
	if err != nil {
		return 0, 0, err
	}
	if o.Shuffle {
		Shuffle(ex, o.Seed)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return 0, 0, err
	}
	if err := atomicfile.Write(path, func(w io.Writer) error { return sft.NewWriter(w).Write(ex...) }); err != nil {
		return 0, 0, err
	}
	return len(ps), len(ex), nil
}
