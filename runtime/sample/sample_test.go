package sample

import (
	"math"
	"testing"
)

func TestGreedyPicksFirstMaximum(t *testing.T) {
	if got := Greedy([]float32{1, 5, 3, 5}); got != 1 {
		t.Errorf("Greedy = %d, want 1", got)
	}
	if got := Sample([]float32{1, 5, 3, 5}, Params{}, 0.99); got != 1 {
		t.Errorf("temperature 0 must be greedy, got %d", got)
	}
}

func TestUniformDependsOnlyOnSeedAndIndex(t *testing.T) {
	if Uniform(7, 3) != Uniform(7, 3) {
		t.Fatal("same (seed, k) gave different draws")
	}
	seen := map[float64]bool{}
	sum := 0.0
	const n = 20000
	for k := range n {
		u := Uniform(42, k)
		if u < 0 || u >= 1 {
			t.Fatalf("draw %v outside [0,1)", u)
		}
		seen[u] = true
		sum += u
	}
	if len(seen) < n-1 {
		t.Errorf("only %d distinct draws of %d", len(seen), n)
	}
	if mean := sum / n; math.Abs(mean-0.5) > 0.01 {
		t.Errorf("mean draw %.4f, want about 0.5", mean)
	}
	if Uniform(1, 0) == Uniform(2, 0) {
		t.Error("different seeds gave the same draw")
	}
}

// TestSampleFrequencies checks that sampling follows softmax(logits/T) over many draws.
func TestSampleFrequencies(t *testing.T) {
	logits := []float32{2, 1, 0, -1}
	temp := 0.7
	want := make([]float64, len(logits))
	z := 0.0
	for i, l := range logits {
		want[i] = math.Exp(float64(l) / temp)
		z += want[i]
	}
	counts := make([]float64, len(logits))
	const n = 40000
	for k := range n {
		counts[Sample(logits, Params{Temperature: temp}, Uniform(9, k))]++
	}
	for i := range want {
		if got := counts[i] / n; math.Abs(got-want[i]/z) > 0.01 {
			t.Errorf("token %d: frequency %.4f, want %.4f", i, got, want[i]/z)
		}
	}
}

func TestTopKAndTopP(t *testing.T) {
	logits := []float32{0, 3, 1, 2, -1} // order by probability: 1, 3, 2, 0, 4
	for k := range 2000 {
		if id := Sample(logits, Params{Temperature: 1, TopK: 2}, Uniform(1, k)); id != 1 && id != 3 {
			t.Fatalf("top-k 2 sampled token %d", id)
		}
	}
	c := Candidates(logits, Params{Temperature: 1})
	p1, p3 := c[0].Prob, c[1].Prob
	if c[0].ID != 1 || c[1].ID != 3 || c[2].ID != 2 {
		t.Fatalf("candidates not in probability order: %v", c)
	}
	// top-p just above p1 keeps exactly two tokens; exactly p1 keeps one.
	if got := Candidates(logits, Params{Temperature: 1, TopP: p1 + 1e-9}); len(got) != 2 {
		t.Errorf("top-p %.4f kept %d tokens, want 2", p1+1e-9, len(got))
	}
	if got := Candidates(logits, Params{Temperature: 1, TopP: p1}); len(got) != 1 {
		t.Errorf("top-p %.4f kept %d tokens, want 1", p1, len(got))
	}
	// Within the kept set the draws are renormalised: token 1 gets p1/(p1+p3).
	n, ones := 20000, 0
	for k := range n {
		if Sample(logits, Params{Temperature: 1, TopP: p1 + 1e-9}, Uniform(5, k)) == 1 {
			ones++
		}
	}
	if got, want := float64(ones)/float64(n), p1/(p1+p3); math.Abs(got-want) > 0.015 {
		t.Errorf("renormalised frequency %.4f, want %.4f", got, want)
	}
	// top-k then top-p compose: top-k 1 is greedy whatever top-p says.
	for k := range 200 {
		if id := Sample(logits, Params{Temperature: 5, TopK: 1, TopP: 0.99}, Uniform(3, k)); id != 1 {
			t.Fatalf("top-k 1 sampled %d", id)
		}
	}
}
