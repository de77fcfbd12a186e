package tokenizer

import (
	"math/rand/v2"
	"strings"
	"testing"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"
)

// expectedText is what decode(encode(s)) must give: s made valid, with NFC applied to the text
// between added tokens (the references normalize after splitting those out, so NFC never
// composes across a token: "<think>" + U+0338 must not become "<think≯"). The added tokens are
// found here by a plain scan, independently of the package's splitter.
func expectedText(tok *Tokenizer, s string) string {
	s = validString(s)
	var b strings.Builder
	start := 0
	for i := 0; i < len(s); {
		best := ""
		for _, a := range tok.added {
			if len(a.Content) > len(best) && strings.HasPrefix(s[i:], a.Content) {
				best = a.Content
			}
		}
		if best == "" {
			i++
			continue
		}
		b.WriteString(norm.NFC.String(s[start:i]))
		b.WriteString(best)
		i += len(best)
		start = i
	}
	b.WriteString(norm.NFC.String(s[start:]))
	return b.String()
}

func tiny(t testing.TB) *Tokenizer {
	t.Helper()
	tok, err := Load("../../testdata/models/qwen3-tiny-f32")
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

func FuzzRoundTrip(f *testing.F) {
	for _, s := range []string{"", "Hello, world!", "e\u0301 <think>\u0338", "👩‍👩‍👧 12345 it's", "\xff\xfe a\xe2\x82",
		"<|im_start|>user\n数学<|im_end|>", "\t\t  \n\n x  ", "'LL'd've", "\u0085\ufeff\u00a0"} {
		f.Add(s)
	}
	toks := []*Tokenizer{qwen(f), tiny(f)}
	f.Fuzz(func(t *testing.T, s string) {
		for _, tok := range toks {
			ids := tok.Encode(s)
			for _, id := range ids {
				if _, ok := tok.IDToToken(id); !ok {
					t.Fatalf("Encode(%q) gave unknown id %d", s, id)
				}
			}
			if got, want := tok.Decode(ids), expectedText(tok, s); got != want {
				t.Fatalf("Decode(Encode(%q)) = %q, want %q (ids %v)", s, got, want, ids)
			}
		}
	})
}

// streamAll pushes ids one at a time and checks, at every boundary, that what was emitted plus
// what a flush would add equals the one-shot decode of the prefix, and that nothing emitted is
// ever taken back.
func streamAll(t *testing.T, tok *Tokenizer, ids []int) {
	t.Helper()
	st := tok.NewStream()
	var acc strings.Builder
	full := tok.Decode(ids)
	for k, id := range ids {
		acc.WriteString(st.Push(id))
		peek := &Stream{t: tok, pending: append([]byte(nil), st.pending...)}
		prefix := tok.Decode(ids[:k+1])
		if got := acc.String() + peek.Flush(); got != prefix {
			t.Fatalf("after %d ids: streamed %q, one-shot %q", k+1, got, prefix)
		}
		if !strings.HasPrefix(full, acc.String()) {
			t.Fatalf("after %d ids: streamed %q is not a prefix of the full decode %q", k+1, acc.String(), full)
		}
		if !utf8.ValidString(acc.String()) {
			t.Fatalf("streamed invalid UTF-8 %q", acc.String())
		}
	}
	if got := acc.String() + st.Flush(); got != full {
		t.Fatalf("stream %q, Decode %q", got, full)
	}
	if st.Pending() {
		t.Fatal("Flush left bytes pending")
	}
}

func TestStreamMatchesDecode(t *testing.T) {
	tok := qwen(t)
	n := 0
	for _, path := range []string{qwenRefs, "testdata/qwen3.adversarial.jsonl.gz"} {
		for _, c := range readRefs(t, path) {
			streamAll(t, tok, c.IDs)
			n++
		}
	}
	// Random ids make invalid UTF-8 of every shape (lone continuation bytes, truncated leads).
	r := rand.New(rand.NewPCG(3, 4))
	for i := 0; i < 300; i++ {
		ids := make([]int, 1+r.IntN(12))
		for j := range ids {
			ids[j] = r.IntN(tok.VocabSize())
		}
		streamAll(t, tok, ids)
	}
	if n < 700 {
		t.Fatalf("only %d reference sequences", n)
	}
	small := tiny(t)
	for _, c := range readRefs(t, "testdata/tiny.adversarial.jsonl.gz") {
		streamAll(t, small, c.IDs)
	}
}

func TestStreamHoldsSplitCharacter(t *testing.T) {
	tok := qwen(t)
	// " 🤔" is three tokens in Qwen's vocabulary: " " with the first byte, then single bytes.
	ids := tok.Encode(" 🤔")
	if len(ids) < 2 {
		t.Fatalf("want 🤔 split over tokens, got %v", ids)
	}
	st := tok.NewStream()
	var early strings.Builder
	for _, id := range ids[:len(ids)-1] {
		early.WriteString(st.Push(id))
	}
	if early.String() != " " {
		t.Fatalf("emitted %q before the character was complete, want just the space", early.String())
	}
	if !st.Pending() {
		t.Fatal("nothing pending mid-character")
	}
	if s := st.Push(ids[len(ids)-1]); s != "🤔" {
		t.Fatalf("completing token emitted %q", s)
	}
	st.Push(ids[0])
	st.Reset()
	if st.Pending() || st.Flush() != "" {
		t.Fatal("Reset kept bytes")
	}
	if s := st.Push(ids[0]); s != " " {
		t.Fatalf("Push of a space and a lead byte = %q, want the space", s)
	}
	if s := st.Flush(); s != "\uFFFD" {
		t.Fatalf("Flush of a partial character = %q, want U+FFFD", s)
	}
}
