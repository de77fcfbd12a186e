package runtime

import (
	"context"
	"fmt"

	"github.com/infty-dev/infty/llm"
	"github.com/infty-dev/infty/runtime/backend"
	"github.com/infty-dev/infty/runtime/genconfig"
	"github.com/infty-dev/infty/runtime/tokenizer"
)

// Engine is the embedded engine: a loaded model with its tokenizer and chat template, as the
// model contract (llm.Model) describes it.
type Engine struct {
	name string
	m    *Model
	chat *Chat
	own  bool
}

var (
	_ llm.Model            = (*Engine)(nil)
	_ llm.ContextLimited   = (*Engine)(nil)
	_ llm.SamplingDefaults = (*Engine)(nil)
	_ llm.Placed           = (*Engine)(nil)
)

// Open loads the model folder dir (already resolved) with its tokenizer and chat template;
// name is how logs will call it (the hub id or the folder the user gave).
func Open(dir, name string, opts ...Option) (*Engine, error) {
	chat, err := LoadChat(dir)
	if err != nil {
		return nil, err
	}
	m, err := Load(dir, opts...)
	if err != nil {
		return nil, err
	}
	out, err := NewEngine(name, m, chat)
	if err != nil {
		m.Close()
		return nil, err
	}
	out.own = true
	return out, nil
}

// NewEngine wraps a model (loaded, or made FromWeights) with its folder's tokenizer and
// template. It installs the tokenizer's streaming detokenizer on m, so generated tokens carry
// their text, and adds the tokenizer's eos_token to m's end-of-turn ids (genconfig.EndOfTurnIDs).
func NewEngine(name string, m *Model, chat *Chat) (*Engine, error) {
	// A token id past the embedding would index outside it when the model reads the prompt.
	if n := chat.Tok.VocabSize(); n > m.Config.Vocab {
		return nil, fmt.Errorf("%s: the tokenizer has token ids up to %d, beyond the model's vocab_size %d in config.json", m.Dir, n-1, m.Config.Vocab)
	}
	if err := m.setEOS(genconfig.EndOfTurnIDs(m.Config.EOS, m.Generation, chat.Tmpl.Special["eos_token"], chat.Tok)); err != nil {
		return nil, err
	}
	m.SetDetokenizer(func() Detokenizer { return chat.Tok.NewStream() })
	return &Engine{name: name, m: m, chat: chat}, nil
}

// Name implements llm.Model.
func (r *Engine) Name() string { return r.name }

// Runtime is the wrapped runtime model.
func (r *Engine) Runtime() *Model { return r.m }

// ContextLength is the model's max_position_embeddings (0 when config.json does not say): the
// session engine refuses a run whose iterations cannot fit it and keeps each iteration inside it.
func (r *Engine) ContextLength() int { return r.m.Config.MaxPositions }

// DefaultSampling is the decoding the model's generation_config.json asks for, read as
// transformers reads it: greedy unless it sets do_sample (so greedy for a model without one).
func (r *Engine) DefaultSampling() llm.Sampling {
	if r.m.Generation == nil {
		return llm.Sampling{}
	}
	s := r.m.Generation.Sampling()
	return llm.Sampling{Temperature: s.Temperature, TopK: s.TopK, TopP: s.TopP}
}

// Placement names the compute backend and its device.
func (r *Engine) Placement() llm.Placement {
	return llm.Placement{Backend: backend.Describe(r.m.Backend())}
}

// Tokenizer is the wrapped tokenizer.
func (r *Engine) Tokenizer() *tokenizer.Tokenizer { return r.chat.Tok }

// RenderChat implements llm.Model with the model's own chat template.
func (r *Engine) RenderChat(msgs []llm.Message, addGenerationPrompt bool) (string, error) {
	s, err := r.chat.RenderChat(msgs, addGenerationPrompt)
	if err != nil {
		return "", fmt.Errorf("%s: chat template: %w", r.name, err)
	}
	return s, nil
}

// Encode implements llm.Model.
func (r *Engine) Encode(text string) ([]int, error) { return r.chat.Encode(text) }

// Generate implements llm.Model.
func (r *Engine) Generate(ctx context.Context, req llm.Request, yield func(llm.Token) error) (llm.Result, error) {
	return r.m.Generate(ctx, req, yield)
}

// Close releases the model when Open loaded it.
func (r *Engine) Close() error {
	if r.own {
		return r.m.Close()
	}
	return nil
}
