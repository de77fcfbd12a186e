package tokenizer

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/dlclark/regexp2"
)

// A preTokenizer cuts a normalized section of text into the pieces ("words") that BPE encodes
// one by one; emit gets the pieces in order.
type preTokenizer interface {
	split(s string, emit func(string))
}

// A matcher finds the non-overlapping matches of a pattern left to right, as byte offsets.
type matcher interface {
	each(s string, fn func(start, end int))
}

// gpt2Pattern is what the ByteLevel pre-tokenizer splits with when use_regex is on.
const gpt2Pattern = `'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+`

// parsePreTokenizer returns the pre-tokenizer and whether it ends in byte-level spelling.
func parsePreTokenizer(raw json.RawMessage, opt options) (preTokenizer, bool, error) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || string(raw) == "null" {
		return seqPre(nil), false, nil
	}
	var p struct {
		Type           string            `json:"type"`
		PreTokenizers  []json.RawMessage `json:"pretokenizers"`
		Pattern        *patternJSON      `json:"pattern"`
		Behavior       string            `json:"behavior"`
		Invert         bool              `json:"invert"`
		AddPrefixSpace *bool             `json:"add_prefix_space"`
		UseRegex       *bool             `json:"use_regex"`
	}
	if err := json.Unmarshal(raw, &p); err != nil {
		return nil, false, err
	}
	switch p.Type {
	case "Sequence":
		var seq seqPre
		byteLevel := false
		for i, sub := range p.PreTokenizers {
			pt, bl, err := parsePreTokenizer(sub, opt)
			if err != nil {
				return nil, false, fmt.Errorf("pretokenizers[%d]: %w", i, err)
			}
			byteLevel = byteLevel || bl
			if inner, ok := pt.(seqPre); ok {
				seq = append(seq, inner...) // flattening drops no-op steps
			} else {
				seq = append(seq, pt)
			}
		}
		if len(seq) == 1 {
			return seq[0], byteLevel, nil
		}
		return seq, byteLevel, nil
	case "Split":
		if p.Pattern == nil {
			return nil, false, errors.New(`Split has no "pattern"`)
		}
		m, err := p.Pattern.compile(opt)
		if err != nil {
			return nil, false, err
		}
		b, err := parseBehavior(p.Behavior)
		if err != nil {
			return nil, false, err
		}
		return &splitPre{m: m, behavior: b, invert: p.Invert}, false, nil
	case "ByteLevel":
		// The Hugging Face defaults when the fields are absent: both on.
		addPrefix := p.AddPrefixSpace == nil || *p.AddPrefixSpace
		useRegex := p.UseRegex == nil || *p.UseRegex
		var steps seqPre
		if addPrefix {
			steps = append(steps, prefixSpacePre{})
		}
		if useRegex {
			m, err := compilePattern(gpt2Pattern, opt)
			if err != nil {
				return nil, false, err
			}
			steps = append(steps, &splitPre{m: m, behavior: isolated})
		}
		// The byte-level spelling itself happens in the BPE step, on raw bytes.
		return steps, true, nil
	}
	return nil, false, fmt.Errorf("type %q is not supported", p.Type)
}

type patternJSON struct {
	Regex  *string `json:"Regex"`
	String *string `json:"String"`
}

func (p *patternJSON) compile(opt options) (matcher, error) {
	switch {
	case p.Regex != nil:
		return compilePattern(*p.Regex, opt)
	case p.String != nil:
		if *p.String == "" {
			return nil, errors.New("Split pattern is an empty string")
		}
		return literalMatcher(*p.String), nil
	}
	return nil, errors.New(`Split pattern has neither "Regex" nor "String"`)
}

// compilePattern picks the hand-written matcher for the patterns it is proven equal to, and
// regexp2 (a backtracking engine with lookaround, as the patterns need) for any other. A pattern
// that fails to compile is an error: encoding without it would be silently wrong.
func compilePattern(pat string, opt options) (matcher, error) {
	if !opt.forceRegexp2 {
		if m := fastMatcherFor(pat); m != nil {
			return m, nil
		}
	}
	re, err := regexp2.Compile(pat, regexp2.None)
	if err != nil {
		return nil, fmt.Errorf("Split regex %q does not compile: %w", pat, err)
	}
	return regexp2Matcher{re}, nil
}

type regexp2Matcher struct{ re *regexp2.Regexp }

