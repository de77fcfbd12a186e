// Package llm is the model contract: what every engine (the embedded runtime, a remote inference
// server, a scripted test model) offers and everything above the engines (the session engine,
// the trajectory log, the export, the workbench) asks for. It imports nothing beyond the
// standard library, so the layers above compile without GoMLX.
package llm

import (
	"context"
	"strings"
)

// Sampling chooses the next token. Temperature 0 is greedy; TopK 0 and TopP 0 or 1 are off.
// The random draw for the k-th generated token depends only on (Seed, k), so a generation that
// is stopped and restarted with Request.Offset = k continues with the same draws.
type Sampling struct {
	Temperature float64 `json:"temperature"`
	TopK        int     `json:"top_k,omitempty"`
	TopP        float64 `json:"top_p,omitempty"`
	Seed        uint64  `json:"seed"`
}

// StopReason says why a generation ended.
type StopReason string

const (
	StopEOS      StopReason = "eos"      // an end-of-sequence id was sampled (it is not emitted)
	StopString   StopReason = "stop"     // a stop string appeared in the text (emitted up to and including it)
	StopBudget   StopReason = "budget"   // MaxTokens were generated
	StopCanceled StopReason = "canceled" // the context was canceled or the callback returned an error
)

// Request is one generation.
type Request struct {
	Prompt      []int    // token ids of the whole prompt, chat template already applied
	MaxTokens   int      // budget of generated tokens; must be > 0
	Sampling    Sampling // how to choose tokens
	StopStrings []string // generation stops once the decoded text contains one of these
	Offset      int      // index of the first generated token for the sampler's random stream
}

// Token is one generated token as it streams out.
type Token struct {
	ID    int    // token id
	Index int    // 0-based index among generated tokens (Offset included)
	Text  string // newly completed UTF-8 text; may be empty while a character is split across tokens
	// LogProb is the natural log of the token's probability under the model's own
	// distribution, softmax of the raw logits (before temperature, top-k and top-p), as a
	// policy-gradient trainer needs it. The embedded runtime fills it; the remote engines
	// leave it 0, since they ask their servers for no log-probabilities.
	LogProb float64
}

// Result summarises a finished generation.
type Result struct {
	IDs            []int      `json:"ids"`
	Text           string     `json:"text"`
	Reason         StopReason `json:"reason"`
	PromptTokens   int        `json:"prompt_tokens"`
	PrefillSeconds float64    `json:"prefill_seconds"`
	DecodeSeconds  float64    `json:"decode_seconds"`
}

// Message is one chat turn handed to a model's chat template, and one turn of a training
// conversation.
type Message struct {
	Role    string `json:"role"` // "user", "assistant", "system"
	Content string `json:"content"`
}

// Model is a model as the layers above the engines see it: its chat template, its tokenizer and
// token streaming.
type Model interface {
	// Name identifies the model in logs (a hub id, a folder, a served model's name).
	Name() string
	// RenderChat applies the chat template; with addGenerationPrompt the text ends where the
	// assistant's turn begins.
	RenderChat(msgs []Message, addGenerationPrompt bool) (string, error)
	// Encode turns text (special tokens included) into token ids.
	Encode(text string) ([]int, error)
	// Generate streams tokens for req.Prompt until EOS, a stop string, req.MaxTokens, the
	// context's end, or until yield returns an error.
	Generate(ctx context.Context, req Request, yield func(Token) error) (Result, error)
}

// ContextLimited is an optional Model capability: how many token positions the model attends to,
// prompt and generation together. A model without it, or that reports 0, has no known limit.
type ContextLimited interface {
	ContextLength() int
}

// ContextLength is m's window, 0 when unknown.
func ContextLength(m Model) int {
	if c, ok := m.(ContextLimited); ok {
		return max(c.ContextLength(), 0)
	}
	return 0
}

// SamplingDefaults is an optional Model capability: the decoding the model's authors ask for
// (generation_config.json), used when the user names no sampling setting.
type SamplingDefaults interface {
	DefaultSampling() Sampling
}

// Placement says where a model runs, as a status bar shows it.
type Placement struct {
	Backend string `json:"backend,omitempty"` // "go", "xla:cuda", "http://host:8000 (vLLM)", …
	Device  string `json:"device,omitempty"`  // "cpu", "NVIDIA H200", …
}

// Placed is an optional Model capability: where it runs.
type Placed interface {
	Placement() Placement
}

// Server names the inference server a model is served by, as logs record it.
type Server struct {
	URL   string `json:"url"`             // base URL, without credentials
	Kind  string `json:"kind"`            // "vLLM", "SGLang", "llama.cpp", "Ollama", "OpenAI-compatible"
	Model string `json:"model,omitempty"` // the served model's name
}

// Remote is an optional Model capability: a model served by another process, which it names.
type Remote interface {
	Server() Server
}

// ServerOf is the server m is served by, nil for a model that runs in this process.
func ServerOf(m Model) *Server {
	if r, ok := m.(Remote); ok {
		s := r.Server()
		return &s
	}
	return nil
}

// StopEnd is the rule every engine applies to Request.StopStrings, so that a run stops at the
// same place on any of them: the end offset in text of the earliest stop string that ends after
// offset from (the text before it was already checked), or -1.
func StopEnd(text string, stops []string, from int) int {
	best := -1
	for _, s := range stops {
		if s == "" {
			continue
		}
		lo := max(0, from-len(s)+1)
		if i := strings.Index(text[lo:], s); i >= 0 {
			if end := lo + i + len(s); best < 0 || end < best {
				best = end
			}
		}
	}
	return best
}
