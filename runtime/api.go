// Package runtime knows models and nothing about iterations: it loads a Hugging Face Qwen2/Qwen3
// folder, runs the transformer in GoMLX with a KV cache, samples, and streams tokens for a prompt
// under a context.Context. The session engine sees only the types in this file.
package runtime

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
