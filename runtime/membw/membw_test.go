package membw

import "testing"

func TestSum(t *testing.T) {
	p := []uint64{1, 2, 3, 4, 5, 6, 7}
	if got := sum(p); got != 28 {
		t.Errorf("sum = %d, want 28", got)
	}
}

func TestReadBandwidthIsPlausible(t *testing.T) {
	bw := ReadBandwidth(32<<20, 2)
	// Anything from a slow VM (1 GB/s) to a large server (2 TB/s) is plausible; zero, NaN or
	// absurd values mean the probe is broken.
	if !(bw > 1e8 && bw < 2e12) {
		t.Errorf("bandwidth %.3g B/s is implausible", bw)
	}
}
