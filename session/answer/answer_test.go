package answer

import "testing"

func TestExtract(t *testing.T) {
	cases := []struct {
		in   string
		want string
		ok   bool
	}{
		{`so \boxed{42}.`, "42", true},
		{`first \boxed{1} then \boxed{2}`, "2", true},
		{`\boxed{\frac{1}{2}}`, `\frac{1}{2}`, true},
		{`\boxed{\left(1, \{2\}\right)}`, `\left(1, \{2\}\right)`, true},
		{`\boxed{ 7 }`, "7", true},
		{`\boxed 5$`, "5", true},
		{`\fbox{3} and later \boxed{4}`, "4", true},
		{`\boxed{4} and later \fbox{3}`, "3", true},
		{`\boxed{unclosed`, "", false},
		{`\boxed{2} then \boxed{unclosed`, "2", true},
		{`no box at all`, "", false},
		{`\boxed{a{b}c}`, "a{b}c", true},
	}
	for _, c := range cases {
		got, ok := Extract(c.in)
		if got != c.want || ok != c.ok {
			t.Errorf("Extract(%q) = %q, %v; want %q, %v", c.in, got, ok, c.want, c.ok)
		}
	}
}

func TestEqual(t *testing.T) {
	cases := []struct {
		got, ref string
		want     bool
	}{
		{"42", "42", true},
		{" 42 ", "42", true},
		{"42.0", "42", true},
		{"0.5", "1/2", true},
		{"0.5", `\frac{1}{2}`, true},
		{`\dfrac{1}{2}`, `\frac{1}{2}`, true},
		{`\tfrac12`, "1/2", true},
		{`\frac{2}{4}`, "1/2", true},
		{"-3", "-3", true},
		{`-\frac{3}{4}`, "-0.75", true},
		{"-0.75", "0.75", false},
		{"1,000", "1000", true},
		{"1{,}000", "1000", true},
		{"12,345,678", "12345678", true},
		{"x = 5", "5", true},
		{"x=5", "5", true},
		{`30^\circ`, "30", true},
		{`30^{\circ}`, "30", true},
		{"30°", "30", true},
		{`\text{5}`, "5", true},
		{`5\text{ cm}`, "5 cm", true},
		{`\left( 1, 2 \right)`, "(1,2)", true},
		{`(1, \frac{1}{2})`, "(1, 0.5)", true},
		{"(1,2)", "[1,2]", false},
		{"(1,2)", "(2,1)", false},
		{"$7$", "7", true},
		{`\(7\)`, "7", true},
		{"7.", "7", true},
		{`2\sqrt{3}`, `2\sqrt3`, true},
		{`2 \sqrt{3}`, `2\sqrt{3}`, true},
		{`\sqrt{3}`, `\sqrt{2}`, false},
		{"0.33", "1/3", false},
		{"5", "6", false},
		{"", "5", false},
		{"5", "", false},
		{"1/0", "1/0", true}, // same text, though not a number
		{"1/0", "2/0", false},
		{"1,2", "12", false},
		{"x", "y", false},
		{"100", "1,00", false},
		{`\pi`, `\pi`, true},
		{`\frac{\pi}{2}`, `\dfrac{\pi}{2}`, true},
	}
	for _, c := range cases {
		if got := Equal(c.got, c.ref); got != c.want {
			t.Errorf("Equal(%q, %q) = %v, want %v (normalized %q vs %q)", c.got, c.ref, got, c.want, Normalize(c.got), Normalize(c.ref))
		}
	}
}
