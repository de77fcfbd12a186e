package synth

import (
	"bytes"
	"fmt"
	"io"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/infty-dev/infty/session/format"
	"github.com/infty-dev/infty/session/sft"
)

// solve recomputes the answer from the question text alone, independently of states.
func solve(t *testing.T, q string) int {
	t.Helper()
	m := regexp.MustCompile(`^a=(\d) d=(\d) x=(\d) n=(\d\d)\. Do n steps: d=d\+a, x=x\+d \(mod 10\)\. x=\?$`).FindStringSubmatch(q)
	if m == nil {
		t.Fatalf("question does not parse: %q", q)
	}
	a, _ := strconv.Atoi(m[1])
	d, _ := strconv.Atoi(m[2])
	x, _ := strconv.Atoi(m[3])
	n, _ := strconv.Atoi(m[4])
	for range n {
		d = (d + a) % 10
		x = (x + d) % 10
	}
	return x
}

func TestDeterministicAndAnswers(t *testing.T) {
	a, err := Set(7, 50, 1, 60)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := Set(7, 60, 1, 60)
	for i := range a {
		if a[i].Question() != b[i].Question() {
			t.Fatalf("problem %d differs between runs", i)
		}
		if got, want := a[i].Answer(), strconv.Itoa(solve(t, a[i].Question())); got != want {
			t.Fatalf("problem %d: answer %s, recomputed %s", i, got, want)
		}
	}
	c, _ := Set(8, 50, 1, 60)
	same := 0
	for i := range a {
		if a[i].Question() == c[i].Question() {
			same++
		}
	}
	if same > 2 {
		t.Fatalf("seeds 7 and 8 share %d of 50 problems", same)
	}
}

func TestIterationsFollowProtocol(t *testing.T) {
	p, err := New(3, 14)
	if err != nil {
		t.Fatal(err)
	}
	// 14 steps at stride 5: iterations end when 10, 5 and 0 steps are left.
	its := p.Iterations(5)
	if len(its) != 3 {
		t.Fatalf("14 steps at stride 5 gave %d iterations", len(its))
	}
	vals := p.Values()
	if its[0].History != "" || its[1].History != its[0].Summary || its[2].History != its[1].Summary {
		t.Fatal("each history must be the previous summary")
	}
	if !strings.HasPrefix(its[0].Summary, "10 left: d=") || !strings.HasSuffix(its[0].Summary, " x="+strconv.Itoa(vals[3])) {
		t.Fatalf("summary %q does not carry 10 steps left and x=%d", its[0].Summary, vals[3])
	}
	if !strings.HasPrefix(its[1].Summary, "05 left: d=") || !strings.HasSuffix(its[1].Summary, " x="+strconv.Itoa(vals[8])) {
		t.Fatalf("summary %q does not carry 5 steps left and x=%d", its[1].Summary, vals[8])
	}
	if its[2].Summary != "" || its[2].Conclusion != `Answer: \boxed{`+p.Answer()+`}` {
		t.Fatalf("last iteration: %+v", its[2])
	}
	for i, want := range []int{4, 5, 5} {
		if got := strings.Count(its[i].Reasoning, "\n") + 1; got != want {
			t.Fatalf("iteration %d has %d steps, want %d", i+1, got, want)
		}
	}
	first := its[0].Render()
	d3, d4 := (p.D+3*p.A)%10, (p.D+4*p.A)%10
	if !strings.HasPrefix(first, "<think>\n13: d=") || !strings.HasSuffix(first, "\n10: d="+
		fmt.Sprintf("%d+%d=%02d x=%d+%d=%02d", d3, p.A, d3+p.A, vals[2], d4, vals[2]+d4)+
		"\n</think><summary>\n"+its[0].Summary+"\n</summary>") {
		t.Fatalf("first iteration layout: %q", first)
	}
	mid := its[1].Render()
	if !strings.HasPrefix(mid, "<history>\n"+its[0].Summary+"\n</history><think>\n09: d=") {
		t.Fatalf("second iteration layout: %q", mid)
	}
	last := its[2].Render()
	if !strings.Contains(last, "\n00: d=") || !strings.HasSuffix(last, "\n</think>\n"+its[2].Conclusion+"\n") {
		t.Fatalf("last iteration layout: %q", last)
	}
	// All reasoning lines together are the vanilla chain of thought.
	var all []string
	for _, it := range its {
		all = append(all, it.Reasoning)
	}
	v := p.Vanilla()
	r := v.Reasoning
	if strings.Join(all, "\n") != r || v.Conclusion != its[2].Conclusion {
		t.Fatal("iterations and vanilla solution disagree")
	}
	if strings.Count(r, "\n") != 13 {
		t.Fatalf("vanilla has %d lines, want 14", strings.Count(r, "\n")+1)
	}
	// A length that is a multiple of the stride gives full iterations only.
	if its := p2(t, 10).Iterations(5); len(its) != 2 || strings.Count(its[0].Reasoning, "\n") != 4 {
		t.Fatalf("10 steps at stride 5: %d iterations", len(its))
	}
}

