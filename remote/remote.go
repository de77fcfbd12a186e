// Package remote is an engine that drives an inference server — vLLM, SGLang, llama.cpp's
// server, Ollama, or another OpenAI-compatible server — as an llm.Model.
//
// It renders prompts with the model's own chat template and tokenizer (a local folder), so the
// prompt a session builds, and every token count it keeps for η, are exactly what the embedded
// runtime would use; without one, vLLM's and llama.cpp's tokenize and chat-template endpoints
// stand in for it, and the streamed text is the server's. It asks for completions, never chat:
// native InftyThink+ pre-fills the assistant turn, which a chat API cannot express.
//
// Where the server takes and returns token ids (vLLM and SGLang, llama.cpp's /completion), the
// prompt goes as ids and the generated ids come back; the text is decoded from them with the
// local tokenizer, so Result.Text is the decoding of Result.IDs and special tags such as
// </summary> survive whatever the server does with special tokens. Where the server speaks text
// only (Ollama, other OpenAI-compatible servers), each streamed text delta is one llm.Token
// whose ID is the delta's id when the delta is a single token and -1 otherwise, and Result.IDs
// is the local encoding of Result.Text: the ids the next prompt will carry.
//
// Stop strings are matched here, on the text as it streams, with the embedded runtime's rule
// (the token that completes a stop string is emitted, its text cut just after it). vLLM and
// SGLang are also told the stops, a single special token as a stop token id, so they stop
// generating at once and keep the stop in their output; the text-only servers and llama.cpp are
// not, because they trim a matched stop (or match it on text without special tokens), and the
// stream is closed here instead.
//
// A request that fails before its first byte (connection refused or reset, 429, 5xx, no byte
// within the stall timeout) is retried with exponential backoff and jitter; other 4xx are not.
// A stream cut after it began is resumed by sending the prompt and the tokens generated so far
// as a new prompt, a few times at most, so the caller sees one uninterrupted stream. A caller
// that holds a token longer than the stall timeout (a paused session) releases the stream, so
// that the server does not generate for nobody; it resumes the same way once the caller reads
// on. With temperature 0 a resumed stream is the same as an uncut one; with sampling it
// continues from the same text, but no server can continue the random stream
// (llm.Request.Offset is not sent).
package remote

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/infty-dev/infty/llm"
	"github.com/infty-dev/infty/runtime/chattemplate"
	"github.com/infty-dev/infty/runtime/genconfig"
	"github.com/infty-dev/infty/runtime/tokenizer"
)

// Flavour is the kind of server, as detected from what it answers.
type Flavour string

const (
	VLLM     Flavour = "vLLM"
	SGLang   Flavour = "SGLang"
	LlamaCpp Flavour = "llama.cpp"
	Ollama   Flavour = "Ollama"
	OpenAI   Flavour = "OpenAI-compatible"
)

// Options say which server and model to drive and how patiently.
type Options struct {
	URL    string // base URL, e.g. http://gpu1:8000 (a trailing /v1 is accepted)
	Model  string // served model name; empty picks the only one a server serves
	APIKey string // sent as a bearer token; never logged, never in an error
	// Tokenizer is a local folder with tokenizer.json and tokenizer_config.json of the served
	// model; "" uses the server's tokenize endpoints where it has them (vLLM, llama.cpp), else
	// Open fails with ErrNoTokenizer.
	Tokenizer string

	// HTTPClient is used for every request; nil uses a client of its own. Its Timeout should be
	// 0: a generation streams for as long as it takes, and StallTimeout bounds silence instead.
	HTTPClient *http.Client
	// StallTimeout is how long a request may go without a byte (waiting for the response, or
	// inside the stream) before it is abandoned and retried or resumed; 0 means 2 minutes, which
	// leaves room for a long prefill on a busy server.
	StallTimeout time.Duration
	// Retries bounds the retries of a request that failed before its response began; 0 means 4,
	// negative means none.
	Retries int
	// Resumes bounds how often one Generate resumes a stream cut after it began; 0 means 3,
	// negative means none.
	Resumes int
	// Backoff is the wait before the first retry, doubled for each further one (at most 30 s),
	// with jitter; 0 means 500 ms.
	Backoff time.Duration
	// Warn, when set, is told each warning once as it arises (see Engine.Warnings).
	Warn func(string)
}

