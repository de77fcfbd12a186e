// Package format holds the exact strings of the InftyThink+ layout (DESIGN.md §1) and a parser
// that splits an assistant turn, finished or still streaming, into its parts.
//
//	iteration i > 1 is pre-filled with  <history>\n{s_(i-1)}\n</history>
//	not the last iteration:             <think>\n{r_i}\n</think><summary>\n{s_i}\n</summary>
//	the last iteration:                 <think>\n{r_n}\n</think>\n{conclusion}\n
package format

import "strings"

// Tags of the layout.
const (
	ThinkOpen    = "<think>"
	ThinkClose   = "</think>"
	SummaryOpen  = "<summary>"
	SummaryClose = "</summary>"
	HistoryOpen  = "<history>"
	HistoryClose = "</history>"
)

// Text the engine appends when it takes a decision in the model's place.
const (
	// ForcedBoundary closes the reasoning when η runs out and opens the summary.
	ForcedBoundary = "\n" + ThinkClose + SummaryOpen + "\n"
	// ForcedConclusion closes the reasoning and opens the conclusion (at iteration φ).
	ForcedConclusion = "\n" + ThinkClose + "\n"
	// ForcedSummaryClose ends a summary that ran out of its bound.
	ForcedSummaryClose = "\n" + SummaryClose
	// ReasoningOpen starts every generated turn.
	ReasoningOpen = ThinkOpen + "\n"
)

// Prefill is the pre-filled start of iteration index's assistant turn: empty for the first,
// "<history>\n{s}\n</history>" (no newline after) for the others.
func Prefill(index int, history string) string {
	if index <= 1 {
		return ""
	}
	return HistoryOpen + "\n" + history + "\n" + HistoryClose
}

// Assistant is the canonical assistant turn of an iteration.
func Assistant(index int, history, reasoning, summary, conclusion string, final bool) string {
	var b strings.Builder
	b.WriteString(Prefill(index, history))
	b.WriteString(ReasoningOpen)
	b.WriteString(reasoning)
	b.WriteString("\n" + ThinkClose)
	if final {
		b.WriteString("\n" + conclusion + "\n")
	} else {
		b.WriteString(SummaryOpen + "\n" + summary + "\n" + SummaryClose)
	}
	return b.String()
}

// Phase is where a (possibly partial) turn stands.
type Phase int

const (
	PhaseReasoning  Phase = iota // inside <think>
	PhaseBoundary                // </think> written, the next tag not yet known
	PhaseSummary                 // inside <summary>
	PhaseConclusion              // after </think>, writing the conclusion
)

// Parsed is a generated turn (without the pre-fill) split into parts.
type Parsed struct {
	Phase      Phase
	Reasoning  string
	Summary    string
	Conclusion string
	// BoundaryAt is the byte offset in the text where the reasoning's end tag begins (the
	// "</think>", or a "<summary>" written without it), or -1 while reasoning.
	BoundaryAt int
	// ThinkCloseEnd is the offset just after "</think>", or -1.
	ThinkCloseEnd int
	// SummaryCloseEnd is the offset just after "</summary>", or -1.
	SummaryCloseEnd int
	// Malformed: the text departs from the exact layout (missing or doubled newlines, a
	// missing tag, text after </summary>, ...).
	Malformed bool
}

// Parse splits generated text. With partial set the text is still streaming: trailing bytes
// that may begin a tag (or the newline that precedes one) are held back from the parts, so
// that successive parses only ever extend them.
func Parse(text string, partial bool) Parsed { return ParseFrom(text, partial, 0) }

