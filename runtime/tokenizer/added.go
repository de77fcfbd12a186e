package tokenizer

import (
	"sort"
	"strings"
	"unicode"
	"unicode/utf8"
)

// AddedToken is an entry of tokenizer.json's added_tokens: matched in the text before any
// other step and encoded as its id whole.
type AddedToken struct {
	ID      int
	Content string
	Special bool // a control token (<|im_end|>); the others are added words (<tool_call>)
	// LStrip and RStrip make a match swallow the whitespace on its left / right.
	LStrip, RStrip bool
	// SingleWord matches only where the content is not inside a word.
	SingleWord bool
	// Normalized tokens are matched in the normalized text; the others in the raw text.
	Normalized bool
}

// addedSplitter finds added tokens, leftmost first and longest among those starting at the
// same place (the Hugging Face and transformers.js rule).
type addedSplitter struct {
	toks    []AddedToken
	byFirst [256][]int // indices into toks by first byte, longest content first
}

func newAddedSplitters(added []AddedToken, normalize func(string) string) (raw, norm *addedSplitter) {
	var rawToks, normToks []AddedToken
	for _, a := range added {
		if a.Normalized && normalize != nil {
			a.Content = normalize(a.Content)
			normToks = append(normToks, a)
		} else {
			rawToks = append(rawToks, a)
		}
	}
	return buildSplitter(rawToks), buildSplitter(normToks)
}

func buildSplitter(toks []AddedToken) *addedSplitter {
	if len(toks) == 0 {
		return nil
	}
	s := &addedSplitter{toks: toks}
	for i, t := range toks {
		b := t.Content[0]
		s.byFirst[b] = append(s.byFirst[b], i)
	}
	for b := range s.byFirst {
		l := s.byFirst[b]
		sort.SliceStable(l, func(i, j int) bool { return len(toks[l[i]].Content) > len(toks[l[j]].Content) })
	}
	return s
}

// split calls text for the stretches between added tokens and token for each one found.
func (s *addedSplitter) split(text string, onText func(string), onToken func(id int)) {
	if s == nil {
		if text != "" {
			onText(text)
		}
		return
	}
	done := 0 // text before this is already handed out
	for i := 0; i < len(text); {
		cands := s.byFirst[text[i]]
		if len(cands) == 0 {
			i++
			continue
		}
		var tok *AddedToken
		for _, c := range cands {
			if strings.HasPrefix(text[i:], s.toks[c].Content) {
				tok = &s.toks[c]
				break
			}
		}
		if tok == nil {
			i++
			continue
		}
		start, end := i, i+len(tok.Content)
		if tok.SingleWord && (endsWithWord(text[:start]) || startsWithWord(text[end:])) {
			i = end // like an Aho-Corasick scan, carry on after the rejected match
			continue
		}
		if tok.LStrip {
			start = max(done, len(strings.TrimRightFunc(text[:start], unicode.IsSpace)))
		}
		if tok.RStrip {
			end = len(text) - len(strings.TrimLeftFunc(text[end:], unicode.IsSpace))
		}
		if start > done {
			onText(text[done:start])
		}
		onToken(tok.ID)
		done, i = end, end
	}
	if done < len(text) {
		onText(text[done:])
	}
}

func isWordRune(r rune) bool { return unicode.IsLetter(r) || unicode.IsNumber(r) || r == '_' }

func endsWithWord(s string) bool {
	r, n := utf8.DecodeLastRuneInString(s)
	return n > 0 && isWordRune(r)
}

func startsWithWord(s string) bool {
	r, n := utf8.DecodeRuneInString(s)
	return n > 0 && isWordRune(r)
}
