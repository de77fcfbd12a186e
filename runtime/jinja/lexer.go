package jinja

import (
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"
)

type tokKind int

const (
	tEOF tokKind = iota
	tData
	tVarBegin
	tVarEnd
	tBlockBegin
	tBlockEnd
	tName
	tString
	tInt
	tFloat
	tOp
)

func (k tokKind) String() string {
	switch k {
	case tEOF:
		return "end of template"
	case tData:
		return "text"
	case tVarBegin:
		return "'{{'"
	case tVarEnd:
		return "'}}'"
	case tBlockBegin:
		return "'{%'"
	case tBlockEnd:
		return "'%}'"
	case tName:
		return "name"
	case tString:
		return "string"
	case tInt, tFloat:
		return "number"
	}
	return "operator"
}

// Pos is a 1-based line and column (in characters) inside the template source.
type Pos struct{ Line, Col int }

func (p Pos) String() string { return fmt.Sprintf("line %d, column %d", p.Line, p.Col) }

type token struct {
	kind tokKind
	val  string
	pos  Pos
}

func (t token) describe() string {
	switch t.kind {
	case tName, tOp:
		return fmt.Sprintf("'%s'", t.val)
	case tString:
		return "string literal"
	case tInt, tFloat:
		return "number " + t.val
	}
	return t.kind.String()
}

// lexer turns template source into tokens, applying Jinja's whitespace control the way jinja2
// does with trim_blocks and lstrip_blocks on (the Hugging Face settings): a '-' next to a tag
// strips all whitespace on that side, lstrip_blocks removes the indentation before a block or
// comment tag that starts a line, trim_blocks removes the first newline after one, and '+'
// turns lstrip_blocks off for a tag.
type lexer struct {
	src     string
	pos     int
	lastOff int // posAt's cursor: byte offset, and its line and column
	line    int
	col     int
	toks    []token
	opts    Options
}

// Options are the jinja2 Environment settings that shape whitespace.
type Options struct {
	TrimBlocks          bool
	LstripBlocks        bool
	KeepTrailingNewline bool
}

// HFOptions are the settings transformers renders chat templates with.
var HFOptions = Options{TrimBlocks: true, LstripBlocks: true}

func (lx *lexer) posAt(off int) Pos {
	// Positions are asked for in increasing order; walk on from the last one.
	if off < lx.lastOff {
		lx.lastOff, lx.line, lx.col = 0, 1, 1
	}
	for lx.lastOff < off && lx.lastOff < len(lx.src) {
		r, n := utf8.DecodeRuneInString(lx.src[lx.lastOff:])
		lx.lastOff += n
		if r == '\n' {
			lx.line, lx.col = lx.line+1, 1
		} else {
			lx.col++
		}
	}
	return Pos{Line: lx.line, Col: lx.col}
}

func (lx *lexer) errAt(off int, format string, args ...any) error {
	return &Error{Pos: lx.posAt(off), Msg: fmt.Sprintf(format, args...)}
}

func isPySpace(r rune) bool { return unicode.IsSpace(r) || (r >= 0x1c && r <= 0x1f) }

func normalizeNewlines(s string) string {
	if !strings.Contains(s, "\r") {
		return s
	}
	s = strings.ReplaceAll(s, "\r\n", "\n")
	return strings.ReplaceAll(s, "\r", "\n")
}

func lex(src string, opts Options) ([]token, error) {
	src = normalizeNewlines(src)
	if !opts.KeepTrailingNewline {
		src = strings.TrimSuffix(src, "\n")
	}
	lx := &lexer{src: src, line: 1, col: 1, opts: opts}
	if err := lx.run(); err != nil {
		return nil, err
	}
	return lx.toks, nil
}

func (lx *lexer) emit(k tokKind, val string, off int) {
	lx.toks = append(lx.toks, token{kind: k, val: val, pos: lx.posAt(off)})
}

// findTagStart returns the offset of the next "{{", "{%" or "{#" at or after from, or -1.
func findTagStart(s string, from int) int {
	for {
		i := strings.IndexByte(s[from:], '{')
		if i < 0 || from+i+1 >= len(s) {
			return -1
		}
		j := from + i
		if c := s[j+1]; c == '{' || c == '%' || c == '#' {
			return j
		}
		from = j + 1
	}
}

