// Package sessiontest provides a scripted stand-in for a language model that implements
// llm.Model: a pure function of the text it sees, the seed and the token index, so it
// behaves like a real model with a deterministic sampler (re-prefilling the same text with the
// same Offset continues exactly). Front ends and benchmarks use it to drive the engine without
// weights.
package sessiontest

import (
	"context"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/infty-dev/infty/llm"
	"github.com/infty-dev/infty/session"
	"github.com/infty-dev/infty/session/format"
)

// State is what a Policy sees before choosing the next token.
type State struct {
	Context string // the whole text: prompt (chat template, pre-fill) and everything generated
	Index   int    // index of the token to choose among generated tokens (Request.Offset included)
	Seed    uint64
}

// Assistant is the text of the last assistant turn in the context (pre-fill included).
func (s State) Assistant() string {
	const start = "<|im_start|>assistant\n"
	i := strings.LastIndex(s.Context, start)
	if i < 0 {
		return ""
	}
	return s.Context[i+len(start):]
}

// Policy chooses the next token's text; eos ends the generation.
type Policy func(State) (piece string, eos bool)

// Model is the scripted model.
type Model struct {
	name   string
	policy Policy
	// Delay is slept before each token (to let tests pause or kill mid-iteration).
	Delay time.Duration
	// Window, when positive, is the model's context length (llm.ContextLimited): a Generate
	// call whose prompt and MaxTokens together exceed it fails, as a real model's would.
	Window int
	// ThinkPrompt makes the template open the reasoning in the generation prompt (<think> and
	// a newline after the assistant header), as DeepSeek-R1 distills do.
	ThinkPrompt bool

	mu    sync.Mutex
	vocab map[string]int
	words []string
	seen  []string
	calls int
}

// New makes a scripted model.
func New(name string, p Policy) *Model {
	return &Model{name: name, policy: p, vocab: map[string]int{}}
}

// Name implements llm.Model.
func (m *Model) Name() string { return m.name }

// ContextLength implements llm.ContextLimited (0: no limit).
func (m *Model) ContextLength() int { return m.Window }

// RenderChat implements llm.Model with the ChatML template of the fixture models.
func (m *Model) RenderChat(msgs []llm.Message, addGenerationPrompt bool) (string, error) {
	var b strings.Builder
	for _, msg := range msgs {
		b.WriteString("<|im_start|>" + msg.Role + "\n" + msg.Content + "<|im_end|>\n")
	}
	if addGenerationPrompt {
		b.WriteString("<|im_start|>assistant\n")
		if m.ThinkPrompt {
			b.WriteString(format.ReasoningOpen)
		}
	}
	return b.String(), nil
}

// Specials are encoded as one token each: the ChatML markers and the tags of the layout.
var Specials = append([]string{"<|im_start|>", "<|im_end|>"}, format.Tags...)

func (m *Model) id(piece string) int {
	if id, ok := m.vocab[piece]; ok {
		return id
	}
	id := len(m.words)
	m.vocab[piece] = id
	m.words = append(m.words, piece)
	return id
}

// Encode implements llm.Model: special tags are single tokens, other text one token per
// character.
func (m *Model) Encode(text string) ([]int, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var ids []int
	for len(text) > 0 {
		matched := false
		for _, sp := range Specials {
			if strings.HasPrefix(text, sp) {
				ids = append(ids, m.id(sp))
				text = text[len(sp):]
				matched = true
				break
			}
		}
		if matched {
			continue
		}
		r := []rune(text)[0]
		ids = append(ids, m.id(string(r)))
		text = text[len(string(r)):]
	}
	return ids, nil
}

// Decode turns ids back into text.
func (m *Model) Decode(ids []int) (string, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var b strings.Builder
	for _, id := range ids {
		if id < 0 || id >= len(m.words) {
			return "", fmt.Errorf("sessiontest: unknown token id %d", id)
		}
		b.WriteString(m.words[id])
	}
	return b.String(), nil
}

// Seen returns the full text (prompt and generation) of every Generate call so far.
func (m *Model) Seen() []string {
	m.mu.Lock()
	defer m.mu.Unlock()
	return append([]string(nil), m.seen...)
}

// Calls is the number of Generate calls so far.
func (m *Model) Calls() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.calls
}

