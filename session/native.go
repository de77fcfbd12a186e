package session

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/infty-dev/infty/llm"
	"github.com/infty-dev/infty/session/format"
)

// IterationSeed derives iteration i's sampler seed from the run's seed, so iterations do not
// replay the same random draws and any iteration can be regenerated alone.
func IterationSeed(seed uint64, i int) uint64 {
	z := seed + uint64(i)*0x9E3779B97F4A7C15
	z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9
	z = (z ^ (z >> 27)) * 0x94D049BB133111EB
	return z ^ (z >> 31)
}

// stopAction is what a token callback decided.
type stopAction int

const (
	actNone            stopAction = iota
	actForceBoundary              // η ran out inside <think>
	actForceConclusion            // φ reached and the model opened a summary
	actSummaryDone                // </summary> written
	actSummaryBound               // the summary bound ran out
	actConclusionBound            // the conclusion bound ran out
	actEdit                       // a reasoning edit is pending
)

var errStopGeneration = errors.New("session: stop generation")

// streamer turns successive parses of a growing turn into delta events.
type streamer struct {
	e         *Engine
	branch    int
	iteration int
	sent      map[Part]int
}

func (s *streamer) update(p format.Parsed) {
	for _, part := range []struct {
		name Part
		text string
	}{{PartReasoning, p.Reasoning}, {PartSummary, p.Summary}, {PartConclusion, p.Conclusion}} {
		if n := s.sent[part.name]; len(part.text) > n {
			s.e.emit(Event{Type: EventDelta, Branch: s.branch, Iteration: s.iteration, Part: part.name, Text: part.text[n:]})
			s.sent[part.name] = len(part.text)
		}
	}
}