func (lx *lexer) run() error {
	lineStarting := true
	for lx.pos < len(lx.src) {
		start := findTagStart(lx.src, lx.pos)
		if start < 0 {
			lx.emit(tData, lx.src[lx.pos:], lx.pos)
			return nil
		}
		text := lx.src[lx.pos:start]
		kind := lx.src[start+1]
		sign := byte(0)
		if start+2 < len(lx.src) && (lx.src[start+2] == '-' || lx.src[start+2] == '+') {
			sign = lx.src[start+2]
		}
		switch {
		case sign == '-':
			text = strings.TrimRightFunc(text, isPySpace)
		case sign != '+' && lx.opts.LstripBlocks && kind != '{':
			l := strings.LastIndexByte(text, '\n') + 1
			if (l > 0 || lineStarting) && l < len(text) && strings.TrimFunc(text[l:], isPySpace) == "" {
				text = text[:l]
			}
		}
		if text != "" {
			lx.emit(tData, text, lx.pos)
		}
		inner := start + 2
		if sign != 0 {
			inner++
		}
		var end int
		var err error
		switch kind {
		case '#':
			end, err = lx.comment(start, inner)
		case '%':
			if raw, rend, ok := lx.rawBlock(start, inner); ok {
				if raw != "" {
					lx.emit(tData, raw, inner)
				}
				end = rend
				break
			}
			lx.emit(tBlockBegin, "{%", start)
			end, err = lx.tag(inner, '%')
		default:
			lx.emit(tVarBegin, "{{", start)
			end, err = lx.tag(inner, '}')
		}
		if err != nil {
			return err
		}
		lineStarting = end > 0 && lx.src[end-1] == '\n'
		lx.pos = end
	}
	return nil
}

// closeTag handles the whitespace after a tag's closing delimiter that ends at off (exclusive,
// delimiter included) and returns where text resumes.
func (lx *lexer) closeTag(off int, minus, isVar bool) int {
	if minus {
		for off < len(lx.src) {
			r, n := utf8.DecodeRuneInString(lx.src[off:])
			if !isPySpace(r) {
				break
			}
			off += n
		}
		return off
	}
	if !isVar && lx.opts.TrimBlocks && off < len(lx.src) && lx.src[off] == '\n' {
		off++
	}
	return off
}

func (lx *lexer) comment(start, inner int) (int, error) {
	i := strings.Index(lx.src[inner:], "#}")
	if i < 0 {
		return 0, lx.errAt(start, "comment is not closed: missing '#}'")
	}
	e := inner + i
	minus := e > inner && lx.src[e-1] == '-'
	return lx.closeTag(e+2, minus, false), nil
}

// rawBlock recognises {% raw %}...{% endraw %} and returns its verbatim text.
func (lx *lexer) rawBlock(start, inner int) (string, int, bool) {
	rest := lx.src[inner:]
	t := strings.TrimLeftFunc(rest, isPySpace)
	if !strings.HasPrefix(t, "raw") {
		return "", 0, false
	}
	t = strings.TrimLeftFunc(t[3:], isPySpace)
	minusOpen := strings.HasPrefix(t, "-%}")
	if !strings.HasPrefix(t, "%}") && !minusOpen && !strings.HasPrefix(t, "+%}") {
		return "", 0, false
	}
	bodyStart := len(lx.src) - len(t) + strings.Index(t, "%}") + 2
	bodyStart = lx.closeTag(bodyStart, minusOpen, false)
	for off := bodyStart; ; {
		j := strings.Index(lx.src[off:], "{%")
		if j < 0 {
			return "", 0, false
		}
		j += off
		k := j + 2
		minusBefore := k < len(lx.src) && lx.src[k] == '-'
		if k < len(lx.src) && (lx.src[k] == '-' || lx.src[k] == '+') {
			k++
		}
		u := strings.TrimLeftFunc(lx.src[k:], isPySpace)
		if strings.HasPrefix(u, "endraw") {
			u = strings.TrimLeftFunc(u[6:], isPySpace)
			minusAfter := strings.HasPrefix(u, "-%}")
			if minusAfter || strings.HasPrefix(u, "%}") || strings.HasPrefix(u, "+%}") {
				body := lx.src[bodyStart:j]
				if minusBefore {
					body = strings.TrimRightFunc(body, isPySpace)
				}
				end := len(lx.src) - len(u) + strings.Index(u, "%}") + 2
				return body, lx.closeTag(end, minusAfter, false), true
			}
		}
		off = j + 2
	}
}

const twoCharOps = "//**==!=<=>="

