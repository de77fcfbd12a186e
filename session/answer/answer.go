// Package answer extracts the final \boxed{...} answer of a conclusion and checks it against a
// reference answer, treating trivially different LaTeX as equal.
package answer

import (
	"strings"
)

// Extract returns the content of the last \boxed{...} (or \fbox{...}) in text, braces balanced,
// and whether there was one. A \boxed whose braces never close is ignored; "\boxed 5" (argument
// without braces) is accepted as well.
func Extract(text string) (string, bool) {
	bestAt, best := -1, ""
	for _, cmd := range []string{`\boxed`, `\fbox`} {
		for i := 0; ; {
			j := strings.Index(text[i:], cmd)
			if j < 0 {
				break
			}
			at := i + j
			i = at + len(cmd)
			if at <= bestAt {
				continue
			}
			rest := text[i:]
			trim := strings.TrimLeft(rest, " ")
			switch {
			case strings.HasPrefix(trim, "{"):
				if content, ok := balanced(trim); ok {
					bestAt, best = at, content
				}
			case strings.HasPrefix(rest, " ") && trim != "":
				arg := trim
				if k := strings.IndexAny(arg, " $\n"); k >= 0 {
					arg = arg[:k]
				}
				if arg != "" {
					bestAt, best = at, arg
				}
			}
		}
	}
	return strings.TrimSpace(best), bestAt >= 0
}

// balanced returns the content of the brace group s starts with.
func balanced(s string) (string, bool) {
	depth := 0
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '\\':
			i++ // an escaped character such as \{ or \}
		case '{':
			depth++
		case '}':
			depth--
			if depth == 0 {
				return s[1:i], true
			}
		}
	}
	return "", false
}