// Generate implements llm.Model.
func (m *Model) Generate(ctx context.Context, req llm.Request, yield func(llm.Token) error) (llm.Result, error) {
	if req.MaxTokens <= 0 {
		return llm.Result{}, fmt.Errorf("sessiontest: MaxTokens %d", req.MaxTokens)
	}
	if m.Window > 0 && len(req.Prompt)+req.MaxTokens > m.Window {
		return llm.Result{}, fmt.Errorf("sessiontest: prompt %d + max tokens %d overrun the window of %d", len(req.Prompt), req.MaxTokens, m.Window)
	}
	prompt, err := m.Decode(req.Prompt)
	if err != nil {
		return llm.Result{}, err
	}
	m.mu.Lock()
	m.calls++
	slot := len(m.seen)
	m.seen = append(m.seen, prompt)
	m.mu.Unlock()
	res := llm.Result{PromptTokens: len(req.Prompt), Reason: llm.StopBudget}
	gen := ""
	record := func() {
		m.mu.Lock()
		m.seen[slot] = prompt + gen
		m.mu.Unlock()
	}
	defer record()
	for i := 0; i < req.MaxTokens; i++ {
		if err := ctx.Err(); err != nil {
			res.Reason = llm.StopCanceled
			return res, err
		}
		if m.Delay > 0 {
			select {
			case <-time.After(m.Delay):
			case <-ctx.Done():
				res.Reason = llm.StopCanceled
				return res, ctx.Err()
			}
		}
		piece, eos := m.policy(State{Context: prompt + gen, Index: req.Offset + i, Seed: req.Sampling.Seed})
		if eos {
			res.Reason = llm.StopEOS
			return res, nil
		}
		m.mu.Lock()
		id := m.id(piece)
		m.mu.Unlock()
		from := len(gen)
		gen += piece
		res.IDs = append(res.IDs, id)
		res.Text = gen
		if err := yield(llm.Token{ID: id, Index: req.Offset + i, Text: piece}); err != nil {
			res.Reason = llm.StopCanceled
			return res, err
		}
		for _, s := range req.StopStrings {
			if s != "" && strings.Contains(gen[max(0, from-len(s)):], s) {
				res.Reason = llm.StopString
				return res, nil
			}
		}
	}
	return res, nil
}

// Word is the pseudo-random reasoning word for (seed, index): "x" and three digits.
func Word(seed uint64, index int) string {
	return fmt.Sprintf("x%03d", session.IterationSeed(seed, index)%1000)
}

var reIter = regexp.MustCompile(`\[it=(\d+)\]`)

// Iteration infers which iteration an InftyThink+ turn belongs to from the "[it=N]" marker the
// Script policy writes into its summaries: 1 without history, N+1 after summary N (2 when the
// history carries no marker, e.g. after an edit that dropped it).
func Iteration(assistant string) int {
	h, _, _ := format.SplitPrefill(assistant)
	if h == "" {
		return 1
	}
	if m := reIter.FindAllStringSubmatch(h, -1); m != nil {
		n, _ := strconv.Atoi(m[len(m)-1][1])
		return n + 1
	}
	return 2
}

// Body is an InftyThink+ assistant turn without its pre-filled <history> block: what the model
// wrote (or the engine inserted) in this iteration.
func Body(assistant string) string {
	_, body, _ := format.SplitPrefill(assistant)
	return body
}

// Script is a well-behaved InftyThink+ model: it reasons for Reason(i) words (paragraph breaks
// every ParagraphEvery words), then writes a summary "[it=i] y... " of SummaryWords words, or, at
// iteration ConcludeAt or when the engine opened a conclusion, "The answer is \boxed{Answer}.".
// Reason(i) < 0 never closes the reasoning; SummaryWords < 0 never closes the summary.
type Script struct {
	Reason         func(iteration int) int
	ConcludeAt     int
	SummaryWords   int
	Answer         string
	ParagraphEvery int
	// NoFinalNewline leaves out the newline after the conclusion.
	NoFinalNewline bool
}

// Policy turns the script into a Policy.
func (sc Script) Policy() Policy {
	return func(st State) (string, bool) {
		asst := st.Assistant()
		iter := Iteration(asst)
		body := Body(asst)
		switch body {
		case "":
			return format.ThinkOpen, false
		case format.ThinkOpen:
			return "\n", false
		}
		reasoning, rest, closed := strings.Cut(body, format.ThinkClose)
		if !closed {
			limit := -1
			if sc.Reason != nil {
				limit = sc.Reason(iter)
			}
			words := strings.Count(reasoning, "x")
			if limit >= 0 && words >= limit {
				if strings.HasSuffix(reasoning, "\n") && !strings.HasSuffix(reasoning, "\n\n") {
					return format.ThinkClose, false
				}
				return "\n", false
			}
			sep := " "
			if sc.ParagraphEvery > 0 && (words+1)%sc.ParagraphEvery == 0 {
				sep = "\n\n"
			}
			if words > 0 && strings.HasSuffix(reasoning, "\n") && !strings.HasSuffix(reasoning, "\n\n") {
				// after a forced or edited newline, start a fresh word
				sep = " "
			}
			return Word(st.Seed, st.Index) + sep, false
		}
		if rest == "" {
			if sc.ConcludeAt > 0 && iter >= sc.ConcludeAt {
				return "\n", false
			}
			return format.SummaryOpen, false
		}
		if strings.HasPrefix(rest, "\n") { // conclusion
			c := rest[1:]
			switch {
			case c == "":
				return "The answer is \\boxed{" + sc.Answer + "}.", false
			case strings.HasSuffix(c, "}.") && !sc.NoFinalNewline:
				return "\n", false
			default:
				return "", true
			}
		}
		s, ok := strings.CutPrefix(rest, format.SummaryOpen)
		if !ok {
			return "", true
		}
		if s == "" {
			return "\n", false
		}
		if strings.Contains(s, format.SummaryClose) {
			return "", true
		}
		words := strings.Count(s, "y")
		if s == "\n" {
			return fmt.Sprintf("[it=%d]", iter), false
		}
		if sc.SummaryWords >= 0 && words >= sc.SummaryWords {
			if strings.HasSuffix(s, "\n") {
				return format.SummaryClose, false
			}
			return "\n", false
		}
		return fmt.Sprintf(" y%d", words), false
	}
}
