package answer

import (
	"math/big"
	"regexp"
	"strings"
)

// Equal reports whether an extracted answer matches the reference. Both sides are normalized
// (math delimiters, \left/\right, spacing commands, \text{}, \dfrac/\tfrac, degrees, a leading
// "x =", thousands separators, trailing periods, whitespace); then numbers compare exactly as
// rationals (0.5 = 1/2 = \frac{1}{2}), tuples and lists compare element by element, and anything
// else compares as normalized text. An empty answer never matches.
func Equal(got, ref string) bool {
	a, b := Normalize(got), Normalize(ref)
	if a == "" || b == "" {
		return false
	}
	return equalNorm(a, b)
}

func equalNorm(a, b string) bool {
	if a == b {
		return true
	}
	if x, ok := Number(a); ok {
		if y, ok := Number(b); ok {
			return x.Cmp(y) == 0
		}
		return false
	}
	ea, oa, ca := splitTuple(a)
	eb, ob, cb := splitTuple(b)
	if ea != nil && eb != nil && len(ea) == len(eb) && oa == ob && ca == cb {
		for i := range ea {
			if !equalNorm(ea[i], eb[i]) {
				return false
			}
		}
		return true
	}
	return false
}

var (
	reText      = regexp.MustCompile(`\\(?:text|textbf|textit|mathrm|mathbf|mbox|operatorname)\s*\{([^{}]*)\}`)
	reFrac      = regexp.MustCompile(`\\[dt]frac`)
	reFracShort = regexp.MustCompile(`\\frac(\d)(\d)`)
	reSqrtShort = regexp.MustCompile(`\\sqrt(\d+)`)
	reVarEq     = regexp.MustCompile(`^[A-Za-z](?:_\{?\w+\}?)?\s*=\s*(.+)$`)
	reThousands = regexp.MustCompile(`^-?\d{1,3}(?:,\d{3})+(?:\.\d+)?$`)
	reDegrees   = regexp.MustCompile(`\^\s*\{?\s*\\circ\s*\}?|°|\\degree`)
)

// Normalize rewrites an answer into a canonical text form (see Equal).
func Normalize(s string) string {
	s = strings.TrimSpace(s)
	for _, d := range [][2]string{{`\[`, `\]`}, {`\(`, `\)`}, {`$$`, `$$`}, {`$`, `$`}} {
		if strings.HasPrefix(s, d[0]) && strings.HasSuffix(s, d[1]) && len(s) >= len(d[0])+len(d[1]) {
			s = strings.TrimSpace(s[len(d[0]) : len(s)-len(d[1])])
		}
	}
	for {
		t := reText.ReplaceAllString(s, "$1")
		if t == s {
			break
		}
		s = t
	}
	s = reDegrees.ReplaceAllString(s, "")
	s = strings.NewReplacer(`\left`, "", `\right`, "", `\!`, "", `\,`, "", `\;`, "", `\:`, "", `\ `, "", `~`, "",
		`{,}`, ",", `\%`, "%", `\displaystyle`, "", `\cdot`, `\times`).Replace(s)
	s = reFrac.ReplaceAllString(s, `\frac`)
	s = reFracShort.ReplaceAllString(s, `\frac{$1}{$2}`)
	s = reSqrtShort.ReplaceAllString(s, `\sqrt{$1}`)
	s = strings.TrimSpace(s)
	if m := reVarEq.FindStringSubmatch(s); m != nil {
		s = m[1]
	}
	s = strings.TrimRight(strings.TrimSpace(s), ".")
	s = strings.Join(strings.Fields(s), "")
	if reThousands.MatchString(s) {
		s = strings.ReplaceAll(s, ",", "")
	}
	return s
}

var (
	reDecimal = regexp.MustCompile(`^[+-]?(?:\d+\.?\d*|\.\d+)$`)
	reSlash   = regexp.MustCompile(`^([+-]?\d+)/([+-]?\d+)$`)
	reLFrac   = regexp.MustCompile(`^([+-]?)\\frac\{([+-]?\d+(?:\.\d+)?)\}\{([+-]?\d+(?:\.\d+)?)\}$`)
)

// Number parses a normalized answer that is a plain number: an integer, a decimal, a/b, or
// \frac{a}{b} with an optional sign; a trailing % is kept as part of the text (not a number).
func Number(s string) (*big.Rat, bool) {
	s = strings.TrimPrefix(s, "+")
	if reDecimal.MatchString(s) {
		r, ok := new(big.Rat).SetString(s)
		return r, ok
	}
	if m := reSlash.FindStringSubmatch(s); m != nil {
		return ratio(m[1], m[2])
	}
	if m := reLFrac.FindStringSubmatch(s); m != nil {
		r, ok := ratio(m[2], m[3])
		if ok && m[1] == "-" {
			r.Neg(r)
		}
		return r, ok
	}
	return nil, false
}

func ratio(num, den string) (*big.Rat, bool) {
	n, ok1 := new(big.Rat).SetString(num)
	d, ok2 := new(big.Rat).SetString(den)
	if !ok1 || !ok2 || d.Sign() == 0 {
		return nil, false
	}
	return n.Quo(n, d), true
}

// splitTuple splits "(a,b)", "[a,b]" or "a,b" at top-level commas; nil when there is no comma.
func splitTuple(s string) ([]string, byte, byte) {
	var open, close byte
	if len(s) >= 2 && strings.ContainsRune("([{", rune(s[0])) && strings.ContainsRune(")]}", rune(s[len(s)-1])) {
		open, close = s[0], s[len(s)-1]
		s = s[1 : len(s)-1]
	}
	var parts []string
	depth, startAt := 0, 0
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '(', '[', '{':
			depth++
		case ')', ']', '}':
			depth--
		case ',':
			if depth == 0 {
				parts = append(parts, s[startAt:i])
				startAt = i + 1
			}
		}
	}
	if parts == nil {
		return nil, 0, 0
	}
	return append(parts, s[startAt:]), open, close
}
