// Package sample chooses the next token from logits: greedy, or temperature sampling with
// top-k and top-p (nucleus) filtering, driven by a uniform draw the caller derives from a seed.
package sample

import (
	"cmp"
	"math"
	"slices"
)

// Params are the sampling knobs. Temperature <= 0 is greedy; TopK <= 0 and TopP outside
// (0, 1) are off.
type Params struct {
	Temperature float64
	TopK        int
	TopP        float64
}

// Uniform returns the draw in [0, 1) for the k-th generated token of a seeded generation.
// It depends only on (seed, k), so a generation restarted at token k draws exactly what the
// uninterrupted one would have (splitmix64 over the pair, a stateless counter-based stream).
func Uniform(seed uint64, k int) float64 {
	z := seed + 0x9e3779b97f4a7c15*(uint64(k)+1)
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9
	z = (z ^ (z >> 27)) * 0x94d049bb133111eb
	z ^= z >> 31
	return float64(z>>11) / (1 << 53)
}

// Greedy returns the index of the largest logit (the lowest index among equal ones).
func Greedy(logits []float32) int {
	best := 0
	for i, l := range logits {
		if l > logits[best] {
			best = i
		}
	}
	return best
}

// Sample picks a token given the draw u in [0, 1): the token where the cumulative probability
// (over the kept candidates, in decreasing-probability order) first exceeds u.
func Sample(logits []float32, p Params, u float64) int {
	if p.Temperature <= 0 {
		return Greedy(logits)
	}
	cands := Candidates(logits, p)
	total := 0.0
	for _, c := range cands {
		total += c.Prob
	}
	target, acc := u*total, 0.0
	for _, c := range cands {
		acc += c.Prob
		if acc > target {
			return c.ID
		}
	}
	return cands[len(cands)-1].ID
}

// Candidate is a token that survived filtering, with its probability (unnormalised after
// filtering: the kept mass).
type Candidate struct {
	ID   int
	Prob float64
}

// Candidates returns the tokens Sample may choose from with their softmax(logits/T)
// probabilities: after top-k, the k most probable; then after top-p, the smallest most-probable
// set whose probability (renormalised over the top-k survivors, as transformers' warpers do)
// reaches p. Filtered candidates come most probable first (ties by id); with no filter, all
// tokens come in id order, which leaves the sampled distribution unchanged and saves sorting
// the whole vocabulary.
func Candidates(logits []float32, p Params) []Candidate {
	maxL := logits[Greedy(logits)]
	cands := make([]Candidate, len(logits))
	sum := 0.0
	for i, l := range logits {
		e := math.Exp((float64(l) - float64(maxL)) / p.Temperature)
		cands[i] = Candidate{i, e}
		sum += e
	}
	for i := range cands {
		cands[i].Prob /= sum
	}
	topK := p.TopK > 0 && p.TopK < len(cands)
	topP := p.TopP > 0 && p.TopP < 1
	if !topK && !topP {
		return cands
	}
	cands = mostProbable(cands, p, topK, topP)
	slices.SortStableFunc(cands, func(a, b Candidate) int { return cmp.Compare(b.Prob, a.Prob) })
	if topK {
		cands = cands[:p.TopK]
	}
	if topP {
		kept := 1.0 // all the mass, or what top-k kept
		if topK {
			kept = 0
			for _, c := range cands {
				kept += c.Prob
			}
		}
		acc := 0.0
		for i, c := range cands {
			acc += c.Prob
			if acc >= p.TopP*kept {
				cands = cands[:i+1]
				break
			}
		}
	}
	return cands
}

// mostProbable keeps a superset of what the filters can keep, so only that needs sorting: the
// tokens whose probability is within 2^-b of the largest, for the smallest b whose set holds
// at least TopK tokens (top-k) or at least TopP of the mass (top-p alone). Buckets of the
// probability ratio's binary exponent find b in one pass.
func mostProbable(cands []Candidate, p Params, topK, topP bool) []Candidate {
	const buckets = 1100 // float64 exponents reach about -1075
	var count [buckets]int
	var mass [buckets]float64
	bucket := func(prob float64) int {
		if prob <= 0 {
			return buckets - 1
		}
		_, exp := math.Frexp(prob) // prob = frac·2^exp, frac in [0.5, 1)
		return min(buckets-1, max(0, 1-exp))
	}
	for _, c := range cands {
		b := bucket(c.Prob)
		count[b]++
		mass[b] += c.Prob
	}
	n, m, last := 0, 0.0, buckets-1
	for b := range buckets {
		n += count[b]
		m += mass[b]
		if (topK && n >= p.TopK) || (!topK && m >= p.TopP) {
			last = b
			break
		}
	}
	kept := cands[:0]
	for _, c := range cands {
		if bucket(c.Prob) <= last {
			kept = append(kept, c)
		}
	}
	return kept
}
