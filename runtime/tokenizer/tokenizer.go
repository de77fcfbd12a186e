// Package tokenizer encodes and decodes text with a Hugging Face tokenizer.json byte-level BPE
// (the Qwen2/Qwen3 family and GPT-2/GPT-4-style vocabularies): added tokens split out first
// (leftmost, longest, with their lstrip/rstrip/single_word/normalized flags), then the
// normalizer (NFC for Qwen), the pre-tokenizer (Split with a regex, ByteLevel) and rank-ordered
// merges. Encodings match the reference implementation id for id; see the package tests.
//
// Encoding adds nothing around the text (no BOS/EOS), and special-token strings inside the text
// are encoded as their ids. Decoding skips nothing: special tokens decode to their content.
// A Tokenizer is safe for concurrent use.
//
// The Qwen and GPT-4 split patterns run on a hand-written matcher proven against regexp2 (by a
// property test and a fuzz target); other patterns run on regexp2. A pattern that does not
// compile, or a normalizer, pre-tokenizer, decoder or model option this package does not
// implement, is a load error, never an approximation.
//
// Where references disagree: the pattern's \s is the Unicode White_Space property, as in
// regexp2 and in Oniguruma under the Rust tokenizers that trained the models. JavaScript's \s,
// used by transformers.js, differs on U+0085 (not space there) and U+FEFF (space there), which
// changes a few encodings such as "a \ufeffb". Character classes and NFC follow Go's Unicode
// tables (15.0); characters assigned later may classify differently from newer references.
package tokenizer

import "unicode/utf8"

// Tokenizer is a loaded tokenizer.json.
type Tokenizer struct {
	vocab   map[string]int32
	tokens  []string // id → vocab spelling, or the content of an added token
	known   []bool
	isAdded []bool
	added   []AddedToken

	normalize           func(string) string // nil: none
	pre                 preTokenizer
	bpe                 *bpe
	splitRaw, splitNorm *addedSplitter

	// The bytes each id decodes to, packed: id i is decBytes[decOff[i]:decOff[i+1]].
	decBytes []byte
	decOff   []uint32
}

// VocabSize is one more than the largest id of the vocab and the added tokens. (A model's
// embedding may be larger, padded; ids past VocabSize decode to U+FFFD.)
func (t *Tokenizer) VocabSize() int { return len(t.tokens) }

// TokenToID looks up a token by its spelling in tokenizer.json: the byte-level form for vocab
// entries ("Ġthe"), the content for added tokens ("<|im_end|>").
func (t *Tokenizer) TokenToID(tok string) (int, bool) {
	for _, a := range t.added {
		if a.Content == tok {
			return a.ID, true
		}
	}
	id, ok := t.vocab[tok]
	return int(id), ok
}

// IDToToken is TokenToID's inverse.
func (t *Tokenizer) IDToToken(id int) (string, bool) {
	if id < 0 || id >= len(t.tokens) || !t.known[id] {
		return "", false
	}
	return t.tokens[id], true
}

// IsAdded reports whether id is one of the added tokens.
func (t *Tokenizer) IsAdded(id int) bool { return id >= 0 && id < len(t.isAdded) && t.isAdded[id] }

// AddedTokens lists the added tokens (special and not) in tokenizer.json's order.
func (t *Tokenizer) AddedTokens() []AddedToken { return append([]AddedToken(nil), t.added...) }

// SpecialTokens lists the added tokens marked special.
func (t *Tokenizer) SpecialTokens() []AddedToken {
	var out []AddedToken
	for _, a := range t.added {
		if a.Special {
			out = append(out, a)
		}
	}
	return out
}

// Encode returns the ids of text. Invalid UTF-8 is first replaced by U+FFFD.
func (t *Tokenizer) Encode(text string) []int {
	return t.AppendEncode(make([]int, 0, len(text)/3+4), text)
}