// nativeIteration runs iteration index for a model trained in the InftyThink+ layout.
//
// One Generate call normally covers the whole turn; the callback watches the parse of the text
// and stops it only where the engine must insert text: η reached inside <think> (append
// "\n</think><summary>\n", or at φ "\n</think>\n"), φ reached and the model opened a summary
// (cut back to "</think>", append "\n", let it conclude), or the summary bound reached (append
// "\n</summary>"). After an insertion the turn is re-prefilled with Request.Offset = tokens
// generated so far, so the sampler's random stream continues.
func (e *Engine) nativeIteration(ctx context.Context, b *branch, index int, history string, resume *resumeState) (Iteration, *reasoningEdit, error) {
	cfg := e.cfg
	clock := e.stopwatch()
	it := Iteration{Index: index, History: history, Seed: IterationSeed(cfg.Sampling.Seed, index)}
	user, err := e.model.RenderChat([]llm.Message{{Role: "user", Content: b.question(e)}}, true)
	if err != nil {
		return it, nil, fmt.Errorf("chat template: %w", err)
	}
	prefill := format.Prefill(index, history)
	// Some templates (DeepSeek-R1 distills) open the reasoning in the generation prompt. The
	// layout wants <history> first, so format.ReasoningOpen moves after the pre-fill, as pre-filled text.
	thinkByTemplate := strings.HasSuffix(user, format.ReasoningOpen)
	if thinkByTemplate {
		user = strings.TrimSuffix(user, format.ReasoningOpen)
	}
	prompt := user + prefill

	var buf textBuf // gen's storage: appends without copying the turn every token
	gen0 := ""
	if thinkByTemplate {
		gen0 = format.ReasoningOpen
	}
	// generated: tokens generated in this iteration (the sampler's offset); reasonTok: tokens
	// spent inside <think>; afterTok: tokens after </think> (summary or conclusion).
	gen, generated, reasonTok, st, err := e.startTurn(&buf, &it, b.id, gen0, resume)
	if err != nil {
		return it, nil, err
	}
	afterTok := 0
	publish := func(p format.Parsed) {
		part := PartReasoning
		switch p.Phase {
		case format.PhaseSummary, format.PhaseBoundary:
			part = PartSummary
		case format.PhaseConclusion:
			part = PartConclusion
		}
		e.setPartial(&Partial{Index: index, History: history, Reasoning: p.Reasoning, Summary: p.Summary, Conclusion: p.Conclusion, Part: part, Tokens: generated})
		st.update(p)
	}
	p := format.Parse(gen, true)
	publish(p)
	scanFrom := 0 // no tag that ends the reasoning starts before this offset of gen
	stats := statsTicker{e: e, branch: b.id, iteration: index, clock: clock, reasoning: &reasonTok}
	sampling := cfg.Sampling
	sampling.Seed = it.Seed
	// With a known context window, the reasoning stops early enough that the forced tags and the
	// summary or conclusion still fit after it.
	reserve := 0
	if llm.ContextLength(e.model) > 0 {
		tags, err := tagTokens(e.model, format.ForcedBoundary, format.ForcedConclusion)
		if err != nil {
			return it, nil, fmt.Errorf("encode prompt: %w", err)
		}
		reserve = tags + max(cfg.SummaryMax, cfg.ConclusionMax)
	}

	for {
		var act stopAction
		var edit *reasoningEdit
		budget := 0
		switch {
		case p.Phase == format.PhaseReasoning:
			budget = cfg.Eta - reasonTok + max(cfg.SummaryMax, cfg.ConclusionMax) + 2
		case p.Phase == format.PhaseConclusion, it.ForcedConclusion:
			// (right after the forced "\n</think>\n" the parse has no conclusion text yet)
			budget = cfg.ConclusionMax - afterTok + 1
		default:
			budget = cfg.SummaryMax - afterTok + 1
		}
		ids, room, err := e.encodeTurn(prompt+gen, index)
		if err != nil {
			return it, nil, err
		}
		budget = min(budget, room)
		eta := cfg.Eta // less when the window would not hold η more reasoning, the tags and the summary
		if p.Phase == format.PhaseReasoning && reserve > 0 {
			eta = min(eta, reasonTok+room-reserve)
		}
		yield := func(tok llm.Token) error {
			if err := e.gateToken(ctx, &edit, &act); err != nil {
				return err
			}
			if p.Phase == format.PhaseReasoning {
				reasonTok++
			} else {
				afterTok++
			}
			generated++
			gen = buf.add(tok.Text)
			p = format.ParseFrom(gen, true, scanFrom)
			if p.Phase == format.PhaseReasoning {
				scanFrom = max(0, len(gen)-len(format.SummaryOpen))
			}
			switch {
			case p.Phase == format.PhaseReasoning && reasonTok >= eta:
				act = actForceBoundary
			case p.Phase == format.PhaseSummary && index >= cfg.Phi:
				gen = buf.set(gen[:p.BoundaryAt])
				act = actForceConclusion
			case p.SummaryCloseEnd >= 0:
				gen = buf.set(gen[:p.SummaryCloseEnd])
				act = actSummaryDone
			case (p.Phase == format.PhaseSummary || p.Phase == format.PhaseBoundary) && afterTok >= cfg.SummaryMax:
				act = actSummaryBound
			case p.Phase == format.PhaseConclusion && afterTok >= cfg.ConclusionMax:
				act = actConclusionBound
			}
			if act != actForceConclusion {
				if act != actNone {
					p = format.ParseFrom(gen, true, scanFrom)
				}
				publish(p)
			}
			stats.tick(generated)
			if act != actNone {
				return errStopGeneration
			}
			return nil
		}
		// No stop strings: the callback sees every token and stops at "</summary>" itself, so a
		// stray "</summary>" inside the reasoning does not end the turn.
		var res llm.Result
		if p.Phase == format.PhaseReasoning && reasonTok >= eta {
			// The window holds no more reasoning: close it now, so that the summary still fits.
			act = actForceBoundary
		} else {
			res, err = generate(ctx, e.model, llm.Request{Prompt: ids, MaxTokens: max(budget, 1), Sampling: sampling, Offset: generated}, yield)
		}
		if act == actEdit {
			return it, edit, nil
		}
		if err := generateErr(ctx, err, fmt.Sprintf("generate (iteration %d)", index)); err != nil {
			return it, nil, err
		}
		if act == actNone {
			// The model stopped on its own: EOS or the budget.
			p = format.Parse(gen, true)
			switch {
			case p.SummaryCloseEnd >= 0:
				gen = buf.set(gen[:p.SummaryCloseEnd])
				act = actSummaryDone
			case p.Phase == format.PhaseReasoning && res.Reason == llm.StopBudget:
				act = actForceBoundary
			case p.Phase == format.PhaseReasoning:
				// EOS inside <think>: the model gave up the format; close it as if η ran out.
				act = actForceBoundary
				it.Malformed = true
			case p.Phase == format.PhaseSummary && res.Reason == llm.StopBudget:
				act = actSummaryBound
			case p.Phase == format.PhaseBoundary && res.Reason == llm.StopBudget:
				act = actSummaryBound
			case p.Phase == format.PhaseConclusion && res.Reason == llm.StopBudget:
				act = actConclusionBound
			default: // EOS after </think>: a conclusion (possibly empty) or an unclosed summary
				act = actSummaryDone
			}
		}
		switch act {
		case actForceBoundary:
			if reserve > 0 {
				// The re-prefilled turn must leave room for the tags and the summary.
				keep := 0
				if strings.HasPrefix(gen, format.ReasoningOpen) {
					keep = len(format.ReasoningOpen)
				}
				cut, err := fitReasoning(e.model, prompt, gen, keep, reserve)
				if err != nil {
					return it, nil, fmt.Errorf("encode prompt: %w", err)
				}
				if len(cut) < len(gen) {
					gen = buf.set(cut)
					scanFrom = min(scanFrom, max(0, len(gen)-len(format.SummaryOpen)))
				}
			}
			if index >= cfg.Phi {
				gen = buf.add(format.ForcedConclusion)
				it.ForcedConclusion = true
			} else {
				gen = buf.add(format.ForcedBoundary)
				it.ForcedBoundary = true
			}
		case actForceConclusion:
			gen = buf.add("\n")
			it.ForcedConclusion = true
			afterTok = 0
		case actSummaryBound:
			if p.Phase == format.PhaseBoundary {
				gen = buf.add(format.SummaryOpen + "\n")
			}
			gen = buf.add(format.ForcedSummaryClose)
			it.SummaryTruncated = true
		case actConclusionBound:
			it.Truncated = true
		}
		p = format.Parse(gen, true)
		publish(p)
		if act == actForceBoundary || act == actForceConclusion {
			continue
		}
		break
	}

	final := format.Parse(gen, false)
	it.Reasoning = final.Reasoning
	it.Malformed = it.Malformed || final.Malformed
	switch final.Phase {
	case format.PhaseSummary:
		it.Summary = final.Summary
	case format.PhaseConclusion, format.PhaseBoundary:
		it.Final = true
		it.Conclusion = final.Conclusion
	default:
		return it, nil, fmt.Errorf("iteration %d ended inside its reasoning", index)
	}
	it.Raw = prefill + gen
	it.Tokens = generated
	it.Seconds, it.WallSeconds = clock.read()
	return it, nil, nil
}