// tag tokenizes the inside of a {% %} (closer '%') or {{ }} (closer '}') tag.
func (lx *lexer) tag(off int, closer byte) (int, error) {
	s := lx.src
	depth := 0
	for {
		for off < len(s) {
			r, n := utf8.DecodeRuneInString(s[off:])
			if !isPySpace(r) {
				break
			}
			off += n
		}
		if off >= len(s) {
			if closer == '%' {
				return 0, lx.errAt(off, "block tag is not closed: missing '%%}'")
			}
			return 0, lx.errAt(off, "expression is not closed: missing '}}'")
		}
		c := s[off]
		if depth == 0 {
			minus := c == '-' || c == '+'
			o := off
			if minus {
				o++
			}
			if o+1 < len(s) && s[o] == closer && s[o+1] == '}' {
				if closer == '%' {
					lx.emit(tBlockEnd, "%}", off)
				} else {
					lx.emit(tVarEnd, "}}", off)
				}
				if c == '+' && closer == '%' {
					return o + 2, nil // '+%}' keeps the newline that trim_blocks would remove
				}
				return lx.closeTag(o+2, c == '-', closer == '}'), nil
			}
		}
		switch {
		case c == '_' || c < utf8.RuneSelf && unicode.IsLetter(rune(c)):
			e := off
			for e < len(s) && (s[e] == '_' || s[e] < utf8.RuneSelf && (unicode.IsLetter(rune(s[e])) || unicode.IsDigit(rune(s[e])))) {
				e++
			}
			lx.emit(tName, s[off:e], off)
			off = e
		case c >= '0' && c <= '9':
			e, kind, err := lx.number(off)
			if err != nil {
				return 0, err
			}
			lx.emit(kind, strings.ReplaceAll(s[off:e], "_", ""), off)
			off = e
		case c == '\'' || c == '"':
			val, e, err := lx.str(off)
			if err != nil {
				return 0, err
			}
			lx.emit(tString, val, off)
			off = e
		default:
			if off+1 < len(s) {
				two := s[off : off+2]
				for i := 0; i < len(twoCharOps); i += 2 {
					if two == twoCharOps[i:i+2] {
						lx.emit(tOp, two, off)
						off += 2
						goto next
					}
				}
			}
			switch c {
			case '(', '[', '{':
				depth++
			case ')', ']', '}':
				if depth > 0 {
					depth--
				}
			}
			if strings.IndexByte("+-*/%~()[]{}<>=.,:|;", c) < 0 {
				r, _ := utf8.DecodeRuneInString(s[off:])
				return 0, lx.errAt(off, "unexpected character %q", r)
			}
			lx.emit(tOp, string(c), off)
			off++
		next:
		}
	}
}

func (lx *lexer) number(off int) (int, tokKind, error) {
	s := lx.src
	digits := func(i int) int {
		for i < len(s) && (s[i] >= '0' && s[i] <= '9' || s[i] == '_' && i+1 < len(s) && s[i+1] >= '0' && s[i+1] <= '9') {
			i++
		}
		return i
	}
	e := digits(off)
	kind := tInt
	if e+1 < len(s) && s[e] == '.' && s[e+1] >= '0' && s[e+1] <= '9' {
		e = digits(e + 1)
		kind = tFloat
	}
	if e < len(s) && (s[e] == 'e' || s[e] == 'E') {
		k := e + 1
		if k < len(s) && (s[k] == '+' || s[k] == '-') {
			k++
		}
		if k < len(s) && s[k] >= '0' && s[k] <= '9' {
			e = digits(k)
			kind = tFloat
		}
	}
	return e, kind, nil
}

// str reads a quoted literal with Python's escape sequences (jinja2 decodes literals with
// "unicode-escape"; unknown escapes keep their backslash).
func (lx *lexer) str(off int) (string, int, error) {
	s := lx.src
	q := s[off]
	var b strings.Builder
	i := off + 1
	for i < len(s) {
		c := s[i]
		if c == q {
			return b.String(), i + 1, nil
		}
		if c != '\\' {
			b.WriteByte(c)
			i++
			continue
		}
		if i+1 >= len(s) {
			break
		}
		e := s[i+1]
		i += 2
		switch e {
		case 'n':
			b.WriteByte('\n')
		case 't':
			b.WriteByte('\t')
		case 'r':
			b.WriteByte('\r')
		case '\\', '\'', '"':
			b.WriteByte(e)
		case 'a':
			b.WriteByte(7)
		case 'b':
			b.WriteByte(8)
		case 'f':
			b.WriteByte(12)
		case 'v':
			b.WriteByte(11)
		case '\n':
		case '0', '1', '2', '3', '4', '5', '6', '7':
			v, j := int(e-'0'), 0
			for j < 2 && i < len(s) && s[i] >= '0' && s[i] <= '7' {
				v = v*8 + int(s[i]-'0')
				i++
				j++
			}
			b.WriteRune(rune(v))
		case 'x', 'u', 'U':
			n := map[byte]int{'x': 2, 'u': 4, 'U': 8}[e]
			if i+n > len(s) {
				return "", 0, lx.errAt(i-2, "truncated \\%c escape in string literal", e)
			}
			var v rune
			for _, h := range s[i : i+n] {
				d := strings.IndexRune("0123456789abcdef", unicode.ToLower(h))
				if d < 0 {
					return "", 0, lx.errAt(i-2, "bad \\%c escape in string literal", e)
				}
				v = v*16 + rune(d)
			}
			if v > unicode.MaxRune {
				return "", 0, lx.errAt(i-2, "\\%c escape out of range", e)
			}
			b.WriteRune(v)
			i += n
		default:
			b.WriteByte('\\')
			b.WriteByte(e)
		}
	}
	return "", 0, lx.errAt(off, "string literal is not closed")
}
