package jsonl

import (
	"errors"
	"strings"
	"testing"
	"testing/iotest"
)

func TestLinesAndWhere(t *testing.T) {
	r := NewReader(strings.NewReader("{\"a\":1}\n\n  \t\n {\"b\":2} \r\n{\"c\":3}"), "in.jsonl")
	var got []string
	for line, ok := r.Next(); ok; line, ok = r.Next() {
		got = append(got, r.Where()+" "+string(line))
	}
	want := []string{`in.jsonl:1 {"a":1}`, `in.jsonl:4 {"b":2}`, `in.jsonl:5 {"c":3}`}
	if strings.Join(got, "|") != strings.Join(want, "|") {
		t.Errorf("got %q, want %q", got, want)
	}
	if r.Err() != nil {
		t.Errorf("Err at the end of input: %v", r.Err())
	}
}

func TestErrorsNameTheLine(t *testing.T) {
	r := NewReader(strings.NewReader("\nx\n"), "d.jsonl")
	r.Next()
	base := errors.New("bad")
	err := r.Errorf("not an object: %w", base)
	if err.Error() != "d.jsonl:2: not an object: bad" || !errors.Is(err, base) {
		t.Errorf("Errorf = %v", err)
	}
	r = NewReader(iotest.ErrReader(base), "e.jsonl")
	if _, ok := r.Next(); ok {
		t.Fatal("a line from a failing reader")
	}
	if err := r.Err(); err == nil || err.Error() != "e.jsonl:1: bad" {
		t.Errorf("Err = %v", err)
	}
}
