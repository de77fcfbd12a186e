package sample

import (
	"cmp"
	"math"
	"slices"
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
	c := Candidates(logits, Params{Temperature: 1, TopK: 4})
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

func BenchmarkCandidatesQwenVocab(b *testing.B) {
	logits := make([]float32, 151936)
	for i := range logits {
		logits[i] = float32(Uniform(1, i)*20 - 10)
	}
	for b.Loop() {
		Sample(logits, Params{Temperature: 0.7, TopP: 0.95}, 0.5)
	}
}

// reference is the plain definition: sort everything, cut top-k, renormalise, cut top-p.
func reference(logits []float32, p Params) []int {
	c := Candidates(logits, Params{Temperature: p.Temperature}) // unfiltered, id order
	slices.SortStableFunc(c, func(a, b Candidate) int { return cmp.Compare(b.Prob, a.Prob) })
	if p.TopK > 0 && p.TopK < len(c) {
		c = c[:p.TopK]
	}
	if p.TopP > 0 && p.TopP < 1 {
		total, acc := 0.0, 0.0
		for _, x := range c {
			total += x.Prob
		}
		for i, x := range c {
			if acc += x.Prob; acc >= p.TopP*total {
				c = c[:i+1]
				break
			}
		}
	}
	var ids []int
	for _, x := range c {
		ids = append(ids, x.ID)
	}
	return ids
}

func TestCandidatesMatchPlainDefinition(t *testing.T) {
	for trial := range 200 {
		logits := make([]float32, 300)
		spread := 1 + Uniform(7, 10000+trial)*30 // from flat to very peaked
		for i := range logits {
			logits[i] = float32((Uniform(uint64(trial), i) - 0.5) * spread)
		}
		logits[trial%300] = logits[(trial+1)%300] // a tie
		p := Params{Temperature: 0.2 + Uniform(3, trial)*1.5}
		switch trial % 3 {
		case 0:
			p.TopK = 1 + trial%40
		case 1:
			p.TopP = 0.05 + Uniform(5, trial)*0.9
		default:
			p.TopK, p.TopP = 1+trial%60, 0.3+Uniform(6, trial)*0.69
		}
		var got []int
		for _, c := range Candidates(logits, p) {
			got = append(got, c.ID)
		}
		if want := reference(logits, p); !slices.Equal(got, want) {
			t.Fatalf("trial %d %+v:\n got %v\nwant %v", trial, p, got, want)
		}
	}
}
