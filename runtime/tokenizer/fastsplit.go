package tokenizer

import (
	"sync"
	"unicode"
	"unicode/utf8"
)

// The Qwen2/Qwen3 pre-tokenizer pattern, and the GPT-4 (cl100k) one it derives from, which
// differs only in taking up to three digits at a time. regexp2 runs them correctly but slowly;
// fastMatcher is a hand-written equivalent, kept honest by a property test and a fuzz target
// against regexp2. Any other pattern goes to regexp2.
const (
	qwenPattern   = `(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+`
	cl100kPattern = `(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+`
)

func fastMatcherFor(pat string) matcher {
	switch pat {
	case qwenPattern:
		initClasses()
		return &fastMatcher{maxDigits: 1}
	case cl100kPattern:
		initClasses()
		return &fastMatcher{maxDigits: 3}
	}
	return nil
}

// Character classes as the patterns use them: \p{L}, \p{N}, and \s in regexp2's sense
// (unicode.IsSpace: the Unicode White_Space property, as Oniguruma in the Rust tokenizers).
const (
	clL uint8 = 1 << iota
	clN
	clS
)

var (
	bmpClass     []uint8 // class of every rune below 0x10000, filled on first use
	bmpClassOnce sync.Once
)

func initClasses() {
	bmpClassOnce.Do(func() {
		t := make([]uint8, 0x10000)
		for r := rune(0); r < 0x10000; r++ {
			t[r] = slowClass(r)
		}
		bmpClass = t
	})
}

func slowClass(r rune) uint8 {
	var c uint8
	if unicode.IsLetter(r) {
		c |= clL
	}
	if unicode.IsNumber(r) {
		c |= clN
	}
	if unicode.IsSpace(r) {
		c |= clS
	}
	return c
}

func classOf(r rune) uint8 {
	if r < 0x10000 {
		return bmpClass[r]
	}
	return slowClass(r)
}

// runeAt decodes the rune at byte i of s with its class; s is valid UTF-8.
func runeAt(s string, i int) (rune, int, uint8) {
	if b := s[i]; b < utf8.RuneSelf {
		return rune(b), 1, bmpClass[b]
	}
	r, n := utf8.DecodeRuneInString(s[i:])
	return r, n, classOf(r)
}

type fastMatcher struct{ maxDigits int }

func (m *fastMatcher) each(s string, fn func(start, end int)) {
	for i := 0; i < len(s); {
		end := m.matchAt(s, i)
		if end <= i {
			// No alternative matches here (cannot happen for valid UTF-8, where every rune is
			// a letter, a number, a space or "other"); step over the rune like a regex would.
			_, n := utf8.DecodeRuneInString(s[i:])
			i += n
			continue
		}
		fn(i, end)
		i = end
	}
}

// scanClass advances over runes whose class has any bit of want.
func scanClass(s string, i int, want uint8) int {
	for i < len(s) {
		_, n, c := runeAt(s, i)
		if c&want == 0 {
			break
		}
		i += n
	}
	return i
}

func lowerASCII(b byte) byte { return b | 0x20 }

// matchAt returns the end of the pattern's match starting at byte i, or -1. It mirrors the
// alternation in order, each branch with the backtracking a regex engine would do.
func (m *fastMatcher) matchAt(s string, i int) int {
	r, n, c := runeAt(s, i)
	// (?i:'s|'t|'re|'ve|'m|'ll|'d)  — ASCII letters only: no other rune case-folds to these.
	if r == '\'' && i+1 < len(s) {
		switch lowerASCII(s[i+1]) {
		case 's', 't', 'm', 'd':
			return i + 2
		case 'r', 'v':
			if i+2 < len(s) && lowerASCII(s[i+2]) == 'e' {
				return i + 3
			}
		case 'l':
			if i+2 < len(s) && lowerASCII(s[i+2]) == 'l' {
				return i + 3
			}
		}
	}
	// [^\r\n\p{L}\p{N}]?\p{L}+
	if c&clL != 0 {
		return scanClass(s, i+n, clL)
	}
	if r != '\r' && r != '\n' && c&clN == 0 && i+n < len(s) {
		if _, n2, c2 := runeAt(s, i+n); c2&clL != 0 {
			return scanClass(s, i+n+n2, clL)
		}
	}
	// \p{N} or \p{N}{1,3}
	if c&clN != 0 {
		j := i + n
		for k := 1; k < m.maxDigits && j < len(s); k++ {
			_, n2, c2 := runeAt(s, j)
			if c2&clN == 0 {
				break
			}
			j += n2
		}
		return j
	}
	//  ?[^\s\p{L}\p{N}]+[\r\n]*
	j := i
	if r == ' ' {
		j = i + 1
	}
	if p := scanOther(s, j); p > j {
		for p < len(s) && (s[p] == '\r' || s[p] == '\n') {
			p++
		}
		return p
	}
	if c&clS == 0 {
		return -1
	}
	// The whitespace branches: find the run of \s and its last \r or \n.
	end, lastNL, lastStart := i, -1, i
	for end < len(s) {
		r2, n2, c2 := runeAt(s, end)
		if c2&clS == 0 {
			break
		}
		if r2 == '\r' || r2 == '\n' {
			lastNL = end + 1
		}
		lastStart = end
		end += n2
	}
	// \s*[\r\n]+ : \s* gives back runes until a newline can follow; it is the run's last one.
	if lastNL >= 0 {
		return lastNL
	}
	// \s+(?!\S) : the whole run at the end of text, else all but its last rune.
	if end == len(s) {
		return end
	}
	if lastStart > i {
		return lastStart
	}
	// \s+
	return end
}

// scanOther advances over runes that are neither letters, numbers nor spaces.
func scanOther(s string, i int) int {
	for i < len(s) {
		_, n, c := runeAt(s, i)
		if c != 0 {
			break
		}
		i += n
	}
	return i
}