func (b *branch) question(e *Engine) string { return e.question }

// startTurn sets up an iteration's generated text in buf: gen0, or, when resume continues this
// iteration, a reasoning edit's text (the tokens generated before the edit are the sampler's
// offset; the edited text's tokens count as reasoning spent). The streamer's deltas go on after
// the edited text, which the front end already shows (EventEdit).
func (e *Engine) startTurn(buf *textBuf, it *Iteration, branchID int, gen0 string, resume *resumeState) (gen string, generated, reasonTok int, st *streamer, err error) {
	gen = buf.set(gen0)
	if resume != nil && resume.index == it.Index {
		gen, generated = buf.set(resume.generated), resume.tokens
		ids, err := e.model.Encode(gen)
		if err != nil {
			return "", 0, 0, nil, err
		}
		reasonTok = len(ids)
		it.Edited = resume.edited
	}
	st = &streamer{e: e, branch: branchID, iteration: it.Index, sent: map[Part]int{}}
	if it.Edited {
		st.sent[PartReasoning] = len(cleanReasoning(gen))
	}
	return gen, generated, reasonTok, st, nil
}

// statsInterval is how often stats events go out while an iteration streams: often enough that
// the front end's counters move with the tokens, seldom enough to cost nothing.
const statsInterval = 100 * time.Millisecond

// statsTicker emits a stats event at most every statsInterval while an iteration streams: the
// tokens so far, the reasoning tokens among them (what η bounds) and the rate over active time.
type statsTicker struct {
	e                 *Engine
	branch, iteration int
	clock             stopwatch
	reasoning         *int // the iteration's reasoning tokens so far
	last              time.Time
}

func (s *statsTicker) tick(generated int) {
	now := s.e.now()
	if now.Sub(s.last) < statsInterval {
		return
	}
	s.last = now
	ev := Event{Type: EventStats, Branch: s.branch, Iteration: s.iteration, Tokens: generated, ReasoningTokens: *s.reasoning}
	ev.Seconds, _ = s.clock.read()
	if ev.Seconds > 0 {
		ev.TokensPerSecond = float64(generated) / ev.Seconds
	}
	s.e.emit(ev)
}

// generateErr is how a Generate call that returned err ended, for the caller: the context's
// error when the run was stopped, err (named by what) when the model failed, nil when it ended
// normally or the engine stopped it.
func generateErr(ctx context.Context, err error, what string) error {
	if ctx.Err() != nil {
		return ctx.Err()
	}
	if err != nil && !errors.Is(err, errStopGeneration) {
		return fmt.Errorf("%s: %w", what, err)
	}
	return nil
}

// textBuf grows a string in place: add and set return the whole text without copying what was
// there before (strings.Builder never rewrites bytes it has handed out).
type textBuf struct{ b strings.Builder }

func (t *textBuf) add(s string) string { t.b.WriteString(s); return t.b.String() }

func (t *textBuf) set(s string) string {
	t.b = strings.Builder{}
	t.b.WriteString(s)
	return t.b.String()
}

// FormatBreak says where a native-mode run left the InftyThink+ layout so that the engine had to
// step in, "" when it never did: the model wrote no boundary within η, did not close its summary
// or end its conclusion within their bounds, had not concluded by φ, or put tags out of place.
// Such a run may still box the right answer; RL gives it no reward and bench counts it apart.
func FormatBreak(its []Iteration) string {
	for _, it := range its {
		var what string
		switch {
		case it.Malformed:
			what = "tags out of the layout"
		case it.ForcedBoundary:
			what = "no boundary within η"
		case it.SummaryTruncated:
			what = "summary not closed within its bound"
		case it.ForcedConclusion:
			what = "φ reached without a conclusion"
		case it.Truncated:
			what = "conclusion not ended within its bound"
		default:
			continue
		}
		return fmt.Sprintf("iteration %d: %s", it.Index, what)
	}
	return ""
}
