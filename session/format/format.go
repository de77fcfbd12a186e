// Package format is the one owner of the InftyThink+ layout (DESIGN.md §1): its tags, the
// builder of an iteration's assistant turn and its pre-fill, and the parsers that split a turn,
// finished or still streaming, into its parts. Nothing else spells a tag.
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

// Tags lists every tag of the layout, for tokenizers that keep each one a single token.
var Tags = []string{ThinkOpen, ThinkClose, SummaryOpen, SummaryClose, HistoryOpen, HistoryClose}

// Prefill is the pre-filled start of iteration index's assistant turn: empty for the first,
// "<history>\n{s}\n</history>" (no newline after) for the others.
func Prefill(index int, history string) string {
	if index <= 1 {
		return ""
	}
	return HistoryOpen + "\n" + history + "\n" + HistoryClose
}

// SplitPrefill splits an assistant turn into its leading <history>…</history> block (empty when
// the turn does not open with one) and the rest. ok is false when the turn opens the block and
// never closes it.
func SplitPrefill(assistant string) (prefill, rest string, ok bool) {
	if !strings.HasPrefix(assistant, HistoryOpen) {
		return "", assistant, true
	}
	end := strings.Index(assistant, HistoryClose)
	if end < 0 {
		return "", assistant, false
	}
	end += len(HistoryClose)
	return assistant[:end], assistant[end:], true
}

// Iteration is one iteration's parts: what Render lays out and what Parse takes apart.
type Iteration struct {
	Index      int // 1-based; the first has no pre-filled history
	History    string
	Reasoning  string
	Summary    string
	Conclusion string
	Final      bool // the turn ends with the conclusion instead of a summary
}

// Prefill is the iteration's pre-filled, untrained start.
func (it Iteration) Prefill() string { return Prefill(it.Index, it.History) }

// Render is the canonical assistant turn of the iteration, pre-fill included.
func (it Iteration) Render() string {
	var b strings.Builder
	b.WriteString(it.Prefill())
	b.WriteString(ReasoningOpen)
	b.WriteString(it.Reasoning)
	b.WriteString("\n" + ThinkClose)
	if it.Final {
		b.WriteString("\n" + it.Conclusion + "\n")
	} else {
		b.WriteString(SummaryOpen + "\n" + it.Summary + "\n" + SummaryClose)
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
