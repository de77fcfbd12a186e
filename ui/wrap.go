package ui

import (
	"strings"
	"unicode/utf8"

	"github.com/mattn/go-runewidth"
)

// wrapParagraph word-wraps s, which holds no newline, to width columns (greedy, breaking at
// spaces, hard-breaking words longer than a line; the space a line breaks at is dropped). It
// returns the lines and the byte offset of the last line in s.
//
// Greedy wrapping never revisits a finished line, so appending to s can change only its last
// line: that is what lets a streaming block wrap each delta in time bounded by the width rather
// than by the length of the trace.
func wrapParagraph(s string, width int, lines []string) ([]string, int) {
	if width < 1 {
		width = 1
	}
	start, col, lastSpace := 0, 0, -1
	for i := 0; i < len(s); {
		r, n := utf8.DecodeRuneInString(s[i:])
		if r == ' ' {
			if col+1 > width {
				lines = append(lines, s[start:i])
				start, col, lastSpace = i+n, 0, -1
			} else {
				col++
				lastSpace = i
			}
			i += n
			continue
		}
		rw := runewidth.RuneWidth(r)
		if col+rw > width && col > 0 {
			if lastSpace >= start {
				lines = append(lines, s[start:lastSpace])
				start = lastSpace + 1
				lastSpace = -1
				col = runewidth.StringWidth(s[start:i])
			}
			if col+rw > width && col > 0 {
				lines = append(lines, s[start:i])
				start, col, lastSpace = i, 0, -1
			}
		}
		col += rw
		i += n
	}
	return append(lines, s[start:]), start
}

// WrapText wraps text that may hold newlines at word boundaries to width columns.
func WrapText(s string, width int) []string {
	var lines []string
	for {
		j := strings.IndexByte(s, '\n')
		if j < 0 {
			lines, _ = wrapParagraph(s, width, lines)
			return lines
		}
		lines, _ = wrapParagraph(s[:j], width, lines)
		s = s[j+1:]
	}
}

// sanitize makes generated text safe to lay out: tabs become spaces, carriage returns and other
// control characters (which could move the cursor or restyle the terminal) are dropped.
func sanitize(s string) string {
	clean := true
	for i := 0; i < len(s); i++ {
		if c := s[i]; (c < 0x20 && c != '\n') || c == 0x7f {
			clean = false
			break
		}
	}
	if clean {
		return s
	}
	var b strings.Builder
	for _, r := range s {
		switch {
		case r == '\t':
			b.WriteString("    ")
		case r == '\n':
			b.WriteRune(r)
		case r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0):
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}

// textBlock is streamed text kept wrapped at one width. Lines before the last are final once
// wrapped, so an append re-wraps only the last line and the new text, and the styled form of each
// final line is computed once.
type textBlock struct {
	raw   strings.Builder
	width int      // width the lines are wrapped to; 0 before the first layout
	final []string // finished lines, styled
	tail  int      // byte offset in raw of the text not yet in final
	last  string   // the wrapped, styled last line(s) of raw[tail:]
	lastN int      // 1, or 0 while raw[tail:] is empty at the start of a paragraph
	atPar bool     // tail is at the start of a paragraph
	style func(string) string
}

func newTextBlock(style func(string) string) *textBlock {
	return &textBlock{style: style}
}

func (b *textBlock) String() string { return b.raw.String() }
func (b *textBlock) Len() int       { return b.raw.Len() }

// Set replaces the text.
func (b *textBlock) Set(s string) {
	b.raw.Reset()
	b.raw.WriteString(sanitize(s))
	b.width = 0
}

// Append adds streamed text.
func (b *textBlock) Append(s string) {
	b.raw.WriteString(sanitize(s))
	if b.width > 0 {
		b.advance()
	}
}

// layout makes the lines match width.
func (b *textBlock) layout(width int) {
	if width == b.width {
		return
	}
	b.width = width
	b.final = b.final[:0]
	b.tail = 0
	b.atPar = true
	b.advance()
}

// advance wraps raw[tail:], moving every line that can no longer change into final.
func (b *textBlock) advance() {
	s := b.raw.String()
	var buf [8]string
	for {
		rest := s[b.tail:]
		j := strings.IndexByte(rest, '\n')
		if j < 0 {
			lines, off := wrapParagraph(rest, b.width, buf[:0])
			for _, l := range lines[:len(lines)-1] {
				b.final = append(b.final, b.style(l))
			}
			if off > 0 {
				b.tail += off
				b.atPar = false
			}
			b.last = b.style(lines[len(lines)-1])
			b.lastN = 1
			if rest == "" && b.atPar {
				b.last, b.lastN = "", 0
			}
			return
		}
		lines, _ := wrapParagraph(rest[:j], b.width, buf[:0])
		for _, l := range lines {
			b.final = append(b.final, b.style(l))
		}
		b.tail += j + 1
		b.atPar = true
	}
}

// Lines is how many lines the block takes at width.
func (b *textBlock) Lines(width int) int {
	b.layout(width)
	return len(b.final) + b.lastN
}

// Line returns line i (styled) at width.
func (b *textBlock) Line(width, i int) string {
	b.layout(width)
	if i < len(b.final) {
		return b.final[i]
	}
	return b.last
}