func p2(t *testing.T, n int) Problem {
	p, err := New(4, n)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func TestStepLines(t *testing.T) {
	p := Problem{A: 4, D: 3, X: 5, N: 2}
	r := p.Vanilla().Reasoning
	// d: 3+4=7, x: 5+7=12 (one step left); d: 7+4=11, x: 2+1=3 (none left).
	if r != "01: d=3+4=07 x=5+7=12\n00: d=7+4=11 x=2+1=03" {
		t.Fatalf("got %q", r)
	}
	if p.Question() != "a=4 d=3 x=5 n=02. Do n steps: d=d+a, x=x+d (mod 10). x=?" {
		t.Fatalf("got %q", p.Question())
	}
	if p.Answer() != "3" {
		t.Fatalf("answer %s", p.Answer())
	}
}

func TestExportJSONL(t *testing.T) {
	ps, _ := Set(1, 3, 7, 13)
	ex, err := Examples(ps, ModeIterative, 5)
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := sft.NewWriter(&buf).Write(ex...); err != nil {
		t.Fatal(err)
	}
	r := sft.NewReader(&buf, "synth")
	for i := range ex {
		e, err := r.Next()
		if err != nil {
			t.Fatalf("example %d: %v", i, err)
		}
		if e.Messages[0].Role != "user" || e.Messages[1].Role != "assistant" || e.Messages[0].Content != e.Question || e.Answer != ex[i].Answer {
			t.Fatalf("example %d read back as %+v, %+v", i, e.Chat, e.Flat)
		}
	}
	if _, err := r.Next(); err != io.EOF {
		t.Fatalf("after the last example: %v", err)
	}
	// The exact bytes of a line: both layouts and the answer, tags unescaped.
	buf.Reset()
	two, _ := Examples([]Problem{{A: 4, D: 3, X: 5, N: 2}}, ModeIterative, 1)
	if err := sft.NewWriter(&buf).Write(two[1]); err != nil {
		t.Fatal(err)
	}
	want := `{"messages":[{"role":"user","content":"a=4 d=3 x=5 n=02. Do n steps: d=d+a, x=x+d (mod 10). x=?"},` +
		`{"role":"assistant","content":"<history>\n01 left: d=7 x=2\n</history><think>\n00: d=7+4=11 x=2+1=03\n</think>\nAnswer: \\boxed{3}\n"}],` +
		`"no_loss_prefix_bytes":37,"no_loss_prefix_chars":37,"question":"a=4 d=3 x=5 n=02. Do n steps: d=d+a, x=x+d (mod 10). x=?",` +
		`"history":"01 left: d=7 x=2","reasoning_process":"00: d=7+4=11 x=2+1=03","summary":"","conclusion":"Answer: \\boxed{3}","answer":"3"}` + "\n"
	if buf.String() != want {
		t.Errorf("line\n%s\nwant\n%s", buf.String(), want)
	}
	if _, err := Examples(ps, "other", 6); err == nil {
		t.Fatal("unknown mode accepted")
	}
	if _, err := New(1, 0); err == nil {
		t.Fatal("length 0 accepted")
	}
	if _, err := Set(1, 2, 5, 100); err == nil {
		t.Fatal("length 100 accepted")
	}
}

// The synthetic iterations are numbered and closed as the engine's are, so the engine's parser
// takes each rendered turn back apart into the same parts.
func TestMatchesEngineFormat(t *testing.T) {
	p, _ := New(5, 15)
	its := p.Iterations(5)
	for i, it := range its {
		if it.Index != i+1 || it.Final != (i == len(its)-1) {
			t.Fatalf("iteration %d: index %d, final %v", i+1, it.Index, it.Final)
		}
		_, body, _ := format.SplitPrefill(it.Render())
		got := format.Parse(body, false)
		if got.Malformed || got.Reasoning != it.Reasoning || got.Summary != it.Summary || got.Conclusion != it.Conclusion {
			t.Fatalf("iteration %d parses to %+v", i+1, got)
		}
	}
}

func TestParse(t *testing.T) {
	ps, _ := Set(11, 30, 1, MaxLength)
	for _, p := range ps {
		got, ok := Parse(" " + p.Question() + "\n")
		if !ok || got != p {
			t.Fatalf("Parse(%q) = %+v, %v", p.Question(), got, ok)
		}
	}
	for _, q := range []string{"", "2+2?", "a=4 d=3 x=5 n=00. Do n steps: d=d+a, x=x+d (mod 10). x=?",
		"a=4 d=3 x=5 n=24. Do n steps: d=d+a, x=x+d (mod 10). x=? Why?", "a=14 d=3 x=5 n=24. Do n steps: d=d+a, x=x+d (mod 10). x=?"} {
		if p, ok := Parse(q); ok {
			t.Fatalf("Parse(%q) accepted: %+v", q, p)
		}
	}
}

// The period that benchmarks must design around: n and n+20 steps always give the same x.
func TestPeriodTwenty(t *testing.T) {
	for a := 1; a <= 9; a++ {
		for n := 1; n+20 <= MaxLength; n += 7 {
			p := Problem{A: a, D: (a * 3) % 10, X: (a * 7) % 10, N: n}
			q := p
			q.N = n + 20
			if p.Answer() != q.Answer() {
				t.Fatalf("%+v: %s steps %d, %s steps %d", p, p.Answer(), n, q.Answer(), n+20)
			}
		}
	}
}

// At is one problem of a set without drawing the ones before it.
func TestAt(t *testing.T) {
	set, err := Set(9, 50, 11, 20)
	if err != nil {
		t.Fatal(err)
	}
	for i, want := range set {
		if got, err := At(9, i, 11, 20); err != nil || got != want {
			t.Fatalf("At(9, %d) = %+v, %v; want %+v", i, got, err, want)
		}
	}
	for _, bad := range [][3]int{{-1, 1, 5}, {0, 0, 5}, {0, 6, 5}, {0, 1, MaxLength + 1}} {
		if _, err := At(9, bad[0], bad[1], bad[2]); err == nil {
			t.Errorf("At(9, %d, %d, %d) accepted", bad[0], bad[1], bad[2])
		}
	}
}