func (m regexp2Matcher) each(s string, fn func(start, end int)) {
	// regexp2 reports rune offsets; walk a byte cursor alongside (matches only move forward).
	runeAt, byteAt := 0, 0
	toByte := func(r int) int {
		for runeAt < r {
			_, n := utf8.DecodeRuneInString(s[byteAt:])
			byteAt += n
			runeAt++
		}
		return byteAt
	}
	// Without a MatchTimeout, regexp2 reports no errors, so err is always nil here.
	mt, _ := m.re.FindStringMatch(s)
	for mt != nil {
		start := toByte(mt.Index)
		end := toByte(mt.Index + mt.Length)
		fn(start, end)
		mt, _ = m.re.FindNextMatch(mt)
	}
}

type literalMatcher string

func (m literalMatcher) each(s string, fn func(start, end int)) {
	pos := 0
	for {
		i := strings.Index(s[pos:], string(m))
		if i < 0 {
			return
		}
		fn(pos+i, pos+i+len(m))
		pos += i + len(m)
	}
}

type behavior int

const (
	removed behavior = iota
	isolated
	mergedWithPrevious
	mergedWithNext
	contiguous
)

func parseBehavior(s string) (behavior, error) {
	switch s {
	case "Removed":
		return removed, nil
	case "Isolated":
		return isolated, nil
	case "MergedWithPrevious":
		return mergedWithPrevious, nil
	case "MergedWithNext":
		return mergedWithNext, nil
	case "Contiguous":
		return contiguous, nil
	}
	return 0, fmt.Errorf("Split behavior %q is not supported", s)
}

type splitPre struct {
	m        matcher
	behavior behavior
	invert   bool
}

type segment struct {
	start, end int
	match      bool
}

func (p *splitPre) split(s string, emit func(string)) {
	if p.behavior == isolated {
		// Every match and every gap between matches is a piece (invert changes nothing).
		prev := 0
		p.m.each(s, func(a, b int) {
			if a > prev {
				emit(s[prev:a])
			}
			if b > a {
				emit(s[a:b])
			}
			prev = b
		})
		if prev < len(s) {
			emit(s[prev:])
		}
		return
	}
	var segs []segment
	prev := 0
	p.m.each(s, func(a, b int) {
		if a > prev {
			segs = append(segs, segment{prev, a, p.invert})
		}
		segs = append(segs, segment{a, b, !p.invert})
		prev = b
	})
	if prev < len(s) {
		segs = append(segs, segment{prev, len(s), p.invert})
	}
	for _, sg := range applyBehavior(segs, p.behavior) {
		if sg.end > sg.start {
			emit(s[sg.start:sg.end])
		}
	}
}

// applyBehavior follows the Hugging Face SplitDelimiterBehavior rules over match/gap segments.
func applyBehavior(segs []segment, b behavior) []segment {
	var out []segment
	prevMatch := false
	switch b {
	case removed:
		for _, sg := range segs {
			if !sg.match {
				out = append(out, sg)
			}
		}
	case mergedWithPrevious:
		for _, sg := range segs {
			if sg.match && !prevMatch && len(out) > 0 {
				out[len(out)-1].end = sg.end
			} else {
				out = append(out, sg)
			}
			prevMatch = sg.match
		}
	case mergedWithNext:
		for i := len(segs) - 1; i >= 0; i-- {
			sg := segs[i]
			if sg.match && !prevMatch && len(out) > 0 {
				out[len(out)-1].start = sg.start
			} else {
				out = append(out, sg)
			}
			prevMatch = sg.match
		}
		for i, j := 0, len(out)-1; i < j; i, j = i+1, j-1 {
			out[i], out[j] = out[j], out[i]
		}
	case contiguous:
		for i, sg := range segs {
			if i > 0 && sg.match == prevMatch {
				out[len(out)-1].end = sg.end
			} else {
				out = append(out, sg)
			}
			prevMatch = sg.match
		}
	default:
		out = segs
	}
	return out
}

type seqPre []preTokenizer

func (q seqPre) split(s string, emit func(string)) {
	switch len(q) {
	case 0:
		emit(s)
	case 1:
		q[0].split(s, emit)
	default:
		rest := q[1:]
		q[0].split(s, func(piece string) { rest.split(piece, emit) })
	}
}

// prefixSpacePre is ByteLevel's add_prefix_space: each piece that does not start with a space
// gets one, as the Hugging Face ByteLevel pre-tokenizer does.
type prefixSpacePre struct{}

func (prefixSpacePre) split(s string, emit func(string)) {
	if !strings.HasPrefix(s, " ") {
		s = " " + s
	}
	emit(s)
}
