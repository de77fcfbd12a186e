// Package synth generates a synthetic reasoning task whose worked solutions outgrow a small
// model's context window while a one-line summary carries all the state needed to go on: a
// second-order chain modulo 10. The question gives a, d, x and n; each of n steps does
// d ← d+a, then x ← x+d (mod 10); the answer is the final x, one digit, checked exactly.
//
// A worked step reads "17: d=9+4=13 x=5+3=08": the steps still to do after it, then both
// additions with their operands and their full two-digit sums written out (d and x keep the
// last digit). Counting down rather than up keeps every decision local to the text just
// written: the chain ends at "00", and an iteration ends whenever the count left is a multiple
// of the stride (with the default stride of 5, when it ends in 0 or 5), with the summary
// "15 left: d=3 x=8". That summary is all the next iteration needs besides
// the question, so the context stays bounded however large n is, while the plain chain of
// thought grows by a line per step and soon passes the window.
//
// x after n steps is x + n·d + a·n(n+1)/2 (mod 10), which repeats with period 20 in n: a problem
// of n steps has the answer of one of n mod 20 steps. Benchmarks that mean to outgrow a window
// pick n so that even n mod 20 steps do not fit it (bench's default lengths are 28-39).
//
// The same problems are written two ways: as InftyThink+ iterations (cold-start data for the
// iterative model) and as one plain chain of thought (the vanilla baseline).
package synth

import (
	"fmt"
	"math/rand/v2"
	"regexp"
	"strconv"
	"strings"

	"github.com/infty-dev/infty/session/format"
)

// MaxLength is the largest number of steps (step numbers are written with two digits).
const MaxLength = 99

// DefaultStride is the most steps one iteration works through before it summarizes: an
// iteration ends when the steps left are a multiple of it, so the first may be shorter.
const DefaultStride = 5

// Problem is one task instance: starting d and x, increment a, and n steps.
type Problem struct {
	A, D, X int // digits
	N       int // steps, 1..MaxLength
}

// New draws a problem with n steps from a seeded generator; the same (seed, n) always gives the
// same problem.
func New(seed uint64, n int) (Problem, error) {
	if n < 1 || n > MaxLength {
		return Problem{}, fmt.Errorf("synth: length %d out of range 1..%d", n, MaxLength)
	}
	r := rand.New(rand.NewPCG(seed, 0x5eed_1f7e))
	return draw(r, n), nil
}

func draw(r *rand.Rand, n int) Problem {
	return Problem{A: 1 + r.IntN(9), D: r.IntN(10), X: r.IntN(10), N: n}
}

// Set draws count problems for a seed with step counts uniform in [minLen, maxLen]. Problem i
// depends only on (seed, i, minLen, maxLen), so a prefix of a larger set is the smaller set.
func Set(seed uint64, count, minLen, maxLen int) ([]Problem, error) {
	if err := checkLengths(minLen, maxLen); err != nil {
		return nil, err
	}
	if count < 0 {
		return nil, fmt.Errorf("synth: negative problem count %d", count)
	}
	out := make([]Problem, count)
	for i := range out {
		out[i] = at(seed, i, minLen, maxLen)
	}
	return out, nil
}

// At is problem i of Set(seed, count, minLen, maxLen) for any count > i, without the others.
func At(seed uint64, i, minLen, maxLen int) (Problem, error) {
	if err := checkLengths(minLen, maxLen); err != nil {
		return Problem{}, err
	}
	if i < 0 {
		return Problem{}, fmt.Errorf("synth: negative problem index %d", i)
	}
	return at(seed, i, minLen, maxLen), nil
}

func checkLengths(minLen, maxLen int) error {
	if minLen < 1 || maxLen > MaxLength || minLen > maxLen {
		return fmt.Errorf("synth: length range %d..%d invalid (must lie within 1..%d)", minLen, maxLen, MaxLength)
	}
	return nil
}

func at(seed uint64, i, minLen, maxLen int) Problem {
	r := rand.New(rand.NewPCG(seed, uint64(i)))
	return draw(r, minLen+r.IntN(maxLen-minLen+1))
}

