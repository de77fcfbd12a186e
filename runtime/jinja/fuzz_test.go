package jinja

import (
	"bufio"
	"errors"
	"os"
	"strings"
	"testing"
	"time"
)

func fuzzVars() *Dict {
	v, _ := DecodeJSON([]byte(`{"messages": [{"role": "system", "content": "s"}, {"role": "user", "content": "q"},
		{"role": "assistant", "content": "<think>\nr\n</think>\n\na", "tool_calls": [{"function": {"name": "f", "arguments": {"x": 1}}}]}],
		"add_generation_prompt": true, "tools": [{"name": "t"}], "l": [3, 1, 2], "s": " x "}`))
	return v.(*Dict)
}

// FuzzTemplate: arbitrary template text never panics the parser or the evaluator (a recovered
// panic shows up as an "internal error"), and rendering always ends within the step limits.
func FuzzTemplate(f *testing.F) {
	if fh, err := os.Open("testdata/snippets.jsonl"); err == nil {
		sc := bufio.NewScanner(fh)
		sc.Buffer(make([]byte, 1<<20), 1<<24)
		for sc.Scan() {
			if v, err := DecodeJSON(sc.Bytes()); err == nil {
				if s, ok := v.(*Dict).Get("template"); ok {
					f.Add(s.(string))
				}
			}
		}
		fh.Close()
	}
	f.Add("{% for m in messages[::-1] %}{% set ns = namespace(a=loop.index0) %}{{ m.content.split('</think>')[-1].lstrip('\\n') }}{% endfor %}")
	f.Add("{% macro r(n) %}{{ r(n + 1) }}{% endmacro %}{{ r(0) }}")
	f.Add("{% for i in range(100000) %}{% for j in range(100000) %}{{ i }}{% endfor %}{% endfor %}")
	vars := fuzzVars()
	f.Fuzz(func(t *testing.T, src string) {
		tmpl, err := Parse("fuzz", src, HFOptions)
		if err != nil {
			if strings.Contains(err.Error(), "internal error") {
				t.Fatalf("parser panicked on %q: %v", src, err)
			}
			return
		}
		tmpl.Limits = Limits{MaxSteps: 200_000, MaxOutput: 1 << 20}
		_, err = tmpl.RenderDict(vars)
		if err != nil && strings.Contains(err.Error(), "internal error") {
			t.Fatalf("evaluator panicked on %q: %v", src, err)
		}
	})
}

func mustParse(t *testing.T, src string) *Template {
	t.Helper()
	tmpl, err := Parse("t", src, HFOptions)
	if err != nil {
		t.Fatal(err)
	}
	return tmpl
}

// Hostile templates end quickly with an error instead of hanging or eating memory.
func TestLimits(t *testing.T) {
	for name, src := range map[string]string{
		"nested loops":    "{% for i in range(100000) %}{% for j in range(100000) %}{% endfor %}{% endfor %}",
		"recursion":       "{% macro r(n) %}{{ r(n + 1) }}{% endmacro %}{{ r(0) }}",
		"huge repeat":     "{{ 'x' * 1000000000 }}",
		"doubling":        "{% set ns = namespace(s='xx') %}{% for i in range(100) %}{% set ns.s = ns.s ~ ns.s %}{% endfor %}",
		"huge range":      "{{ range(1000000000000)|length }}",
		"output":          "{% for i in range(1000000) %}{{ 'y' * 1000 }}{% endfor %}",
		"list doubling":   "{% set ns = namespace(l=[1]) %}{% for i in range(100) %}{% set ns.l = ns.l + ns.l %}{% endfor %}",
		"replace blow-up": "{% set ns = namespace(s='ab') %}{% for i in range(60) %}{% set ns.s = ns.s.replace('a', ns.s) %}{% endfor %}",
	} {
		t.Run(name, func(t *testing.T) {
			tmpl := mustParse(t, src)
			tmpl.Limits = Limits{MaxSteps: 500_000, MaxOutput: 8 << 20}
			start := time.Now()
			_, err := tmpl.Render(nil)
			var je *Error
			if !errors.As(err, &je) {
				t.Fatalf("want a limit error, got %v", err)
			}
			if d := time.Since(start); d > 10*time.Second {
				t.Errorf("took %v", d)
			}
		})
	}
}

// With the default limits, the hostile templates of issue 18 end with an error naming the
// bound they hit, before they build much: each bound is proved by its message.
func TestDefaultLimits(t *testing.T) {
	for src, want := range map[string]string{
		"{% for i in range(2000000) %}{% set s = 'x' * 60000000 %}{% endfor %}":                                       "repeated string exceeds",
		"{% for i in range(2000000) %}{% set s = 'x' * 7000000 %}{% endfor %}":                                        "handled more than 134217728 bytes",
		"{% set ns = namespace(s='') %}{% for i in range(2000000) %}{% set ns.s = ns.s ~ 'xxxxxxxxxx' %}{% endfor %}": "handled more than",
		"{% for i in range(60000) %}{{ 'y' * 1000 }}{% endfor %}":                                                     "rendered text exceeds 8388608 bytes",
		"{% for i in range(100000) %}{% set l = range(1000000) %}{% endfor %}":                                        "handled more than",
		"{% for i in range(2000000) %}{% set l = [0] * 500000 %}{% endfor %}":                                         "handled more than",
		"{{ ('\n' * 1000000) | indent('x' * 1000000) }}":                                                              "indented string would exceed",
	} {
		_, err := mustParse(t, src).Render(nil)
		var je *Error
		if !errors.As(err, &je) || !strings.Contains(err.Error(), want) {
			t.Errorf("%.60s: err = %v, want %q", src, err, want)
		}
	}
}

func TestDeepNestingIsAnError(t *testing.T) {
	for _, src := range []string{
		"{{ " + strings.Repeat("(", 5000) + "1" + strings.Repeat(")", 5000) + " }}",
		"{{ " + strings.Repeat("not ", 5000) + "1 }}",
		"{{ " + strings.Repeat("-", 5000) + "1 }}",
		"{{ " + strings.Repeat("[", 5000) + strings.Repeat("]", 5000) + " }}",
		strings.Repeat("{% if 1 %}", 5000) + strings.Repeat("{% endif %}", 5000),
	} {
		if _, err := Parse("t", src, HFOptions); err == nil || !strings.Contains(err.Error(), "nested too deeply") {
			t.Errorf("%.30q...: %v", src, err)
		}
	}
}

func TestErrorPositions(t *testing.T) {
	for src, want := range map[string]Pos{
		"abc\n  {{ x + }}":              {2, 10},
		"{% if x %}\n{% endfor %}":      {2, 4},
		"{% for x in y %}":              {1, 15},
		"é{{ 'a' | nofilter }}":         {1, 11},
		"{{ x }}\n\n   {{ y.z.w }}":     {3, 11},
		"{{ raise_exception('boom') }}": {1, 20},
	} {
		tmpl, err := Parse("f.json", src, HFOptions)
		if err == nil {
			_, err = tmpl.Render(map[string]any{"y": map[string]any{}})
		}
		var je *Error
		var re *RaisedError
		switch {
		case errors.As(err, &je):
			if je.Pos != want || je.Name != "f.json" {
				t.Errorf("%q: got %v at %v, want %v", src, err, je.Pos, want)
			}
		case errors.As(err, &re):
			if re.Pos.Line != want.Line || re.Message != "boom" {
				t.Errorf("%q: got %v", src, err)
			}
		default:
			t.Errorf("%q: got %T %v", src, err, err)
		}
	}
}
