package jinja

import (
	"bufio"
	"compress/gzip"
	"io"
	"os"
	"strings"
	"testing"
)

// TestSnippetsAgainstJinja2 renders ~400 snippets covering the language (literals, operators,
// precedence, attribute and item access, slicing, string methods, filters, tests, loops,
// scoping, macros, whitespace control, errors) and compares them with the output of Python
// jinja2 set up as transformers sets it up (testdata/snippets.py wrote testdata/snippets.jsonl).
func TestSnippetsAgainstJinja2(t *testing.T) { checkAgainstJinja2(t, "testdata/snippets.jsonl", 300) }

// TestRandomExpressionsAgainstJinja2 checks 2,500 random nested expressions (operators,
// filters, tests, methods, conditionals over mixed-type values) made by
// testdata/random_exprs.py: same text where jinja2 renders, an error where it fails.
func TestRandomExpressionsAgainstJinja2(t *testing.T) {
	checkAgainstJinja2(t, "testdata/random.jsonl.gz", 2500)
}

func checkAgainstJinja2(t *testing.T, path string, minCases int) {
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var r io.Reader = f
	if strings.HasSuffix(path, ".gz") {
		if r, err = gzip.NewReader(f); err != nil {
			t.Fatal(err)
		}
	}
	type snippet struct {
		line               int
		src, want, wantErr string
		hasWant            bool
	}
	var cases []snippet
	var vars *Dict
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 1<<20), 1<<24)
	for n := 1; sc.Scan(); n++ {
		v, err := DecodeJSON(sc.Bytes())
		if err != nil {
			t.Fatalf("line %d: %v", n, err)
		}
		d := v.(*Dict)
		if vv, ok := d.Get("vars"); ok {
			vars = vv.(*Dict)
			continue
		}
		c := snippet{line: n}
		src, _ := d.Get("template")
		c.src = src.(string)
		if w, ok := d.Get("rendered"); ok {
			c.want, c.hasWant = w.(string), true
		}
		if e, ok := d.Get("error"); ok {
			c.wantErr = e.(string)
		}
		cases = append(cases, c)
	}
	if vars == nil || len(cases) < minCases {
		t.Fatalf("snippets file incomplete: %d cases", len(cases))
	}
	for _, c := range cases {
		tmpl, err := Parse("snippet", c.src, HFOptions)
		var got string
		if err == nil {
			got, err = tmpl.RenderDict(vars)
		}
		switch {
		case !c.hasWant && err == nil:
			t.Errorf("line %d: %q: jinja2 fails (%s) but we rendered %q", c.line, c.src, c.wantErr, got)
		case c.hasWant && err != nil:
			t.Errorf("line %d: %q: %v (jinja2 renders %q)", c.line, c.src, err, c.want)
		case c.hasWant && got != c.want:
			t.Errorf("line %d: %q:\n got %q\nwant %q", c.line, c.src, got, c.want)
		}
	}
}
