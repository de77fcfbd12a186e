package session

import (
	"context"
	"fmt"
	"strings"

	"github.com/infty-dev/infty/llm"
	"github.com/infty-dev/infty/session/format"
)

// scaffoldConclusion is appended when a scaffolded model must conclude at φ.
const scaffoldConclusion = "\n" + format.ThinkClose + "\n\n"

// cleanReasoning drops the <think> and newline a reasoning model (or its template) may open with.
func cleanReasoning(s string) string {
	s = strings.TrimPrefix(s, format.ThinkOpen)
	return strings.TrimPrefix(s, "\n")
}

// ScaffoldPrompt is the reasoner's prompt for iteration index in scaffold mode: the question
// alone, then [user q][assistant s_(i-1)][user continue].
func ScaffoldPrompt(m llm.Model, question, history string, index int, cont string) (string, error) {
	msgs := []llm.Message{{Role: "user", Content: question}}
	if index > 1 {
		msgs = append(msgs, llm.Message{Role: "assistant", Content: history}, llm.Message{Role: "user", Content: cont})
	}
	return m.RenderChat(msgs, true)
}

// SummarizerMessages are the cold-start summarizer's turns (DESIGN.md §1).
func SummarizerMessages(p Prompts, question, history, reasoning string, index int) []llm.Message {
	if index <= 1 {
		return []llm.Message{{Role: "user", Content: question}, {Role: "assistant", Content: reasoning}, {Role: "user", Content: p.Step1}}
	}
	return []llm.Message{{Role: "user", Content: question}, {Role: "assistant", Content: history}, {Role: "user", Content: p.Continue},
		{Role: "assistant", Content: reasoning}, {Role: "user", Content: p.Step2}}
}

// cutAtParagraph cuts reasoning at the last "\n\n" (the reasoning before it is kept); reasoning
// without a paragraph break is kept whole.
func cutAtParagraph(s string) string {
	if k := strings.LastIndex(s, "\n\n"); k > 0 {
		return s[:k]
	}
	return s
}

