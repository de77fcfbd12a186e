package session

import (
	"errors"
	"fmt"
	"unicode/utf8"

	"github.com/infty-dev/infty/llm"
	"github.com/infty-dev/infty/session/format"
)

// ErrContextWindow is wrapped by the errors of a run that cannot fit the model's context window.
var ErrContextWindow = errors.New("context window too small")

// tokenCount is the number of tokens of text under m's tokenizer.
func tokenCount(m llm.Model, text string) (int, error) {
	ids, err := m.Encode(text)
	return len(ids), err
}

// tagTokens bounds the tokens of the text the engine inserts into a turn and feeds back (the
// forced boundary or conclusion), plus one for a tokenization that merges across the seam.
func tagTokens(m llm.Model, tags ...string) (int, error) {
	n := 0
	for _, t := range tags {
		k, err := tokenCount(m, t)
		if err != nil {
			return 0, err
		}
		n = max(n, k)
	}
	return n + 1, nil
}

// windowNeed is one model's worst-case iteration, in tokens.
type windowNeed struct {
	model            string
	window           int
	prompt, history  int
	eta, bound, tags int
}

func (w windowNeed) total() int { return w.prompt + w.history + w.eta + w.bound + w.tags }

func (w windowNeed) check() error {
	if w.window <= 0 || w.total() <= w.window {
		return nil
	}
	return fmt.Errorf("session: %w: %s attends to %d tokens, but an iteration may need %d: question prompt %d + history up to %d + η %d + summary/conclusion bound %d + %d for the engine's tags; lower η (--eta) or the bounds (--summary-max, --conclusion-max)",
		ErrContextWindow, w.model, w.window, w.total(), w.prompt, w.history, w.eta, w.bound, w.tags)
}

// checkWindow refuses a question whose worst-case iteration cannot fit the reasoner's (and, in
// scaffold mode, the summarizer's) context window: the question's prompt, a pre-filled history
// as long as the summary bound, η tokens of reasoning and the summary or conclusion bound.
func (e *Engine) checkWindow(question string) (err error) {
	// The model's template and tokenizer run on the caller's goroutine here: a panic in them is
	// an error of Start, not a crash of the front end.
	defer func() {
		if r := recover(); r != nil {
			recovered(r, "the context window check", &err)
		}
	}()
	cfg := e.cfg
	history := 0
	if cfg.Phi > 1 {
		history = cfg.SummaryMax
	}
	if n := llm.ContextLength(e.model); n > 0 {
		need := windowNeed{model: safeName(e.model), window: n, history: history, eta: cfg.Eta}
		var prompt string
		var err error
		if cfg.Mode == ModeScaffold {
			index := 1
			if cfg.Phi > 1 {
				index = 2 // the later iterations' prompt holds the history and the continue request
			}
			prompt, err = ScaffoldPrompt(e.model, question, "", index, cfg.ContinuePrompt)
			need.bound = cfg.ConclusionMax
		} else {
			prompt, err = e.model.RenderChat([]llm.Message{{Role: "user", Content: question}}, true)
			prompt += format.Prefill(2, "")
			need.bound = max(cfg.SummaryMax, cfg.ConclusionMax)
		}
		if err != nil {
			return fmt.Errorf("chat template: %w", err)
		}
		if need.prompt, err = tokenCount(e.model, prompt); err != nil {
			return fmt.Errorf("encode prompt: %w", err)
		}
		if need.tags, err = tagTokens(e.model, format.ForcedBoundary, format.ForcedConclusion, scaffoldConclusion); err != nil {
			return fmt.Errorf("encode prompt: %w", err)
		}
		if err := need.check(); err != nil {
			return err
		}
	}
	if cfg.Mode != ModeScaffold || cfg.Phi < 2 {
		return nil
	}
	return CheckSummarizerWindow(e.summarizer, cfg, question)
}