// Engine is a model served by a remote server. It implements llm.Model, llm.ContextLimited,
// llm.SamplingDefaults and llm.Placed, and is safe for concurrent use: many generations may be
// in flight at once.
type Engine struct {
	base     string // URL without a trailing slash or /v1
	key      string
	name     string
	served   []string
	flavour  Flavour
	version  string
	ctxLen   int
	tok      *tokenizer.Tokenizer // nil when srv stands in for it
	tmpl     *chattemplate.Template
	srv      *serverTok
	eos      map[int]bool
	gen      *genconfig.Config
	client   *http.Client
	stall    time.Duration
	retries  int
	resumes  int
	backoff  time.Duration
	warnFunc func(string)
	// noRepeatPenalty: an Ollama model's Modelfile sets repeat_penalty 1, as greedy runs need.
	noRepeatPenalty bool

	mu       sync.Mutex
	warnings []string
}

var (
	_ llm.Model            = (*Engine)(nil)
	_ llm.ContextLimited   = (*Engine)(nil)
	_ llm.SamplingDefaults = (*Engine)(nil)
	_ llm.Placed           = (*Engine)(nil)
	_ llm.Remote           = (*Engine)(nil)
)

// Open loads the tokenizer and chat template, recognises the server at opts.URL and checks that
// it serves opts.Model.
func Open(ctx context.Context, opts Options) (*Engine, error) {
	base, err := baseURL(opts.URL)
	if err != nil {
		return nil, err
	}
	if opts.Tokenizer == "" {
		return openServerTok(ctx, base, opts)
	}
	tok, err := tokenizer.Load(opts.Tokenizer)
	if err != nil {
		return nil, fmt.Errorf("remote: %w", err)
	}
	tmpl, err := chattemplate.Load(opts.Tokenizer)
	if err != nil {
		return nil, fmt.Errorf("remote: %w", err)
	}
	// The folder's EOS ids end a generation as in the embedded runtime, and its
	// generation_config.json gives the default sampling when it is a whole model folder.
	gen, err := genconfig.Load(opts.Tokenizer)
	if err != nil {
		return nil, fmt.Errorf("remote: %w", err)
	}
	eos := map[int]bool{}
	for _, id := range genconfig.EndOfTurnIDs(nil, gen, tmpl.Special["eos_token"], tok) {
		eos[id] = true
	}
	e := newEngine(base, opts)
	e.tok, e.tmpl, e.eos, e.gen = tok, tmpl, eos, gen
	if err := e.detect(ctx); err != nil {
		return nil, err
	}
	if err := e.pickModel(ctx, opts.Model); err != nil {
		return nil, err
	}
	return e, nil
}

// openServerTok opens an engine that tokenizes and renders its prompts on the server.
func openServerTok(ctx context.Context, base string, opts Options) (*Engine, error) {
	e := newEngine(base, opts)
	e.gen = &genconfig.Config{} // greedy unless asked: the server's generation_config is not visible
	if err := e.detect(ctx); err != nil {
		return nil, err
	}
	if err := e.pickModel(ctx, opts.Model); err != nil {
		return nil, err
	}
	st, err := newServerTok(e)
	if err != nil {
		return nil, err
	}
	e.srv = st
	return e, nil
}

// newEngine is an engine for the server at base, before it is recognised.
func newEngine(base string, opts Options) *Engine {
	e := &Engine{
		base: base, key: opts.APIKey,
		client: opts.HTTPClient, stall: opts.StallTimeout, retries: opts.Retries, resumes: opts.Resumes,
		backoff: opts.Backoff, warnFunc: opts.Warn,
	}
	if e.client == nil {
		tr := http.DefaultTransport.(*http.Transport).Clone()
		tr.MaxIdleConnsPerHost = 256 // many generations in flight reuse their connections
		e.client = &http.Client{Transport: tr}
	}
	e.stall = orDefault(e.stall, 2*time.Minute)
	e.backoff = orDefault(e.backoff, 500*time.Millisecond)
	e.retries = countOrDefault(e.retries, 4)
	e.resumes = countOrDefault(e.resumes, 3)
	return e
}

// Info is what a server says about itself.
type Info struct {
	URL           string // without credentials
	Flavour       Flavour
	Version       string
	Served        []string
	Model         string // the model described: opts.Model, or the only one served; "" otherwise
	ContextLength int    // of Model, 0 when unknown
	Warnings      []string
}

// Describe recognises the server at opts.URL and lists what it serves, without a tokenizer (it
// generates nothing). With opts.Model empty and several models served, it describes none of
// them; a model it does not serve is ErrUnknownModel.
func Describe(ctx context.Context, opts Options) (Info, error) {
	base, err := baseURL(opts.URL)
	if err != nil {
		return Info{}, err
	}
	e := newEngine(base, opts)
	if err := e.detect(ctx); err != nil {
		return Info{}, err
	}
	if err := e.pickModel(ctx, opts.Model); err != nil && (opts.Model != "" || !errors.Is(err, ErrUnknownModel)) {
		return Info{}, err
	}
	return Info{URL: e.URL(), Flavour: e.flavour, Version: e.version, Served: e.Served(), Model: e.name,
		ContextLength: e.ctxLen, Warnings: e.Warnings()}, nil
}