// scaffoldIteration runs iteration index for a model not trained in the InftyThink+ layout.
func (e *Engine) scaffoldIteration(ctx context.Context, b *branch, index int, history string, resume *resumeState) (Iteration, *reasoningEdit, error) {
	cfg := e.cfg
	clock := e.stopwatch()
	it := Iteration{Index: index, History: history, Seed: IterationSeed(cfg.Sampling.Seed, index)}
	prompt, err := ScaffoldPrompt(e.model, e.question, history, index, cfg.ContinuePrompt)
	if err != nil {
		return it, nil, fmt.Errorf("chat template: %w", err)
	}
	var buf textBuf
	gen, generated, reasonTok, st, err := e.startTurn(&buf, &it, b.id, "", resume)
	if err != nil {
		return it, nil, err
	}
	concTok := 0
	thinkAt, scanFrom := -1, 0 // where "</think>" starts once seen; no "</think>" starts before scanFrom
	split := func() (reasoning, conclusion string, closed bool) {
		if thinkAt < 0 {
			if i := strings.Index(gen[scanFrom:], format.ThinkClose); i >= 0 {
				thinkAt = scanFrom + i
			} else {
				scanFrom = max(0, len(gen)-len(format.ThinkClose))
			}
		}
		if thinkAt < 0 {
			// Hold back a partial "</think>" so deltas only ever extend.
			return cleanReasoning(gen[:len(gen)-heldBackTag(gen, format.ThinkClose)]), "", false
		}
		return cleanReasoning(gen[:thinkAt]), strings.TrimLeft(gen[thinkAt+len(format.ThinkClose):], "\n"), true
	}
	publish := func() {
		r, c, closed := split()
		part := PartReasoning
		if closed {
			part = PartConclusion
		}
		e.setPartial(&Partial{Index: index, History: history, Reasoning: r, Conclusion: c, Part: part, Tokens: generated})
		st.update(format.Parsed{Reasoning: r, Conclusion: c})
	}
	publish()
	sampling := cfg.Sampling
	sampling.Seed = it.Seed
	forcedConclusion := false
	// With a known context window, the reasoning of iteration φ stops early enough that the
	// forced conclusion fits after it; other iterations may reason up to the window's end.
	reserve, window := 0, llm.ContextLength(e.model) > 0
	if window && index >= cfg.Phi {
		tags, err := tagTokens(e.model, scaffoldConclusion)
		if err != nil {
			return it, nil, fmt.Errorf("encode prompt: %w", err)
		}
		reserve = tags + cfg.ConclusionMax
	}
	for {
		_, _, closed := split()
		var budget int
		if closed {
			budget = cfg.ConclusionMax - concTok
		} else {
			budget = cfg.Eta - reasonTok + cfg.ConclusionMax
		}
		ids, room, err := e.encodeTurn(prompt+gen, index)
		if err != nil {
			return it, nil, err
		}
		budget = min(budget, room)
		eta, concMax := cfg.Eta, cfg.ConclusionMax // less when the window is nearly full
		if window && closed {
			concMax = min(concMax, concTok+room)
		} else if window {
			eta = min(eta, reasonTok+room-reserve)
		}
		var edit *reasoningEdit
		var act stopAction
		var gerr error
		stats := statsTicker{e: e, branch: b.id, iteration: index, clock: clock, reasoning: &reasonTok}
		if !closed && reasonTok >= eta {
			// The window holds no more reasoning: cut here.
			act = actForceBoundary
		} else {
			_, gerr = generate(ctx, e.model, llm.Request{Prompt: ids, MaxTokens: max(budget, 1), Sampling: sampling, Offset: generated},
				func(tok llm.Token) error {
					if err := e.gateToken(ctx, &edit, &act); err != nil {
						return err
					}
					_, _, wasClosed := split()
					if wasClosed {
						concTok++
					} else {
						reasonTok++
					}
					generated++
					gen = buf.add(tok.Text)
					publish()
					stats.tick(generated)
					_, _, closed := split()
					switch {
					case !closed && reasonTok >= eta:
						act = actForceBoundary
					case closed && concTok >= concMax:
						act = actConclusionBound
					}
					if act != actNone {
						return errStopGeneration
					}
					return nil
				})
		}
		if act == actEdit {
			return it, edit, nil
		}
		if err := generateErr(ctx, gerr, fmt.Sprintf("generate (iteration %d)", index)); err != nil {
			return it, nil, err
		}
		r, c, closed := split()
		if closed || act == actConclusionBound {
			it.Reasoning = strings.TrimSuffix(r, "\n")
			it.Conclusion = strings.TrimSpace(c)
			it.Final, it.Truncated, it.ForcedConclusion = true, act == actConclusionBound, forcedConclusion
			break
		}
		if act == actNone && reasonTok < eta {
			// EOS without </think>: the model ended; what it wrote is all there is.
			it.Reasoning, it.Final, it.Malformed = strings.TrimSuffix(r, "\n"), true, true
			break
		}
		if index >= cfg.Phi {
			gen = buf.add(scaffoldConclusion)
			forcedConclusion = true
			continue
		}
		it.Reasoning = cutAtParagraph(r)
		it.ForcedBoundary = true
		break
	}
	it.Tokens = generated
	if !it.Final {
		e.emit(Event{Type: EventReasoning, Branch: b.id, Iteration: index, Part: PartReasoning, Text: it.Reasoning})
		s, tokens, truncated, err := e.summarize(ctx, b.id, index, history, it.Reasoning, it.Seed)
		if err != nil {
			return it, nil, err
		}
		it.Summary, it.SummaryTokens, it.SummaryTruncated = s, tokens, truncated
	}
	it.Seconds, it.WallSeconds = clock.read()
	return it, nil, nil
}

