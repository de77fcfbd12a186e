// Package segment splits a long reasoning trace into iterations with the InftyThink+ cold-start
// heuristic (DESIGN.md §1): split on "\n\n"; merge a paragraph that does not start with an
// uppercase letter into the previous one; pack paragraphs greedily until the segment passes η
// tokens; drop a sample with a single paragraph longer than η + 500 tokens.
package segment

import (
	"errors"
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Slack is how far past η a single paragraph may run before the sample is dropped.
const Slack = 500

// ErrParagraphTooLong marks a sample the heuristic drops.
var ErrParagraphTooLong = errors.New("segment: a paragraph is longer than η + 500 tokens")

// Paragraphs splits text on "\n\n" and merges each paragraph that does not start with an
// uppercase letter into the one before it. Joining the result with "\n\n" gives text back.
func Paragraphs(text string) []string {
	var out []string
	for i, p := range strings.Split(text, "\n\n") {
		r, _ := utf8.DecodeRuneInString(p)
		if i > 0 && !unicode.IsUpper(r) {
			out[len(out)-1] += "\n\n" + p
			continue
		}
		out = append(out, p)
	}
	return out
}

// Split packs the paragraphs of text into segments: a segment closes as soon as its token
// count reaches eta. count gives the tokens of a paragraph. Joining the segments with "\n\n"
// gives text back.
func Split(text string, eta int, count func(string) (int, error)) ([]string, error) {
	if eta < 1 {
		return nil, fmt.Errorf("segment: η must be positive, got %d", eta)
	}
	var segs []string
	var cur []string
	tokens := 0
	for _, p := range Paragraphs(text) {
		n, err := count(p)
		if err != nil {
			return nil, err
		}
		if n > eta+Slack {
			return nil, fmt.Errorf("%w (%d tokens, η = %d)", ErrParagraphTooLong, n, eta)
		}
		cur = append(cur, p)
		tokens += n
		if tokens >= eta {
			segs = append(segs, strings.Join(cur, "\n\n"))
			cur, tokens = nil, 0
		}
	}
	if len(cur) > 0 {
		segs = append(segs, strings.Join(cur, "\n\n"))
	}
	return segs, nil
}
