package app

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/infty-dev/infty/runtime"
	"github.com/spf13/pflag"
)

// AddBatchFlags registers --max-batch, --kv-budget and --batch-lanes, the embedded runtime's
// limits on continuous batching (concurrent generations of one model sharing each forward
// pass).
func AddBatchFlags(fl *pflag.FlagSet, l *runtime.BatchLimits) {
	fl.IntVar(&l.MaxBatch, "max-batch", 0, fmt.Sprintf("embedded runtime: most generations decoded together (default %d)", runtime.DefaultMaxBatch))
	fl.Var((*byteSize)(&l.KVBudget), "kv-budget", "embedded runtime: memory for the KV cache of the generations decoded together, e.g. 512MiB or 4GiB (a bare number is MiB; default a quarter of the available memory); a generation that does not fit waits")
	fl.IntVar(&l.Lanes, "batch-lanes", 0, "embedded runtime: parts of a batch stepped at once, each on its own core (default: 2 for a model that reads at most 16 MiB of weights a decoded token on the pure-Go backend, else 1); --max-batch and --kv-budget are split evenly between them")
}

// SizeVar registers a flag of a size in bytes, written as --kv-budget's are (512MiB, 4GiB, or a
// bare number of MiB).
func SizeVar(fl *pflag.FlagSet, p *int64, name, usage string) {
	fl.Var((*byteSize)(p), name, usage)
}

// byteSize is a flag of a size in bytes, written with a unit (KiB, MiB, GiB, or K, M, G for
// the same) or as a bare number of MiB.
type byteSize int64

func (b *byteSize) String() string {
	if *b == 0 {
		return ""
	}
	return fmt.Sprintf("%dMiB", int64(*b)>>20)
}

func (b *byteSize) Type() string { return "size" }

func (b *byteSize) Set(s string) error {
	num, unit := s, int64(1<<20)
	for _, u := range []struct {
		suffix string
		bytes  int64
	}{{"KiB", 1 << 10}, {"MiB", 1 << 20}, {"GiB", 1 << 30}, {"K", 1 << 10}, {"M", 1 << 20}, {"G", 1 << 30}, {"B", 1}} {
		if n, ok := strings.CutSuffix(s, u.suffix); ok {
			num, unit = n, u.bytes
			break
		}
	}
	v, err := strconv.ParseFloat(strings.TrimSpace(num), 64)
	if err != nil || v < 0 {
		return fmt.Errorf("%q is not a size such as 512MiB or 4GiB", s)
	}
	*b = byteSize(v * float64(unit))
	return nil
}
