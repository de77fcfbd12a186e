package remote

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"unicode/utf8"

	"github.com/infty-dev/infty/llm"
)

// ErrNoTokenizer is an engine opened without a local tokenizer on a server that has no tokenize
// endpoint to stand in for it (SGLang, Ollama, other OpenAI-compatible servers).
var ErrNoTokenizer = errors.New("no tokenize endpoint")

// encodeCacheSize bounds the texts whose encodings are kept: a session encodes the same prompts
// and prefixes again at every step, and each miss is a round trip to the server.
const encodeCacheSize = 4096

// serverTok stands in for the local tokenizer and chat template with the server's own endpoints:
// vLLM's /tokenize and /detokenize (text or messages), llama.cpp's /tokenize, /detokenize and
// /apply-template. Generated text then comes from the server's text deltas.
type serverTok struct {
	e *Engine

	mu     sync.Mutex
	enc    map[string][]int
	pieces map[int]string // the text of one id, for deltas a server leaves empty
}

// canTokenize reports a server with tokenize endpoints infty can use instead of a local
// tokenizer.
func (f Flavour) canTokenize() bool { return f == VLLM || f == LlamaCpp }

func newServerTok(e *Engine) (*serverTok, error) {
	if !e.flavour.canTokenize() {
		return nil, fmt.Errorf("remote: %s at %s has %w to count tokens and render the chat template with: pass a tokenizer folder", e.flavour, e.URL(), ErrNoTokenizer)
	}
	return &serverTok{e: e, enc: map[string][]int{}, pieces: map[int]string{}}, nil
}

// post sends one JSON request to the server and decodes its 200 answer.
func (s *serverTok) post(ctx context.Context, path string, body, v any) error {
	status, err := s.e.call(ctx, "POST", path, body, v)
	if err != nil {
		return err
	}
	if status != http.StatusOK {
		return fmt.Errorf("%s%s answered %d", s.e.URL(), path, status)
	}
	return nil
}

func (s *serverTok) cached(text string) ([]int, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	ids, ok := s.enc[text]
	return ids, ok
}

func (s *serverTok) remember(text string, ids []int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.enc) >= encodeCacheSize {
		clear(s.enc) // a new run of prompts; the old ones are rarely asked for again
	}
	s.enc[text] = ids
}

// encode tokenizes text with special tokens parsed and none added, as the local tokenizer does.
func (s *serverTok) encode(ctx context.Context, text string) ([]int, error) {
	if ids, ok := s.cached(text); ok {
		return ids, nil
	}
	var out struct {
		Tokens []int `json:"tokens"`
	}
	var body any
	switch s.e.flavour {
	case VLLM:
		body = map[string]any{"model": s.e.name, "prompt": text, "add_special_tokens": false}
	default:
		body = map[string]any{"content": text, "add_special": false, "parse_special": true}
	}
	if err := s.post(ctx, "/tokenize", body, &out); err != nil {
		return nil, fmt.Errorf("%s: tokenize: %w", s.e.name, err)
	}
	if out.Tokens == nil {
		out.Tokens = []int{}
	}
	s.remember(text, out.Tokens)
	return out.Tokens, nil
}

// decode is the text of ids, special tokens spelled out.
func (s *serverTok) decode(ctx context.Context, ids []int) (string, error) {
	var out struct {
		Prompt  *string `json:"prompt"`  // vLLM
		Content *string `json:"content"` // llama.cpp
	}
	body := map[string]any{"tokens": ids}
	if s.e.flavour == VLLM {
		body["model"] = s.e.name
	}
	if err := s.post(ctx, "/detokenize", body, &out); err != nil {
		return "", fmt.Errorf("%s: detokenize: %w", s.e.name, err)
	}
	switch {
	case out.Prompt != nil:
		return *out.Prompt, nil
	case out.Content != nil:
		return *out.Content, nil
	}
	return "", fmt.Errorf("%s: %s/detokenize: %w: no text in the answer", s.e.name, s.e.URL(), errNotJSON)
}

// piece is the text of one generated id whose delta the server left empty: llama.cpp leaves
// special tokens out of its text unless started with --special. A piece that is part of a
// character (byte-level tokens) reads as "": the server shows the character with a later token.
func (s *serverTok) piece(ctx context.Context, id int) (string, error) {
	s.mu.Lock()
	p, ok := s.pieces[id]
	s.mu.Unlock()
	if ok {
		return p, nil
	}
	p, err := s.decode(ctx, []int{id})
	if err != nil {
		return "", err
	}
	if !utf8.ValidString(p) || strings.ContainsRune(p, utf8.RuneError) {
		p = ""
	}
	s.mu.Lock()
	s.pieces[id] = p
	s.mu.Unlock()
	return p, nil
}

// render applies the served model's chat template on the server.
func (s *serverTok) render(ctx context.Context, msgs []llm.Message, addGenerationPrompt bool) (string, error) {
	if s.e.flavour == LlamaCpp {
		// /apply-template always ends with the assistant's turn opened.
		if !addGenerationPrompt {
			return "", fmt.Errorf("%s: llama.cpp's /apply-template cannot render a chat without the generation prompt: pass a tokenizer folder", s.e.name)
		}
		var out struct {
			Prompt *string `json:"prompt"`
		}
		if err := s.post(ctx, "/apply-template", map[string]any{"messages": msgs}, &out); err != nil {
			return "", fmt.Errorf("%s: chat template: %w", s.e.name, err)
		}
		if out.Prompt == nil {
			return "", fmt.Errorf("%s: %s/apply-template: %w: no prompt in the answer", s.e.name, s.e.URL(), errNotJSON)
		}
		return *out.Prompt, nil
	}
	var out struct {
		Tokens []int `json:"tokens"`
	}
	body := map[string]any{"model": s.e.name, "messages": msgs, "add_generation_prompt": addGenerationPrompt, "add_special_tokens": false}
	if err := s.post(ctx, "/tokenize", body, &out); err != nil {
		return "", fmt.Errorf("%s: chat template: %w", s.e.name, err)
	}
	return s.decode(ctx, out.Tokens)
}