// Question is the user turn.
func (p Problem) Question() string {
	return fmt.Sprintf("a=%d d=%d x=%d n=%02d. Do n steps: d=d+a, x=x+d (mod 10). x=?", p.A, p.D, p.X, p.N)
}

var questionRE = regexp.MustCompile(`^a=(\d) d=(\d) x=(\d) n=(\d\d)\. Do n steps: d=d\+a, x=x\+d \(mod 10\)\. x=\?$`)

// Parse reads a question in the form Question writes back into its problem, so that a person
// who types or edits one gets it checked; ok is false for any other text.
func Parse(question string) (p Problem, ok bool) {
	m := questionRE.FindStringSubmatch(strings.TrimSpace(question))
	if m == nil {
		return Problem{}, false
	}
	digit := func(s string) int { v, _ := strconv.Atoi(s); return v }
	p = Problem{A: digit(m[1]), D: digit(m[2]), X: digit(m[3]), N: digit(m[4])}
	return p, p.N >= 1
}

// state is (d, x) after k steps.
type state struct{ k, d, x int }

func (p Problem) states() []state {
	out := make([]state, p.N+1)
	s := state{0, p.D, p.X}
	out[0] = s
	for k := 1; k <= p.N; k++ {
		s.k = k
		s.d = (s.d + p.A) % 10
		s.x = (s.x + s.d) % 10
		out[k] = s
	}
	return out
}

// Values returns x after each step.
func (p Problem) Values() []int {
	st := p.states()
	out := make([]int, p.N)
	for k := 1; k <= p.N; k++ {
		out[k-1] = st[k].x
	}
	return out
}

// Answer is the final x as the digit string the conclusion boxes.
func (p Problem) Answer() string { return fmt.Sprint(p.states()[p.N].x) }

// line is the worked step k, labelled with the steps left after it, with its two additions
// written out in full, "d=9+4=13": the new digit is the last of the sum of the two just before
// it. Writing the carry is what makes the task learnable by a small model: the last digit of
// the sum of two uniform digits is independent of either digit alone, so a model that must
// write it directly gets no gradient towards it from either operand (the trap that makes
// modular addition "grok" late), whereas the carry depends on each operand's size, which
// teaches the model a number line on which the last digit is then a function of one quantity.
func (p Problem) line(st []state, k int) string {
	prev, cur := st[k-1], st[k]
	return fmt.Sprintf("%02d: d=%d+%d=%02d x=%d+%d=%02d", p.N-k, prev.d, p.A, prev.d+p.A, prev.x, cur.d, prev.x+cur.d)
}

func (p Problem) summary(s state) string {
	return fmt.Sprintf("%02d left: d=%d x=%d", p.N-s.k, s.d, s.x)
}

// Iterations writes the worked solution in segments that end when the steps left are a
// multiple of stride: at most stride steps each, the first one possibly fewer.
func (p Problem) Iterations(stride int) []format.Iteration {
	if stride < 1 {
		stride = DefaultStride
	}
	st := p.states()
	var out []format.Iteration
	history := ""
	for lo := 1; lo <= p.N; {
		hi := lo
		for (p.N-hi)%stride != 0 {
			hi++
		}
		lines := make([]string, 0, hi-lo+1)
		for k := lo; k <= hi; k++ {
			lines = append(lines, p.line(st, k))
		}
		it := format.Iteration{Index: len(out) + 1, History: history, Reasoning: strings.Join(lines, "\n")}
		if hi == p.N {
			it.Final = true
			it.Conclusion = Conclusion(st[hi].x)
		} else {
			it.Summary = p.summary(st[hi])
			history = it.Summary
		}
		out = append(out, it)
		lo = hi + 1
	}
	return out
}

// Conclusion is the final line for a value.
func Conclusion(x int) string { return fmt.Sprintf("Answer: \\boxed{%d}", x) }

// Vanilla writes the whole solution as one chain of thought: a single, final iteration.
func (p Problem) Vanilla() format.Iteration {
	st := p.states()
	lines := make([]string, p.N)
	for k := 1; k <= p.N; k++ {
		lines[k-1] = p.line(st, k)
	}
	return format.Iteration{Index: 1, Reasoning: strings.Join(lines, "\n"), Conclusion: Conclusion(st[p.N].x), Final: true}
}
