package tokenizer

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"maps"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// synth describes a small byte-level tokenizer.json for tests: the 256 byte tokens (ids 0..255
// in byte order), then merged tokens in merge order, then added tokens.
type synth struct {
	merges       [][2]string // raw text of each side; byte-level spelling is applied
	mergeStrings bool        // write merges as "a b" instead of ["a","b"]
	added        []map[string]any
	normalizer   any
	preTokenizer any
	decoder      any
	model        map[string]any // extra model fields
	extraVocab   []string       // raw text of tokens no merge makes
}

func (s synth) json(t *testing.T) []byte {
	t.Helper()
	vocab := map[string]int{}
	for b := 0; b < 256; b++ {
		vocab[string(byteToRune[b])] = b
	}
	var merges []any
	for _, m := range s.merges {
		a, b := byteLevelString(m[0]), byteLevelString(m[1])
		if _, ok := vocab[a+b]; !ok {
			vocab[a+b] = len(vocab)
		}
		if s.mergeStrings {
			merges = append(merges, a+" "+b)
		} else {
			merges = append(merges, []string{a, b})
		}
	}
	for _, w := range s.extraVocab {
		vocab[byteLevelString(w)] = len(vocab)
	}
	pre := s.preTokenizer
	if pre == nil {
		pre = map[string]any{"type": "Sequence", "pretokenizers": []any{
			map[string]any{"type": "Split", "pattern": map[string]any{"Regex": qwenPattern}, "behavior": "Isolated", "invert": false},
			map[string]any{"type": "ByteLevel", "add_prefix_space": false, "trim_offsets": false, "use_regex": false},
		}}
	}
	model := map[string]any{"type": "BPE", "vocab": vocab, "merges": merges}
	for k, v := range s.model {
		model[k] = v
	}
	for i, a := range s.added {
		if _, ok := a["id"]; !ok {
			a["id"] = 1000 + i
		}
	}
	doc := map[string]any{"version": "1.0", "added_tokens": s.added, "normalizer": s.normalizer,
		"pre_tokenizer": pre, "decoder": s.decoder, "model": model}
	if s.decoder == nil {
		doc["decoder"] = map[string]any{"type": "ByteLevel"}
	}
	data, err := json.Marshal(doc)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

func (s synth) load(t *testing.T) *Tokenizer {
	t.Helper()
	tok, err := Parse(s.json(t))
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// pieces of an encoding, as the raw text of each id.
func texts(tok *Tokenizer, ids []int) []string {
	var out []string
	for _, id := range ids {
		b, _ := tok.TokenBytes(id)
		out = append(out, string(b))
	}
	return out
}

func TestMergeFormatsAgree(t *testing.T) {
	merges := [][2]string{{"t", "h"}, {"th", "e"}, {" ", "the"}, {"e", "r"}, {"h", "er"}}
	a := synth{merges: merges}.load(t)
	b := synth{merges: merges, mergeStrings: true}.load(t)
	for _, s := range []string{"the other there", "ther the", "thethe"} {
		if x, y := a.Encode(s), b.Encode(s); !slices.Equal(x, y) {
			t.Errorf("%q: pair merges %v, string merges %v", s, x, y)
		}
	}
	if got := texts(a, a.Encode("the other")); !slices.Equal(got, []string{"the", " ", "o", "the", "r"}) {
		t.Errorf("merge order: got %q", got)
	}
}

func TestMergeRankOrder(t *testing.T) {
	// "abc": (b,c) outranks (a,b), so "a"+"bc" even though (a,b) is leftmost.
	tok := synth{merges: [][2]string{{"b", "c"}, {"a", "b"}}}.load(t)
	if got := texts(tok, tok.Encode("abc")); !slices.Equal(got, []string{"a", "bc"}) {
		t.Errorf("abc → %q", got)
	}
	// Equal ranks merge leftmost first: "aaa" → "aa","a".
	tok = synth{merges: [][2]string{{"a", "a"}}}.load(t)
	if got := texts(tok, tok.Encode("aaa")); !slices.Equal(got, []string{"aa", "a"}) {
		t.Errorf("aaa → %q", got)
	}
}

func TestHeapAndScanMergeAgree(t *testing.T) {
	tok := qwen(t)
	r := rand.New(rand.NewPCG(5, 6))
	alpha := []string{"a", "b", "e", "r", "t", "h", " ", "\n", "é", "中", "😀", "0", "!", "in", "the", "ing"}
	for i := 0; i < 3000; i++ {
		var b strings.Builder
		n := 2 + r.IntN(40)
		for b.Len() < n {
			b.WriteString(alpha[r.IntN(len(alpha))])
		}
		w := b.String()
		syms := func() []int32 {
			s := make([]int32, len(w))
			for i := range s {
				s[i] = tok.bpe.byteID[w[i]]
			}
			return s
		}
		if x, y := tok.bpe.mergeScan(syms()), tok.bpe.mergeHeap(syms()); !slices.Equal(x, y) {
			t.Fatalf("%q: scan %v heap %v", w, x, y)
		}
	}
	long := strings.Repeat("ab", 500) + strings.Repeat(" ", 300) + strings.Repeat("😀", 40)
	if got := tok.Decode(tok.Encode(long)); got != long {
		t.Fatal("long word round trip failed")
	}
}

func TestLossyUTF8(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"abc", "abc"},
		{"\xff", "\uFFFD"},
		{"\xe2\x82", "\uFFFD"},                 // one truncated sequence: one replacement
		{"\xe2\x82a", "\uFFFDa"},               // …also when something follows
		{"\xf0\x9f\x98", "\uFFFD"},             // truncated 4-byte sequence
		{"\xf0\x9f\x98\x80", "😀"},              //
		{"\xc0\xaf", "\uFFFD\uFFFD"},           // overlong: each byte alone
		{"\xed\xa0\x80", "\uFFFD\uFFFD\uFFFD"}, // surrogate: ED then two lone continuations
		{"\xf4\x90\x80\x80", "\uFFFD\uFFFD\uFFFD\uFFFD"},
		{"\x80\x80", "\uFFFD\uFFFD"},
		{"a\xe0\x80b", "a\uFFFD\uFFFDb"},
	} {
		if got := lossyString([]byte(tc.in)); got != tc.want {
			t.Errorf("lossy(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestAddedTokenFlags(t *testing.T) {
	tok := synth{
		normalizer: map[string]any{"type": "Lowercase"},
		added: []map[string]any{
			{"content": "<L>", "lstrip": true, "special": true, "normalized": false},
			{"content": "<R>", "rstrip": true, "special": true, "normalized": false},
			{"content": "<W>", "single_word": true, "special": true, "normalized": false},
			{"content": "ABC", "special": false, "normalized": true},
			{"content": "XY", "special": false, "normalized": false},
			{"content": "<L><R>", "special": true, "normalized": false},
		},
	}.load(t)
	for _, tc := range []struct {
		in   string
		want []string // added tokens by content, other text by raw bytes
	}{
		{"a  <L>b", []string{"a", "<L>", "b"}},   // lstrip swallows the spaces before
		{"a<R> \t b", []string{"a", "<R>", "b"}}, // rstrip the ones after
		{"a<W>b", []string{"a<w>b"}},             // inside a word: not matched (and lowercased)
		{"a <W> b", []string{"a ", "<W>", " b"}}, // standing alone: matched
		{"abc Abc", []string{"ABC", " ", "ABC"}}, // normalized: matched after lowercasing
		{"xy XY", []string{"xy ", "XY"}},         // not normalized: only the raw spelling
		{"<L><R>", []string{"<L><R>"}},           // longest match wins
		{"<L>x<R>", []string{"<L>", "x", "<R>"}}, //
	} {
		var got []string
		lastPlain := false
		for _, i := range tok.Encode(tc.in) {
			if tok.IsAdded(i) {
				s, _ := tok.IDToToken(i)
				got = append(got, s)
				lastPlain = false
				continue
			}
			b, _ := tok.TokenBytes(i)
			if lastPlain {
				got[len(got)-1] += string(b) // join the plain bytes of one stretch
				continue
			}
			got = append(got, string(b))
			lastPlain = true
		}
		if !slices.Equal(got, tc.want) {
			t.Errorf("%q → %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestSplitBehaviors(t *testing.T) {
	pre := func(behavior string, invert bool) any {
		return map[string]any{"type": "Sequence", "pretokenizers": []any{
			map[string]any{"type": "Split", "pattern": map[string]any{"String": "-"}, "behavior": behavior, "invert": invert},
			map[string]any{"type": "ByteLevel", "add_prefix_space": false, "use_regex": false},
		}}
	}
	merges := [][2]string{{"a", "a"}, {"a", "-"}, {"-", "a"}, {"-", "-"}, {"aa", "-"}, {"-", "aa"}}
	for _, tc := range []struct {
		behavior string
		invert   bool
		want     []string
	}{
		{"Isolated", false, []string{"aa", "-", "-", "a"}},
		{"Removed", false, []string{"aa", "a"}},
		{"MergedWithPrevious", false, []string{"aa-", "-", "a"}},
		{"MergedWithNext", false, []string{"aa", "-", "-a"}},
		{"Contiguous", false, []string{"aa", "--", "a"}},
		{"Removed", true, []string{"-", "-"}},
	} {
		tok := synth{merges: merges, preTokenizer: pre(tc.behavior, tc.invert)}.load(t)
		if got := texts(tok, tok.Encode("aa--a")); !slices.Equal(got, tc.want) {
			t.Errorf("%s invert=%v: %q, want %q", tc.behavior, tc.invert, got, tc.want)
		}
	}
}

func TestByteLevelWithRegex(t *testing.T) {
	// GPT-2 style: no Split, ByteLevel splits with its own pattern (through regexp2) and adds a
	// prefix space.
	tok := synth{merges: [][2]string{{" ", "h"}, {" h", "i"}},
		preTokenizer: map[string]any{"type": "ByteLevel", "add_prefix_space": true, "use_regex": true}}.load(t)
	if got := texts(tok, tok.Encode("hi  hi's")); !slices.Equal(got, []string{" hi", " ", " hi", "'", "s"}) {
		t.Errorf("got %q", got)
	}
}

func TestAPI(t *testing.T) {
	tok := qwen(t)
	if tok.VocabSize() != 151669 {
		t.Errorf("VocabSize %d", tok.VocabSize())
	}
	if id, ok := tok.TokenToID("<|im_end|>"); !ok || id != 151645 {
		t.Errorf("TokenToID(<|im_end|>) = %d %v", id, ok)
	}
	if id, ok := tok.TokenToID("Ġthe"); !ok || id != 279 {
		t.Errorf("TokenToID(Ġthe) = %d %v", id, ok)
	}
	if s, ok := tok.IDToToken(279); !ok || s != "Ġthe" {
		t.Errorf("IDToToken(279) = %q %v", s, ok)
	}
	for _, id := range []int{-1, 151669, 1 << 40} {
		if _, ok := tok.IDToToken(id); ok {
			t.Errorf("IDToToken(%d) ok", id)
		}
	}
	if got := tok.Decode([]int{279, 151669}); got != " the\uFFFD" {
		t.Errorf("unknown id decodes to %q", got)
	}
	if n := len(tok.AddedTokens()); n != 26 {
		t.Errorf("%d added tokens", n)
	}
	sp := tok.SpecialTokens()
	if len(sp) == 0 || sp[0].Content != "<|endoftext|>" || !sp[0].Special {
		t.Errorf("SpecialTokens %v", sp)
	}
	for _, a := range sp {
		if a.Content == "<tool_call>" {
			t.Error("<tool_call> is an added token but not special")
		}
	}
	ids := tok.Encode("<|im_start|>user\n<tool_call>x</tool_call><|im_end|>")
	if got := tok.DecodeSkipSpecial(ids); got != "user\n<tool_call>x</tool_call>" {
		t.Errorf("DecodeSkipSpecial = %q", got)
	}
	if got := tok.Encode(""); len(got) != 0 {
		t.Errorf("Encode(\"\") = %v", got)
	}
}

func TestLoadVariants(t *testing.T) {
	data, err := os.ReadFile("../../testdata/models/qwen3-tiny-f32/tokenizer.json")
	if err != nil {
		t.Fatal(err)
	}
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	zw.Write(data)
	zw.Close()
	want := tiny(t).Encode("Hello <think> world")
	// Read takes plain or gzipped bytes.
	for name, in := range map[string][]byte{"plain": data, "gzip": gz.Bytes()} {
		tok, err := Read(bytes.NewReader(in))
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if got := tok.Encode("Hello <think> world"); !slices.Equal(got, want) {
			t.Errorf("%s: %v", name, got)
		}
	}
	// Load prefers tokenizer.json and falls back to tokenizer.json.gz.
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "tokenizer.json.gz"), gz.Bytes(), 0o644)
	if _, err := Load(dir); err != nil {
		t.Fatal(err)
	}
	if _, err := Load(filepath.Join(dir, "tokenizer.json.gz")); err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(dir, "tokenizer.json"), []byte("{broken"), 0o644)
	if _, err := Load(dir); err == nil || !strings.Contains(err.Error(), filepath.Join(dir, "tokenizer.json")+":") {
		t.Fatalf("broken tokenizer.json: error %v should name it", err)
	}
	if _, err := Load(t.TempDir()); err == nil || !strings.Contains(err.Error(), "tokenizer.json") {
		t.Fatalf("missing file: %v", err)
	}
}

func TestParseErrors(t *testing.T) {
	good := synth{merges: [][2]string{{"a", "b"}}}.json(t)
	edit := func(f func(m map[string]any)) []byte {
		var m map[string]any
		json.Unmarshal(good, &m)
		f(m)
		b, _ := json.Marshal(m)
		return b
	}
	model := func(m map[string]any) map[string]any { return m["model"].(map[string]any) }
	for _, tc := range []struct {
		name string
		data []byte
		want string
	}{
		{"not json", []byte("{"), "invalid JSON"},
		{"no model", []byte(`{"added_tokens":[]}`), `no "model"`},
		{"unigram", edit(func(m map[string]any) { model(m)["type"] = "Unigram" }), `"Unigram" is not supported`},
		{"byte fallback", edit(func(m map[string]any) { model(m)["byte_fallback"] = true }), "byte_fallback"},
		{"missing byte", edit(func(m map[string]any) { delete(model(m)["vocab"].(map[string]any), "Ġ") }), "byte 0x20"},
		{"merge out of vocab", edit(func(m map[string]any) { model(m)["merges"] = []any{"a zz"} }), `"zz" is not in the vocab`},
		{"merged out of vocab", edit(func(m map[string]any) { model(m)["merges"] = []any{"b a"} }), `merged token "ba"`},
		{"bad merge string", edit(func(m map[string]any) { model(m)["merges"] = []any{"abc"} }), "merges[0]"},
		{"bad regex", edit(func(m map[string]any) {
			m["pre_tokenizer"] = map[string]any{"type": "Sequence", "pretokenizers": []any{
				map[string]any{"type": "Split", "pattern": map[string]any{"Regex": "(?<=a"}, "behavior": "Isolated"},
				map[string]any{"type": "ByteLevel", "use_regex": false}}}
		}), "does not compile"},
		{"unknown normalizer", edit(func(m map[string]any) { m["normalizer"] = map[string]any{"type": "Precompiled"} }), `normalizer: type "Precompiled"`},
		{"unknown pre-tokenizer", edit(func(m map[string]any) { m["pre_tokenizer"] = map[string]any{"type": "Metaspace"} }), `pre_tokenizer: type "Metaspace"`},
		{"no byte level", edit(func(m map[string]any) {
			m["pre_tokenizer"] = map[string]any{"type": "Split", "pattern": map[string]any{"String": " "}, "behavior": "Isolated"}
		}), "no ByteLevel"},
		{"unknown decoder", edit(func(m map[string]any) { m["decoder"] = map[string]any{"type": "WordPiece"} }), `decoder: type "WordPiece"`},
		{"bad behavior", edit(func(m map[string]any) {
			m["pre_tokenizer"].(map[string]any)["pretokenizers"].([]any)[0].(map[string]any)["behavior"] = "Sideways"
		}), `"Sideways"`},
		{"empty added", edit(func(m map[string]any) { m["added_tokens"] = []any{map[string]any{"id": 300, "content": ""}} }), "empty content"},
		// Each would size the id tables by the stray id: 17 GB and 1.9 GB.
		{"huge vocab id", edit(func(m map[string]any) { model(m)["vocab"].(map[string]any)["zz"] = 1 << 30 }), "token id 1073741824 is far beyond"},
		{"far vocab id", edit(func(m map[string]any) { model(m)["vocab"].(map[string]any)["zz"] = 100000000 }), "token id 100000000 is far beyond"},
		{"far added id", edit(func(m map[string]any) { m["added_tokens"] = []any{map[string]any{"id": 100000000, "content": "<x>"}} }), "token id 100000000 is far beyond"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse(tc.data)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want one containing %q", err, tc.want)
			}
		})
	}
}

func TestFastJSONAgreesWithEncodingJSON(t *testing.T) {
	for _, raw := range []string{
		`{"a": 1, "\u0120b": 2, "\"q\"": 3, "é\n": 40}`,
		`{}`,
	} {
		fast, ok := scanVocab([]byte(raw))
		var slow map[string]int
		if err := json.Unmarshal([]byte(raw), &slow); err != nil || !ok {
			t.Fatalf("%s: ok=%v err=%v", raw, ok, err)
		}
		if !maps.Equal(fast, slow) {
			t.Errorf("%s: fast %v slow %v", raw, fast, slow)
		}
	}
	// Shapes the scanner does not take go to encoding/json, whose error names the problem.
	for _, raw := range []string{`{"a": 1.5}`, `{"a": -1}`, `{"a": "1"}`, `["a"]`} {
		if _, ok := scanVocab([]byte(raw)); ok {
			t.Errorf("scanVocab accepted %s", raw)
		}
		if _, err := parseVocab([]byte(raw)); err == nil && raw != `{"a": -1}` {
			t.Errorf("parseVocab accepted %s", raw)
		}
	}
	pairs, ok := scanMerges([]byte(`["a b", ["c", "d e"], "\u0120x y"]`))
	want := [][2]string{{"a", "b"}, {"c", "d e"}, {"Ġx", "y"}}
	if !ok || !slices.Equal(pairs, want) {
		t.Errorf("scanMerges: %v %v", pairs, ok)
	}
	if _, ok := scanMerges([]byte(`["a b c"]`)); ok {
		t.Error(`scanMerges accepted "a b c"`)
	}
}

func TestConcurrentEncode(t *testing.T) {
	tok := qwen(t)
	cases := readRefs(t, "testdata/qwen3.adversarial.jsonl.gz")
	errs := make(chan string, 4)
	for g := 0; g < 4; g++ {
		go func(g int) {
			for i := range cases {
				c := cases[(i*7+g*13)%len(cases)]
				if got := tok.Encode(c.Text); !slices.Equal(got, c.IDs) {
					errs <- c.Text
					return
				}
			}
			errs <- ""
		}(g)
	}
	for g := 0; g < 4; g++ {
		if s := <-errs; s != "" {
			t.Errorf("concurrent Encode(%q) differs from the reference", s)
		}
	}
}

func TestIgnoreMerges(t *testing.T) {
	// "abc" is in the vocab but no merge makes it; Llama-3-style ignore_merges takes it whole.
	base := synth{merges: [][2]string{{"a", "b"}}, extraVocab: []string{"abc"}}
	with := base
	with.model = map[string]any{"ignore_merges": true}
	if got := texts(base.load(t), base.load(t).Encode("abc")); !slices.Equal(got, []string{"ab", "c"}) {
		t.Errorf("merges: %q", got)
	}
	tok := with.load(t)
	if got := texts(tok, tok.Encode("abc abd")); !slices.Equal(got, []string{"abc", " ", "ab", "d"}) {
		t.Errorf("ignore_merges: %q", got)
	}
}