func orDefault(d, def time.Duration) time.Duration {
	if d <= 0 {
		return def
	}
	return d
}

func countOrDefault(n, def int) int {
	switch {
	case n == 0:
		return def
	case n < 0:
		return 0
	}
	return n
}

// baseURL checks u and drops what an OpenAI client's base URL carries beyond the server's root.
func baseURL(u string) (string, error) {
	p, err := url.Parse(strings.TrimSpace(u))
	if err != nil || (p.Scheme != "http" && p.Scheme != "https") || p.Host == "" {
		return "", fmt.Errorf("remote: engine URL %q: want http://host:port", u)
	}
	p.Path = strings.TrimSuffix(strings.TrimSuffix(p.Path, "/"), "/v1")
	p.RawQuery, p.Fragment = "", ""
	return strings.TrimSuffix(p.String(), "/"), nil
}

// Name implements llm.Model: the served model's name.
func (e *Engine) Name() string { return e.name }

// Flavour is the kind of server.
func (e *Engine) Flavour() Flavour { return e.flavour }

// Version is the server's version as it reports it ("" when it does not).
func (e *Engine) Version() string { return e.version }

// URL is the server's base URL (without credentials).
func (e *Engine) URL() string { return redactURL(e.base) }

// Served lists the model names the server serves.
func (e *Engine) Served() []string { return append([]string(nil), e.served...) }

// ContextLength implements llm.ContextLimited: the window the server reports for the model, 0
// when it reports none.
func (e *Engine) ContextLength() int { return e.ctxLen }

// DefaultSampling implements llm.SamplingDefaults from the tokenizer folder's
// generation_config.json, read as the embedded runtime reads it (greedy without one).
func (e *Engine) DefaultSampling() llm.Sampling {
	s := e.gen.Sampling()
	return llm.Sampling{Temperature: s.Temperature, TopK: s.TopK, TopP: s.TopP}
}

// Placement implements llm.Placed.
func (e *Engine) Placement() llm.Placement {
	b := string(e.flavour)
	if e.version != "" {
		b += " " + e.version
	}
	return llm.Placement{Backend: b + " at " + e.URL(), Device: "remote"}
}

// Server implements llm.Remote.
func (e *Engine) Server() llm.Server {
	return llm.Server{URL: e.URL(), Kind: string(e.flavour), Model: e.name}
}

// Tokenizer is the local tokenizer prompts are encoded with; nil when the server encodes them.
func (e *Engine) Tokenizer() *tokenizer.Tokenizer { return e.tok }

// Warnings lists what the server cannot do as asked (a sampling setting it ignores, a context it
// does not report), each once, in the order they arose.
func (e *Engine) Warnings() []string {
	e.mu.Lock()
	defer e.mu.Unlock()
	return append([]string(nil), e.warnings...)
}

func (e *Engine) warn(msg string) {
	e.mu.Lock()
	for _, w := range e.warnings {
		if w == msg {
			e.mu.Unlock()
			return
		}
	}
	e.warnings = append(e.warnings, msg)
	e.mu.Unlock()
	if e.warnFunc != nil {
		e.warnFunc(msg)
	}
}

// RenderChat implements llm.Model with the model's own chat template (the server's, without a
// local tokenizer).
func (e *Engine) RenderChat(msgs []llm.Message, addGenerationPrompt bool) (string, error) {
	if e.srv != nil {
		return e.srv.render(context.Background(), msgs, addGenerationPrompt)
	}
	s, err := e.tmpl.Render(msgs, chattemplate.RenderOptions{AddGenerationPrompt: addGenerationPrompt})
	if err != nil {
		return "", fmt.Errorf("%s: chat template: %w", e.name, err)
	}
	return s, nil
}

// Encode implements llm.Model with the local tokenizer, else the server's.
func (e *Engine) Encode(text string) ([]int, error) { return e.encode(context.Background(), text) }

func (e *Engine) encode(ctx context.Context, text string) ([]int, error) {
	if e.srv != nil {
		return e.srv.encode(ctx, text)
	}
	return e.tok.Encode(text), nil
}

// Close releases the idle connections to the server; generations in flight are not affected.
func (e *Engine) Close() error {
	e.client.CloseIdleConnections()
	return nil
}