// ParseFrom is Parse for a caller that knows no "</think>" or "<summary>" starts before byte
// offset from (a streaming caller passes where its previous parse stopped looking, minus a tag's
// length), so parsing a growing turn costs time proportional to the new text, not the whole.
func ParseFrom(text string, partial bool, from int) Parsed {
	p := Parsed{BoundaryAt: -1, ThinkCloseEnd: -1, SummaryCloseEnd: -1}
	start := 0
	switch {
	case strings.HasPrefix(text, ReasoningOpen):
		start = len(ReasoningOpen)
	case partial && strings.HasPrefix(ReasoningOpen, text):
		return p // "<think>\n" not complete yet
	case strings.HasPrefix(text, ThinkOpen):
		start = len(ThinkOpen)
		p.Malformed = true
	default:
		p.Malformed = true
	}
	s := text[start:]
	skip := min(max(from-start, 0), len(s))
	iThink := strings.Index(s[skip:], ThinkClose)
	if iThink >= 0 {
		iThink += skip
	}
	iSum := strings.Index(s[skip:], SummaryOpen)
	if iSum >= 0 {
		iSum += skip
	}
	if iThink < 0 && iSum < 0 {
		p.Phase = PhaseReasoning
		if partial {
			p.Reasoning = s[:len(s)-heldBack(s, "\n"+ThinkClose, "\n"+SummaryOpen)]
		} else {
			p.Reasoning = strings.TrimSuffix(s, "\n")
			p.Malformed = true
		}
		return p
	}
	var rest string
	if iThink >= 0 && (iSum < 0 || iThink < iSum) {
		p.BoundaryAt = start + iThink
		p.ThinkCloseEnd = p.BoundaryAt + len(ThinkClose)
		rest = s[iThink+len(ThinkClose):]
		p.Reasoning = s[:iThink]
	} else {
		p.BoundaryAt = start + iSum
		p.Reasoning = s[:iSum]
		rest = s[iSum:]
		p.Malformed = true
	}
	if r, ok := strings.CutSuffix(p.Reasoning, "\n"); ok {
		p.Reasoning = r
	} else {
		p.Malformed = true
	}
	trimmed := strings.TrimLeft(rest, " \t\n")
	switch {
	case strings.HasPrefix(trimmed, SummaryOpen):
		if len(trimmed) != len(rest) {
			p.Malformed = true
		}
		p.Phase = PhaseSummary
		t := trimmed[len(SummaryOpen):]
		tAt := len(text) - len(t)
		if x, ok := strings.CutPrefix(t, "\n"); ok {
			t, tAt = x, tAt+1
		} else if partial && t == "" {
			return p
		} else {
			p.Malformed = true
		}
		end := strings.Index(t, SummaryClose)
		if end < 0 {
			if partial {
				p.Summary = t[:len(t)-heldBack(t, "\n"+SummaryClose)]
			} else {
				p.Summary = strings.TrimSuffix(t, "\n")
				p.Malformed = true
			}
			return p
		}
		p.SummaryCloseEnd = tAt + end + len(SummaryClose)
		p.Summary = t[:end]
		if x, ok := strings.CutSuffix(p.Summary, "\n"); ok {
			p.Summary = x
		} else {
			p.Malformed = true
		}
		if p.SummaryCloseEnd != len(text) {
			p.Malformed = true
		}
	case partial && (trimmed == "" || strings.HasPrefix(SummaryOpen, trimmed)):
		p.Phase = PhaseBoundary
	default:
		p.Phase = PhaseConclusion
		c := rest
		if x, ok := strings.CutPrefix(c, "\n"); ok {
			c = x
		} else if !(partial && c == "") {
			p.Malformed = true
		}
		if partial {
			c = strings.TrimSuffix(c, "\n")
		} else if x, ok := strings.CutSuffix(c, "\n"); ok {
			c = x
		}
		p.Conclusion = c
	}
	return p
}

// heldBack is the length of the longest suffix of s that is a proper prefix of one of tags.
func heldBack(s string, tags ...string) int {
	best := 0
	for _, tag := range tags {
		for n := min(len(tag)-1, len(s)); n > best; n-- {
			if strings.HasSuffix(s, tag[:n]) {
				best = n
				break
			}
		}
	}
	return best
}
