package synth

import (
	"bytes"
	"encoding/json"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// solve recomputes the answer from the question text alone, independently of Values.
func solve(t *testing.T, q string) int {
	t.Helper()
	m := regexp.MustCompile(`^x=(\d)\. Apply mod 10:((?: [A-Za-z][+-]\d)+)\. x=\?$`).FindStringSubmatch(q)
	if m == nil {
		t.Fatalf("question does not parse: %q", q)
	}
	x, _ := strconv.Atoi(m[1])
	for _, f := range strings.Fields(m[2]) {
		v := int(f[2] - '0')
		if f[1] == '-' {
			v = -v
		}
		x = ((x+v)%10 + 10) % 10
	}
	return x
}

func TestDeterministicAndAnswers(t *testing.T) {
	a, err := Set(7, 50, 1, 40)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := Set(7, 60, 1, 40)
	for i := range a {
		if a[i].Question() != b[i].Question() {
			t.Fatalf("problem %d differs between runs", i)
		}
		if got, want := a[i].Answer(), strconv.Itoa(solve(t, a[i].Question())); got != want {
			t.Fatalf("problem %d: answer %s, recomputed %s", i, got, want)
		}
	}
	c, _ := Set(8, 50, 1, 40)
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
	its := p.Iterations(6)
	if len(its) != 3 {
		t.Fatalf("14 steps at stride 6 gave %d iterations", len(its))
	}
	vals := p.Values()
	if its[0].History != "" || its[1].History != its[0].Summary || its[2].History != its[1].Summary {
		t.Fatal("each history must be the previous summary")
	}
	if want := "x=" + strconv.Itoa(vals[5]) + ", next G"; its[0].Summary != want {
		t.Fatalf("summary %q, want %q", its[0].Summary, want)
	}
	if its[2].Summary != "" || its[2].Conclusion != `Answer: \boxed{`+p.Answer()+`}` {
		t.Fatalf("last iteration: %+v", its[2])
	}
	first := its[0].AssistantText()
	if !strings.HasPrefix(first, "<think>\nA: ") || !strings.HasSuffix(first, "\n</think><summary>\n"+its[0].Summary+"\n</summary>") {
		t.Fatalf("first iteration layout: %q", first)
	}
	mid := its[1].AssistantText()
	if !strings.HasPrefix(mid, "<history>\n"+its[0].Summary+"\n</history><think>\nG: "+strconv.Itoa(vals[5])) {
		t.Fatalf("second iteration layout: %q", mid)
	}
	last := its[2].AssistantText()
	if !strings.HasSuffix(last, "\n</think>\n"+its[2].Conclusion+"\n") {
		t.Fatalf("last iteration layout: %q", last)
	}
	// All reasoning lines together are the vanilla chain of thought.
	var all []string
	for _, it := range its {
		all = append(all, it.Reasoning)
	}
	r, c := p.Vanilla()
	if strings.Join(all, "\n") != r || c != its[2].Conclusion {
		t.Fatal("iterations and vanilla solution disagree")
	}
	if strings.Count(r, "\n") != 13 {
		t.Fatalf("vanilla has %d lines, want 14", strings.Count(r, "\n")+1)
	}
}

func TestStepLines(t *testing.T) {
	p := Problem{Start: 3, Ops: []Op{{'A', '-', 9}, {'B', '+', 8}}}
	r, _ := p.Vanilla()
	if r != "A: 3-9=4\nB: 4+8=2" {
		t.Fatalf("got %q", r)
	}
	if p.Question() != "x=3. Apply mod 10: A-9 B+8. x=?" {
		t.Fatalf("got %q", p.Question())
	}
}

func TestExportJSONL(t *testing.T) {
	ps, _ := Set(1, 3, 7, 13)
	ex, err := Examples(ps, ModeIterative, 6)
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := WriteJSONL(&buf, ex); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	if len(lines) != len(ex) {
		t.Fatalf("%d lines for %d examples", len(lines), len(ex))
	}
	var e Example
	if err := json.Unmarshal([]byte(lines[1]), &e); err != nil {
		t.Fatal(err)
	}
	if e.Messages[0].Role != "user" || e.Messages[1].Role != "assistant" || e.Messages[0].Content != e.Question {
		t.Fatalf("bad messages %+v", e.Messages)
	}
	if _, err := Examples(ps, "other", 6); err == nil {
		t.Fatal("unknown mode accepted")
	}
	if _, err := New(1, 0); err == nil {
		t.Fatal("length 0 accepted")
	}
	if _, err := Set(1, 2, 5, 99); err == nil {
		t.Fatal("length 99 accepted")
	}
}
