// Package rtmodel adapts the runtime (a loaded model, its tokenizer and its chat template) to
// the session engine's Model seam. It lives under session because session depends on runtime,
// never the reverse.
package rtmodel

import (
	"context"
	"fmt"

	"github.com/infty-dev/infty/runtime"
	"github.com/infty-dev/infty/runtime/chattemplate"
	"github.com/infty-dev/infty/runtime/tokenizer"
	"github.com/infty-dev/infty/session"
)

// Model is a runtime model as a session.Model.
type Model struct {
	name string
	m    *runtime.Model
	tok  *tokenizer.Tokenizer
	tmpl *chattemplate.Template
	own  bool
}

var _ session.Model = (*Model)(nil)

// Load loads the model folder dir (already resolved) with its tokenizer and chat template;
// name is how logs will call it (the hub id or the folder the user gave).
func Load(dir, name string, opts ...runtime.Option) (*Model, error) {
	tok, err := tokenizer.Load(dir)
	if err != nil {
		return nil, err
	}
	tmpl, err := chattemplate.Load(dir)
	if err != nil {
		return nil, err
	}
	m, err := runtime.Load(dir, append(opts, runtime.WithoutTokenizer())...)
	if err != nil {
		return nil, err
	}
	out := New(name, m, tok, tmpl)
	out.own = true
	return out, nil
}

// New wraps an already loaded model, tokenizer and template. It installs the tokenizer's
// streaming detokenizer on m, so generated tokens carry their text.
func New(name string, m *runtime.Model, tok *tokenizer.Tokenizer, tmpl *chattemplate.Template) *Model {
	m.SetDetokenizer(func() runtime.Detokenizer { return tok.NewStream() })
	return &Model{name: name, m: m, tok: tok, tmpl: tmpl}
}

// Name implements session.Model.
func (r *Model) Name() string { return r.name }

// Runtime is the wrapped runtime model.
func (r *Model) Runtime() *runtime.Model { return r.m }

// ContextLength is the model's max_position_embeddings (0 when config.json does not say): the
// engine refuses a run whose iterations cannot fit it and keeps each iteration inside it.
func (r *Model) ContextLength() int { return r.m.Config.MaxPositions }

var _ session.ContextLimited = (*Model)(nil)

// DefaultSampling is the decoding the model's generation_config.json asks for, read as
// transformers reads it: greedy unless it sets do_sample (so greedy for a model without one).
func (r *Model) DefaultSampling() runtime.Sampling {
	if r.m.Generation == nil {
		return runtime.Sampling{}
	}
	s := r.m.Generation.Sampling()
	return runtime.Sampling{Temperature: s.Temperature, TopK: s.TopK, TopP: s.TopP}
}

// Tokenizer is the wrapped tokenizer.
func (r *Model) Tokenizer() *tokenizer.Tokenizer { return r.tok }

// RenderChat implements session.Model with the model's own chat template.
func (r *Model) RenderChat(msgs []session.Message, addGenerationPrompt bool) (string, error) {
	cm := make([]chattemplate.Message, len(msgs))
	for i, m := range msgs {
		cm[i] = chattemplate.Message{Role: m.Role, Content: m.Content}
	}
	s, err := r.tmpl.Render(cm, chattemplate.RenderOptions{AddGenerationPrompt: addGenerationPrompt})
	if err != nil {
		return "", fmt.Errorf("%s: chat template: %w", r.name, err)
	}
	return s, nil
}

// Encode implements session.Model.
func (r *Model) Encode(text string) ([]int, error) { return r.tok.Encode(text), nil }

// Generate implements session.Model.
func (r *Model) Generate(ctx context.Context, req runtime.Request, yield func(runtime.Token) error) (runtime.Result, error) {
	return r.m.Generate(ctx, req, yield)
}

// Close releases the model when Load created it.
func (r *Model) Close() error {
	if r.own {
		return r.m.Close()
	}
	return nil
}