// AppendEncode appends the ids of text to ids.
func (t *Tokenizer) AppendEncode(ids []int, text string) []int {
	text = validString(text)
	onToken := func(id int) { ids = append(ids, id) }
	onWord := func(w string) { ids = t.bpe.encodeWord(w, ids) }
	onNormText := func(s string) { t.pre.split(s, onWord) }
	t.splitRaw.split(text, func(s string) {
		if t.normalize != nil {
			s = t.normalize(s)
		}
		t.splitNorm.split(s, onNormText, onToken)
	}, onToken)
	return ids
}

func (t *Tokenizer) buildDecodeTable() {
	t.decOff = make([]uint32, len(t.tokens)+1)
	for id, tok := range t.tokens {
		switch {
		case t.isAdded[id]:
			t.decBytes = append(t.decBytes, tok...)
		case t.known[id]:
			t.decBytes = append(t.decBytes, tokenRawBytes(tok)...)
		default:
			t.decBytes = append(t.decBytes, replacement...)
		}
		t.decOff[id+1] = uint32(len(t.decBytes))
	}
}

// TokenBytes returns the bytes id decodes to (possibly part of a UTF-8 character); ok is false
// for an id that is not in the vocabulary. The slice must not be modified.
func (t *Tokenizer) TokenBytes(id int) ([]byte, bool) {
	if id < 0 || id >= len(t.tokens) || !t.known[id] {
		return nil, false
	}
	return t.decBytes[t.decOff[id]:t.decOff[id+1]], true
}

func (t *Tokenizer) appendBytes(dst []byte, id int) []byte {
	if id < 0 || id >= len(t.tokens) {
		return append(dst, replacement...)
	}
	return append(dst, t.decBytes[t.decOff[id]:t.decOff[id+1]]...)
}

// Decode returns the text of ids, special tokens included. Bytes that do not form UTF-8 become
// U+FFFD, and so does an id outside the vocabulary.
func (t *Tokenizer) Decode(ids []int) string {
	buf := make([]byte, 0, len(ids)*4)
	for _, id := range ids {
		buf = t.appendBytes(buf, id)
	}
	return lossyString(buf)
}

// DecodeSkipSpecial is Decode without the special tokens (<|im_end|>, <think>, …); added tokens
// not marked special (<tool_call>) are kept, as transformers' skip_special_tokens does.
func (t *Tokenizer) DecodeSkipSpecial(ids []int) string {
	buf := make([]byte, 0, len(ids)*4)
	for _, id := range ids {
		if t.IsAdded(id) && t.isSpecial(id) {
			continue
		}
		buf = t.appendBytes(buf, id)
	}
	return lossyString(buf)
}

func (t *Tokenizer) isSpecial(id int) bool {
	for _, a := range t.added {
		if a.ID == id {
			return a.Special
		}
	}
	return false
}

// Stream turns a growing sequence of ids into text, emitting only complete UTF-8 so that a
// character split across tokens never shows as garbage: the concatenation of everything Push
// and Flush return equals Decode of all ids pushed.
type Stream struct {
	t       *Tokenizer
	pending []byte
	buf     []byte
}

// NewStream starts a streaming decoder.
func (t *Tokenizer) NewStream() *Stream { return &Stream{t: t} }

// Push adds one id and returns the text it completes (possibly empty).
func (s *Stream) Push(id int) string {
	s.pending = s.t.appendBytes(s.pending, id)
	if utf8.Valid(s.pending) { // the usual case: whole characters only
		out := string(s.pending)
		s.pending = s.pending[:0]
		return out
	}
	var used int
	s.buf, used = appendLossy(s.buf[:0], s.pending, false)
	s.pending = s.pending[:copy(s.pending, s.pending[used:])]
	return string(s.buf)
}

// Pending reports whether bytes of an unfinished character are held back.
func (s *Stream) Pending() bool { return len(s.pending) > 0 }

// Flush returns what is held back (an incomplete character, as U+FFFD) and empties the stream.
func (s *Stream) Flush() string {
	out, _ := appendLossy(nil, s.pending, true)
	s.pending = s.pending[:0]
	return string(out)
}

// Reset drops anything held back.
func (s *Stream) Reset() { s.pending = s.pending[:0] }