// summarize has the summarizer write the cumulative summary after reasoning r_i, streaming
// summary deltas. A summarizer that thinks first (<think>…</think>) gets up to η tokens of
// thought beyond the summary bound; only the text after </think> is the summary.
func (e *Engine) summarize(ctx context.Context, branchID, index int, history, reasoning string, seed uint64) (string, int, bool, error) {
	return Summarize(ctx, e.summarizer, e.prompts(), e.question, history, reasoning, index, e.cfg, seed^0x5355_4d4d_4152_5953,
		func(ctx context.Context) error { _, err := e.gateNoEdit(ctx); return err },
		func(delta string) {
			e.emit(Event{Type: EventDelta, Branch: branchID, Iteration: index, Part: PartSummary, Text: delta})
		})
}

func (e *Engine) prompts() Prompts {
	return Prompts{Step1: e.cfg.Step1Prompt, Step2: e.cfg.Step2Prompt, Continue: e.cfg.ContinuePrompt}
}

// gateNoEdit honours pause during summarization; an edit made meanwhile is refused.
func (e *Engine) gateNoEdit(ctx context.Context) (*reasoningEdit, error) {
	ed, err := e.gate(ctx)
	if ed != nil {
		ed.reply <- ErrNotReasoning
	}
	return nil, err
}

// Summarize runs the cold-start summarizer once. gate (optional) is called before each token;
// onDelta (optional) sees the summary as it grows.
func Summarize(ctx context.Context, m llm.Model, p Prompts, question, history, reasoning string, index int, cfg Config, seed uint64,
	gate func(context.Context) error, onDelta func(string)) (string, int, bool, error) {
	prompt, err := m.RenderChat(SummarizerMessages(p, question, history, reasoning, index), true)
	if err != nil {
		return "", 0, false, fmt.Errorf("summarizer chat template: %w", err)
	}
	ids, err := m.Encode(prompt)
	if err != nil {
		return "", 0, false, fmt.Errorf("summarizer encode: %w", err)
	}
	room, err := roomLeft(m, len(ids), fmt.Sprintf("summarizer (iteration %d)", index))
	if err != nil {
		return "", 0, false, err
	}
	maxTokens := min(cfg.SummaryMax+cfg.Eta, room)
	sampling := cfg.Sampling
	sampling.Seed = seed
	var buf textBuf
	var gen string
	tokens, sumTok, sent := 0, 0, 0
	thinking := false
	truncated := false
	// A template may open the summarizer's reasoning itself (R1 distills end the generation
	// prompt with format.ReasoningOpen): then everything up to </think> is thought, not summary.
	thinkOpen := strings.HasSuffix(prompt, format.ReasoningOpen)
	body := func() (string, bool) {
		if thinkOpen || strings.HasPrefix(gen, format.ThinkOpen) {
			_, after, ok := strings.Cut(gen, format.ThinkClose)
			return strings.TrimLeft(after, "\n"), ok
		}
		if strings.HasPrefix(format.ThinkOpen, gen) {
			return "", false
		}
		return gen, true
	}
	_, gerr := generate(ctx, m, llm.Request{Prompt: ids, MaxTokens: maxTokens, Sampling: sampling},
		func(tok llm.Token) error {
			if gate != nil {
				if err := gate(ctx); err != nil {
					return err
				}
			}
			tokens++
			gen = buf.add(tok.Text)
			s, ok := body()
			thinking = !ok
			if ok {
				sumTok++
				if onDelta != nil && len(s) > sent {
					onDelta(s[sent:])
					sent = len(s)
				}
			}
			if (ok && sumTok >= cfg.SummaryMax) || (!ok && tokens >= cfg.Eta+cfg.SummaryMax) || tokens >= room {
				truncated = true
				return errStopGeneration
			}
			return nil
		})
	if err := generateErr(ctx, gerr, fmt.Sprintf("summarizer (iteration %d)", index)); err != nil {
		return "", tokens, false, err
	}
	s, _ := body()
	if thinking {
		s = cleanReasoning(gen) // never closed its thought: keep what it wrote
	}
	return strings.TrimSpace(s), tokens, truncated, nil
}

// heldBackTag is the length of the longest suffix of s that is a proper prefix of tag.
func heldBackTag(s, tag string) int {
	for n := min(len(tag)-1, len(s)); n > 0; n-- {
		if strings.HasSuffix(s, tag[:n]) {
			return n
		}
	}
	return 0
}
