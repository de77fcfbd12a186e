// Package synth generates a synthetic reasoning task whose worked solutions outgrow a small
// model's context window while a one-line summary carries all the state needed to go on: a chain
// of additions and subtractions modulo 10 over operands labelled A, B, C, … in the question.
//
// A worked step reads "D: 3-9=4" — the label, the running value, the operand's sign and digit
// looked up in the question, and the new value. Every Stride steps the reasoning ends an
// iteration with the summary "x=4, next E", which is all the next iteration needs besides the
// question. The final answer is one digit in \boxed{}, so it is checked exactly.
//
// The same problems are written two ways: as InftyThink+ iterations (cold-start data for the
// iterative model) and as one plain chain of thought (the vanilla baseline).
package synth

import (
	"fmt"
	"math/rand/v2"
	"strings"
)

// Labels name the operands in order; a problem has at most len(Labels) of them.
const Labels = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"

// MaxLength is the largest number of operands a problem can have.
const MaxLength = len(Labels)

// DefaultStride is the number of steps one iteration works through before it summarizes.
const DefaultStride = 6

// Op is one operand: x ← x Sign Value (mod 10).
type Op struct {
	Label byte
	Sign  byte // '+' or '-'
	Value int  // 1..9
}

// Problem is one task instance.
type Problem struct {
	Start int
	Ops   []Op
}

// New draws a problem with the given number of operands from a seeded generator; the same
// (seed, length) always gives the same problem.
func New(seed uint64, length int) (Problem, error) {
	if length < 1 || length > MaxLength {
		return Problem{}, fmt.Errorf("synth: length %d out of range 1..%d", length, MaxLength)
	}
	r := rand.New(rand.NewPCG(seed, 0x5eed_1f7e))
	return draw(r, length), nil
}

func draw(r *rand.Rand, length int) Problem {
	p := Problem{Start: r.IntN(10), Ops: make([]Op, length)}
	for i := range p.Ops {
		sign := byte('+')
		if r.IntN(2) == 1 {
			sign = '-'
		}
		p.Ops[i] = Op{Label: Labels[i], Sign: sign, Value: 1 + r.IntN(9)}
	}
	return p
}

// Set draws n problems for a seed with lengths uniform in [minLen, maxLen]. Problem i depends
// only on (seed, i, minLen, maxLen), so a prefix of a larger set is the smaller set.
func Set(seed uint64, n, minLen, maxLen int) ([]Problem, error) {
	if minLen < 1 || maxLen > MaxLength || minLen > maxLen {
		return nil, fmt.Errorf("synth: length range %d..%d invalid (must lie within 1..%d)", minLen, maxLen, MaxLength)
	}
	if n < 0 {
		return nil, fmt.Errorf("synth: negative problem count %d", n)
	}
	out := make([]Problem, n)
	for i := range out {
		r := rand.New(rand.NewPCG(seed, uint64(i)))
		out[i] = draw(r, minLen+r.IntN(maxLen-minLen+1))
	}
	return out, nil
}

// Question is the user turn.
func (p Problem) Question() string {
	var b strings.Builder
	fmt.Fprintf(&b, "x=%d. Apply mod 10:", p.Start)
	for _, op := range p.Ops {
		fmt.Fprintf(&b, " %c%c%d", op.Label, op.Sign, op.Value)
	}
	b.WriteString(". x=?")
	return b.String()
}

// Values returns the running value after each step.
func (p Problem) Values() []int {
	out := make([]int, len(p.Ops))
	x := p.Start
	for i, op := range p.Ops {
		x = apply(x, op)
		out[i] = x
	}
	return out
}

func apply(x int, op Op) int {
	if op.Sign == '+' {
		return (x + op.Value) % 10
	}
	return ((x-op.Value)%10 + 10) % 10
}

// Answer is the final value as the digit string the conclusion boxes.
func (p Problem) Answer() string {
	v := p.Values()
	return fmt.Sprint(v[len(v)-1])
}

// step writes the worked line for operand i given the value before it.
func (p Problem) step(i, before int) string {
	op := p.Ops[i]
	return fmt.Sprintf("%c: %d%c%d=%d", op.Label, before, op.Sign, op.Value, apply(before, op))
}

// Iteration is one InftyThink+ iteration of a worked solution. History is empty in the first;
// exactly one of Summary and Conclusion is set.
type Iteration struct {
	History    string
	Reasoning  string
	Summary    string
	Conclusion string
}

// Iterations writes the worked solution in segments of stride steps.
func (p Problem) Iterations(stride int) []Iteration {
	if stride < 1 {
		stride = DefaultStride
	}
	var out []Iteration
	x := p.Start
	history := ""
	for lo := 0; lo < len(p.Ops); lo += stride {
		hi := min(lo+stride, len(p.Ops))
		lines := make([]string, 0, hi-lo)
		for i := lo; i < hi; i++ {
			lines = append(lines, p.step(i, x))
			x = apply(x, p.Ops[i])
		}
		it := Iteration{History: history, Reasoning: strings.Join(lines, "\n")}
		if hi == len(p.Ops) {
			it.Conclusion = Conclusion(x)
		} else {
			it.Summary = fmt.Sprintf("x=%d, next %c", x, p.Ops[hi].Label)
			history = it.Summary
		}
		out = append(out, it)
	}
	return out
}

// Conclusion is the final line for a value.
func Conclusion(x int) string { return fmt.Sprintf("Answer: \\boxed{%d}", x) }

// Vanilla writes the whole solution as one chain of thought.
func (p Problem) Vanilla() (reasoning, conclusion string) {
	lines := make([]string, len(p.Ops))
	x := p.Start
	for i := range p.Ops {
		lines[i] = p.step(i, x)
		x = apply(x, p.Ops[i])
	}
	return strings.Join(lines, "\n"), Conclusion(x)
}

// AssistantText renders an iteration's assistant turn exactly in the InftyThink+ layout:
// "<history>\n…\n</history>" (after the first iteration), then "<think>\n…\n</think>", then
// either "<summary>\n…\n</summary>" or "\n{conclusion}\n".
func (it Iteration) AssistantText() string {
	var b strings.Builder
	if it.History != "" {
		b.WriteString("<history>\n" + it.History + "\n</history>")
	}
	b.WriteString("<think>\n" + it.Reasoning + "\n</think>")
	if it.Conclusion != "" {
		b.WriteString("\n" + it.Conclusion + "\n")
	} else {
		b.WriteString("<summary>\n" + it.Summary + "\n</summary>")
	}
	return b.String()
}

// VanillaText renders the plain chain-of-thought assistant turn.
func (p Problem) VanillaText() string {
	r, c := p.Vanilla()
	return "<think>\n" + r + "\n</think>\n" + c + "\n"
}
