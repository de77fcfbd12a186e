package ui

import (
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/mattn/go-runewidth"
)

func identity(s string) string { return s }

func TestWrapParagraph(t *testing.T) {
	cases := []struct {
		in    string
		width int
		want  []string
	}{
		{"", 5, []string{""}},
		{"abc def", 7, []string{"abc def"}},
		{"abc def", 5, []string{"abc", "def"}},
		{"abcdefgh", 3, []string{"abc", "def", "gh"}},
		{"ab cdefgh", 3, []string{"ab", "cde", "fgh"}},
		{"a  b", 2, []string{"a ", "b"}},
		{"日本語です", 4, []string{"日本", "語で", "す"}},
	}
	for _, c := range cases {
		got, _ := wrapParagraph(c.in, c.width, nil)
		if strings.Join(got, "|") != strings.Join(c.want, "|") {
			t.Errorf("wrap(%q, %d) = %q, want %q", c.in, c.width, got, c.want)
		}
	}
}

// Streaming a text in arbitrary pieces must give exactly the lines of wrapping it whole, and no
// line may be wider than the width.
func TestTextBlockIncrementalMatchesWhole(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	alphabet := []string{"a", "b", "c", " ", " ", "\n", "é", "日", "lorem", "  "}
	for trial := 0; trial < 300; trial++ {
		var sb strings.Builder
		for i := r.IntN(200); i > 0; i-- {
			sb.WriteString(alphabet[r.IntN(len(alphabet))])
		}
		text := sb.String()
		width := 2 + r.IntN(12)
		b := newTextBlock(identity)
		b.Lines(width)
		for rest := text; rest != ""; {
			n := 1 + r.IntN(6)
			if n > len(rest) {
				n = len(rest)
			}
			for n < len(rest) && !utf8Start(rest[n]) {
				n++
			}
			b.Append(rest[:n])
			rest = rest[n:]
		}
		want := WrapText(text, width)
		if strings.HasSuffix(text, "\n") || text == "" {
			want = want[:len(want)-1] // a trailing newline opens no visible line yet
		}
		var got []string
		for i := 0; i < b.Lines(width); i++ {
			got = append(got, b.Line(width, i))
		}
		if strings.Join(got, "\x00") != strings.Join(want, "\x00") {
			t.Fatalf("text %q width %d:\n got %q\nwant %q", text, width, got, want)
		}
		for _, l := range got {
			if w := runewidth.StringWidth(l); w > width {
				t.Fatalf("line %q is %d wide, over %d", l, w, width)
			}
		}
	}
}

func utf8Start(c byte) bool { return c&0xC0 != 0x80 }

func TestSanitizeDropsControls(t *testing.T) {
	if got := sanitize("a\tb\x1b[31mc\rd\n"); got != "a    b[31mcd\n" {
		t.Fatalf("sanitize = %q", got)
	}
}