// CheckSummarizerWindow refuses a summarizer whose context window cannot hold its worst-case
// turn under cfg: the summarizer prompt with question, a history as long as the summary bound,
// η tokens of reasoning and the summary it writes. Curate calls it before logging anything (with
// an empty question for the check that holds for every trace).
func CheckSummarizerWindow(m llm.Model, cfg Config, question string) error {
	need, err := summarizerNeed(m, cfg, question)
	if err != nil {
		return err
	}
	return need.check()
}

// SummarizerEtaLimit is the largest η whose summaries m's window can hold under cfg's other
// bounds (negative when not even the prompt fits; 1<<30 when m has no known window).
func SummarizerEtaLimit(m llm.Model, cfg Config) (int, error) {
	need, err := summarizerNeed(m, cfg, "")
	if err != nil || need.window <= 0 {
		return 1 << 30, err
	}
	return need.window - (need.total() - need.eta), nil
}

// summarizerNeed is the summarizer's worst-case turn (window 0 when m has none).
func summarizerNeed(m llm.Model, cfg Config, question string) (need windowNeed, err error) {
	defer func() {
		if r := recover(); r != nil {
			recovered(r, "the summarizer's context window check", &err)
		}
	}()
	cfg = cfg.withDefaults()
	need = windowNeed{model: safeName(m), window: llm.ContextLength(m), history: cfg.SummaryMax, eta: cfg.Eta, bound: cfg.SummaryMax, tags: 1}
	if need.window <= 0 {
		return need, nil
	}
	p := Prompts{Step1: cfg.Step1Prompt, Step2: cfg.Step2Prompt, Continue: cfg.ContinuePrompt}
	prompt, err := m.RenderChat(SummarizerMessages(p, question, "", "", 2), true)
	if err != nil {
		return need, fmt.Errorf("summarizer chat template: %w", err)
	}
	if need.prompt, err = tokenCount(m, prompt); err != nil {
		return need, fmt.Errorf("summarizer encode: %w", err)
	}
	return need, nil
}

// roomLeft is how many tokens m may still generate after a prompt of n tokens (a large number
// when m has no known window), or an error when the prompt fills the window.
func roomLeft(m llm.Model, n int, what string) (int, error) {
	w := llm.ContextLength(m)
	if w <= 0 {
		return 1 << 30, nil
	}
	if room := w - n; room >= 1 {
		return room, nil
	}
	return 0, fmt.Errorf("%s: %w: the prompt (%d tokens) fills the %d tokens %s attends to", what, ErrContextWindow, n, w, safeName(m))
}

// encodeTurn encodes the reasoner's prompt and turn so far for iteration index, with the room
// its window leaves for generation.
func (e *Engine) encodeTurn(text string, index int) ([]int, int, error) {
	ids, err := e.model.Encode(text)
	if err != nil {
		return nil, 0, fmt.Errorf("encode prompt: %w", err)
	}
	room, err := roomLeft(e.model, len(ids), fmt.Sprintf("iteration %d", index))
	return ids, room, err
}

// fitReasoning cuts the tail of a turn's text gen (never before byte keep) until the prompt, gen
// and reserve more tokens fit m's window. Re-encoding a turn may take more tokens than were
// generated (byte-level pieces that merge differently), so the cut is measured by encoding, not
// estimated. gen comes back unchanged when it fits or m has no known window.
func fitReasoning(m llm.Model, prompt, gen string, keep, reserve int) (string, error) {
	w := llm.ContextLength(m)
	if w <= 0 {
		return gen, nil
	}
	fits := func(n int) (bool, error) {
		ids, err := m.Encode(prompt + gen[:n])
		return len(ids)+reserve <= w, err
	}
	if ok, err := fits(len(gen)); ok || err != nil {
		return gen, err
	}
	lo, hi := keep, len(gen)-1 // the longest prefix that fits is in [keep, hi]
	for lo < hi {
		mid := (lo + hi + 1) / 2
		ok, err := fits(mid)
		if err != nil {
			return gen, err
		}
		if ok {
			lo = mid
		} else {
			hi = mid - 1
		}
	}
	for lo > keep && !utf8.RuneStart(gen[lo]) {
		lo--
	}
	return gen[:lo], nil
}
