package tokenizer

import (
	"math/rand/v2"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

var (
	benchOnce sync.Once
	benchText string
)

// mixedText builds about 1 MiB of mixed text: English prose, code, numbers, LaTeX, CJK and other
// scripts, emoji, chat markup, from a fixed seed and the reference corpora.
func mixedText(tb testing.TB) string {
	benchOnce.Do(func() {
		r := rand.New(rand.NewPCG(7, 8))
		words := strings.Fields(`the of and to in is that for it as was with be by on not he this are or his
			from at which but have an they you were her she there been one all we their has would when if
			so what can will more no out do said time up about into than them only other new some could
			reasoning model summary iteration token budget answer therefore consider suppose equation`)
		var frags []string
		for _, p := range []string{qwenRefs, "testdata/qwen3.adversarial.jsonl.gz"} {
			for _, c := range readRefs(tb, p) {
				frags = append(frags, c.Text)
			}
		}
		code := "func (s *Server) Handle(w http.ResponseWriter, r *http.Request) {\n\tif err := s.db.Ping(); err != nil {\n\t\treturn\n\t}\n}\n"
		latex := "Let $f(x) = \\frac{x^2 + 3x}{\\sqrt{x+1}}$. Then $f'(x) = \\boxed{42}$ since \\sum_{k=1}^{n} k = \\frac{n(n+1)}{2}.\n"
		var b strings.Builder
		for b.Len() < 1<<20 {
			switch k := r.IntN(20); {
			case k < 12: // prose
				n := 5 + r.IntN(25)
				for i := 0; i < n; i++ {
					w := words[r.IntN(len(words))]
					if i == 0 {
						w = strings.ToUpper(w[:1]) + w[1:]
					}
					b.WriteString(w)
					if i < n-1 {
						b.WriteByte(' ')
					}
				}
				b.WriteString([]string{". ", ".\n\n", "? ", ", and ", "! "}[r.IntN(5)])
			case k < 14:
				b.WriteString(code)
			case k < 16:
				b.WriteString(latex)
			case k < 17:
				b.WriteString("The result is 1234567 + 89 = 1234656, about 3.14159e6.\n")
			default:
				b.WriteString(frags[r.IntN(len(frags))])
				b.WriteByte('\n')
			}
		}
		benchText = b.String()
	})
	return benchText
}

func BenchmarkEncode(b *testing.B) {
	text := mixedText(b)
	for _, tc := range []struct {
		name string
		tok  func(testing.TB) *Tokenizer
		cold bool
	}{
		{"fast", qwen, false},
		{"regexp2", qwenRegexp2, false},
		{"fast-nocache", qwen, true},
	} {
		b.Run(tc.name, func(b *testing.B) {
			tok := tc.tok(b)
			tok.Encode(text) // warm the word cache, as a long-running session would be
			b.SetBytes(int64(len(text)))
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				if tc.cold {
					tok.bpe.mu.Lock()
					clear(tok.bpe.cache)
					tok.bpe.mu.Unlock()
				}
				tok.Encode(text)
			}
		})
	}
}

func BenchmarkPreTokenize(b *testing.B) {
	text := mixedText(b)
	fast, slow := patternPair(b, qwenPattern)
	for name, m := range map[string]matcher{"fast": fast, "regexp2": slow} {
		b.Run(name, func(b *testing.B) {
			b.SetBytes(int64(len(text)))
			for i := 0; i < b.N; i++ {
				n := 0
				m.each(text, func(int, int) { n++ })
			}
		})
	}
}

func BenchmarkDecode(b *testing.B) {
	tok := qwen(b)
	text := mixedText(b)
	ids := tok.Encode(text)
	b.SetBytes(int64(len(text)))
	b.Run("oneshot", func(b *testing.B) {
		b.SetBytes(int64(len(text)))
		for i := 0; i < b.N; i++ {
			tok.Decode(ids)
		}
	})
	b.Run("stream", func(b *testing.B) {
		b.SetBytes(int64(len(text)))
		for i := 0; i < b.N; i++ {
			st := tok.NewStream()
			for _, id := range ids {
				st.Push(id)
			}
			st.Flush()
		}
	})
}

func BenchmarkLoad(b *testing.B) {
	data, err := readMaybeGzip(filepath.Join(qwenDir, "tokenizer.json.gz"))
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(data)))
	for i := 0; i < b.N; i++ {
		if _, err := Parse(data); err != nil {
			b.Fatal(err)
		}
	}
}
