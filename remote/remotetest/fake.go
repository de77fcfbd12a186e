// Package remotetest is a loopback stand-in for the inference servers package remote drives. It
// answers each server's detection endpoints and streams completions in that server's wire format
// (vLLM's and Ollama's /v1/completions SSE, SGLang's /generate, llama.cpp's /completion), from a
// deterministic text policy over a real tokenizer, and it can refuse, delay and cut requests.
// vLLM and llama.cpp also tokenize, detokenize and apply the chat template as theirs do.
package remotetest

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/infty-dev/infty/llm"
	"github.com/infty-dev/infty/runtime/chattemplate"
	"github.com/infty-dev/infty/runtime/tokenizer"
)

// Kind is the server a fake plays.
type Kind string

const (
	VLLM     Kind = "vllm"
	SGLang   Kind = "sglang"
	LlamaCpp Kind = "llamacpp"
	Ollama   Kind = "ollama"
	OpenAI   Kind = "openai" // a plain OpenAI-compatible server
)

// Kinds lists every kind.
var Kinds = []Kind{VLLM, SGLang, LlamaCpp, Ollama, OpenAI}

// Policy chooses the next piece of text from everything the model sees (prompt and generation
// so far), the index of the piece in this request and the request's seed; eos ends the
// generation. The fake streams each piece as the tokens the tokenizer encodes it to.
type Policy func(context string, index int, seed uint64) (piece string, eos bool)

// Resumable makes a policy that writes whole pieces continue a piece that a cut stream or a
// released one left unfinished, as a model continuing from token ids would: when the text ends
// inside a piece the policy writes from a few bytes back, the rest of that piece comes next.
func Resumable(p Policy) Policy {
	return func(ctx string, index int, seed uint64) (string, bool) {
		for k := 1; k <= 16 && k < len(ctx); k++ {
			if piece, eos := p(ctx[:len(ctx)-k], index, seed); !eos && len(piece) > k && strings.HasPrefix(piece, ctx[len(ctx)-k:]) {
				return piece[k:], false
			}
		}
		return p(ctx, index, seed)
	}
}

// Config describes a fake server.
type Config struct {
	Kind      Kind
	Tokenizer string // folder with tokenizer.json
	Policy    Policy
	Model     string        // served name
	Key       string        // API key it demands; empty: none
	Context   int           // context length it enforces and reports
	Delay     time.Duration // before each token
	// OldVLLM plays a vLLM from before return_token_ids: ids come only as log-prob tokens.
	OldVLLM bool
	// EOS is the token the model ends with; empty: <|im_end|>.
	EOS string
	// RepeatPenalty, when set, is a PARAMETER of the Ollama model's Modelfile.
	RepeatPenalty float64
}

// Fault is how the fake mistreats one completion request.
type Fault struct {
	Status    int           // answer with this status and the server's error shape
	Delay     time.Duration // wait before the response's first byte
	CutAfter  int           // drop the connection after streaming this many tokens
	FailAfter int           // send an error event after streaming this many tokens
}

// Server is a running fake.
type Server struct {
	URL string

	cfg Config
	srv *httptest.Server
	tok *tokenizer.Tokenizer
	eos int

	mu       sync.Mutex
	faults   []Fault
	requests []map[string]any
	gone     int
	calls    map[string]int
}

// New starts a fake on a loopback port; it stops when the test ends.
func New(tb testing.TB, cfg Config) *Server {
	tb.Helper()
	tok, err := tokenizer.Load(cfg.Tokenizer)
	if err != nil {
		tb.Fatal(err)
	}
	if cfg.EOS == "" {
		cfg.EOS = "<|im_end|>"
	}
	eos, ok := tok.TokenToID(cfg.EOS)
	if !ok {
		tb.Fatalf("remotetest: the tokenizer has no %s", cfg.EOS)
	}
	s := &Server{cfg: cfg, tok: tok, eos: eos, calls: map[string]int{}}
	s.srv = httptest.NewServer(http.HandlerFunc(s.serve))
	tb.Cleanup(s.srv.Close)
	s.URL = s.srv.URL
	return s
}

// Close stops the server, as a crash would: connections to it are refused from now on.
func (s *Server) Close() { s.srv.Close() }

// Fail queues faults for the next completion requests, one each.
func (s *Server) Fail(f ...Fault) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults = append(s.faults, f...)
}

// Requests returns the JSON bodies of the completion requests so far.
func (s *Server) Requests() []map[string]any {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.requests)
}

// Calls counts the requests for route ("POST /tokenize") so far.
func (s *Server) Calls(route string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.calls[route]
}

// Gone counts the streams whose client went away before the generation ended.
func (s *Server) Gone() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.gone
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	if s.cfg.Key != "" && r.Header.Get("Authorization") != "Bearer "+s.cfg.Key {
		writeJSON(w, http.StatusUnauthorized, map[string]any{"error": "Unauthorized"})
		return
	}
	k, m := s.cfg.Kind, s.cfg.Model
	route := r.Method + " " + r.URL.Path
	s.mu.Lock()
	s.calls[route]++
	s.mu.Unlock()
	switch {
	case route == "GET /v1/models":
		model := map[string]any{"id": m, "object": "model", "created": 0, "owned_by": map[Kind]string{VLLM: "vllm", SGLang: "sglang", LlamaCpp: "llamacpp", Ollama: "library", OpenAI: "system"}[k]}
		if k == VLLM || k == SGLang {
			model["max_model_len"] = s.cfg.Context
		}
		if k == Ollama {
			model["id"] = m + ":latest"
		}
		writeJSON(w, 200, map[string]any{"object": "list", "data": []any{model}})
	case k == VLLM && route == "GET /version":
		writeJSON(w, 200, map[string]any{"version": "0.11.0"})
	case k == SGLang && route == "GET /get_model_info":
		writeJSON(w, 200, map[string]any{"model_path": m, "tokenizer_path": m, "is_generation": true})
	case k == SGLang && route == "GET /get_server_info":
		writeJSON(w, 200, map[string]any{"version": "0.5.4", "context_length": nil, "model_path": m})
	case k == LlamaCpp && route == "GET /props":
		writeJSON(w, 200, map[string]any{"default_generation_settings": map[string]any{"n_ctx": s.cfg.Context}, "total_slots": 1, "model_path": "/models/" + m + ".gguf", "build_info": "b6000-fake"})
	case k == Ollama && route == "GET /api/version":
		writeJSON(w, 200, map[string]any{"version": "0.17.4"})
	case k == Ollama && route == "POST /api/show":
		params := ""
		if s.cfg.Context > 0 {
			params = fmt.Sprintf("num_ctx                        %d\ntemperature                    0", s.cfg.Context)
		}
		if s.cfg.RepeatPenalty != 0 {
			params += fmt.Sprintf("\nrepeat_penalty                 %g", s.cfg.RepeatPenalty)
		}
		writeJSON(w, 200, map[string]any{"parameters": params, "model_info": map[string]any{"qwen3.context_length": 40960}})
	case (k == VLLM || k == Ollama || k == OpenAI) && route == "POST /v1/completions",
		k == SGLang && route == "POST /generate",
		k == LlamaCpp && route == "POST /completion":
		s.complete(w, r)
	case (k == VLLM || k == LlamaCpp) && route == "POST /tokenize",
		(k == VLLM || k == LlamaCpp) && route == "POST /detokenize",
		k == LlamaCpp && route == "POST /apply-template":
		s.tokenize(w, r, route)
	default:
		writeJSON(w, http.StatusNotFound, map[string]any{"detail": "Not Found"})
	}
}

// tokenizeRequest is the body of vLLM's /tokenize (a prompt, or messages for its chat template)
// and /detokenize, and of llama.cpp's /tokenize, /detokenize and /apply-template.
type tokenizeRequest struct {
	Model        string        `json:"model"`
	Prompt       *string       `json:"prompt"`
	Messages     []llm.Message `json:"messages"`
	AddGenPrompt *bool         `json:"add_generation_prompt"`
	AddSpecial   *bool         `json:"add_special_tokens"`
	Content      *string       `json:"content"`
	LlamaSpecial *bool         `json:"add_special"`
	ParseSpecial *bool         `json:"parse_special"`
	Tokens       []int         `json:"tokens"`
}

// tokenize answers the tokenizer endpoints. The fixture tokenizer adds no BOS, so add_special
// changes nothing, but a request that does not turn it off is refused, as a real server would
// add one for many models.
func (s *Server) tokenize(w http.ResponseWriter, r *http.Request, route string) {
	var req tokenizeRequest
	if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
		s.fail(w, 400, "body: "+err.Error())
		return
	}
	vllm := s.cfg.Kind == VLLM
	if vllm && req.Model != s.cfg.Model {
		s.fail(w, 404, fmt.Sprintf("The model `%s` does not exist.", req.Model))
		return
	}
	switch route {
	case "POST /detokenize":
		text := s.tok.Decode(req.Tokens)
		if vllm {
			writeJSON(w, 200, map[string]any{"prompt": text})
		} else {
			writeJSON(w, 200, map[string]any{"content": text})
		}
	case "POST /apply-template": // llama.cpp: always with the generation prompt
		text, err := s.render(req.Messages, true)
		if err != nil {
			s.fail(w, 500, err.Error())
			return
		}
		writeJSON(w, 200, map[string]any{"prompt": text})
	default:
		var text string
		switch {
		case vllm && req.Messages != nil:
			// vLLM's chat form: add_generation_prompt defaults to true, add_special_tokens to false.
			var err error
			if text, err = s.render(req.Messages, req.AddGenPrompt == nil || *req.AddGenPrompt); err != nil {
				s.fail(w, 400, err.Error())
				return
			}
		case vllm && req.Prompt != nil && req.AddSpecial != nil && !*req.AddSpecial:
			text = *req.Prompt
		case !vllm && req.Content != nil && req.LlamaSpecial != nil && !*req.LlamaSpecial && req.ParseSpecial != nil && *req.ParseSpecial:
			text = *req.Content
		default:
			s.fail(w, 400, "the fake wants a prompt with special tokens parsed and none added")
			return
		}
		ids := s.tok.Encode(text)
		if vllm {
			writeJSON(w, 200, map[string]any{"count": len(ids), "max_model_len": s.cfg.Context, "tokens": ids})
		} else {
			writeJSON(w, 200, map[string]any{"tokens": ids})
		}
	}
}

// render applies the fixture folder's chat template.
func (s *Server) render(msgs []llm.Message, addGenerationPrompt bool) (string, error) {
	t, err := chattemplate.Load(s.cfg.Tokenizer)
	if err != nil {
		return "", err
	}
	return t.Render(msgs, chattemplate.RenderOptions{AddGenerationPrompt: addGenerationPrompt})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}

// fail answers with the kind's error shape.
func (s *Server) fail(w http.ResponseWriter, status int, msg string) {
	switch s.cfg.Kind {
	case VLLM, SGLang:
		writeJSON(w, status, map[string]any{"object": "error", "message": msg, "type": "BadRequestError", "param": nil, "code": status})
	case LlamaCpp:
		writeJSON(w, status, map[string]any{"error": map[string]any{"code": status, "message": msg, "type": "invalid_request_error"}})
	default:
		writeJSON(w, status, map[string]any{"error": map[string]any{"message": msg, "type": "api_error", "param": nil, "code": nil}})
	}
}

// request is the union of the completion requests' fields the fake reads.
type request struct {
	Model       string   `json:"model"`
	Prompt      any      `json:"prompt"`
	InputIDs    []int    `json:"input_ids"`
	MaxTokens   int      `json:"max_tokens"`
	NPredict    int      `json:"n_predict"`
	Temperature float64  `json:"temperature"`
	Seed        uint64   `json:"seed"`
	Stop        []string `json:"stop"`
	StopIDs     []int    `json:"stop_token_ids"`
	// vLLM's and SGLang's flags, with their servers' defaults.
	SkipSpecial    *bool `json:"skip_special_tokens"`
	IncludeStop    bool  `json:"include_stop_str_in_output"`
	NoStopTrim     bool  `json:"no_stop_trim"`
	ReturnTokenIDs bool  `json:"return_token_ids"`
	Logprobs       *int  `json:"logprobs"`
	TokensAsIDs    bool  `json:"return_tokens_as_token_ids"`
	ReturnTokens   bool  `json:"return_tokens"`
	Params         *struct {
		MaxNewTokens int      `json:"max_new_tokens"`
		Stop         []string `json:"stop"`
		StopIDs      []int    `json:"stop_token_ids"`
		SkipSpecial  *bool    `json:"skip_special_tokens"`
		NoStopTrim   bool     `json:"no_stop_trim"`
	} `json:"sampling_params"`
}

func (s *Server) complete(w http.ResponseWriter, r *http.Request) {
	var raw map[string]any
	var req request
	dec := json.NewDecoder(r.Body)
	dec.UseNumber()
	if err := dec.Decode(&raw); err != nil {
		s.fail(w, 400, "body: "+err.Error())
		return
	}
	b, _ := json.Marshal(raw)
	dec = json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	if err := dec.Decode(&req); err != nil {
		s.fail(w, 400, err.Error())
		return
	}
	if p := req.Params; p != nil { // SGLang nests its sampling parameters
		req.MaxTokens, req.Stop, req.StopIDs, req.SkipSpecial, req.NoStopTrim = p.MaxNewTokens, p.Stop, p.StopIDs, p.SkipSpecial, p.NoStopTrim
	}
	req.MaxTokens = max(req.MaxTokens, req.NPredict)
	s.mu.Lock()
	s.requests = append(s.requests, raw)
	var fault Fault
	if len(s.faults) > 0 {
		fault, s.faults = s.faults[0], s.faults[1:]
	}
	s.mu.Unlock()

	if fault.Status != 0 {
		s.fail(w, fault.Status, http.StatusText(fault.Status))
		return
	}
	if !wait(r.Context(), fault.Delay) {
		return
	}
	k := s.cfg.Kind
	if (k == VLLM || k == OpenAI) && req.Model != s.cfg.Model || k == Ollama && req.Model != s.cfg.Model && req.Model != s.cfg.Model+":latest" {
		s.fail(w, 404, fmt.Sprintf("The model `%s` does not exist.", req.Model))
		return
	}
	var prompt string
	var promptIDs []int
	switch p := req.Prompt.(type) {
	case string:
		if k != Ollama && k != OpenAI {
			s.fail(w, 400, "the fake wants token ids")
			return
		}
		prompt, promptIDs = p, s.tok.Encode(p)
	case []any:
		for _, v := range p {
			id, err := v.(json.Number).Int64()
			if err != nil {
				s.fail(w, 400, "prompt: "+err.Error())
				return
			}
			promptIDs = append(promptIDs, int(id))
		}
	}
	if k == SGLang {
		promptIDs = req.InputIDs
	}
	if prompt == "" {
		prompt = s.tok.Decode(promptIDs)
	}
	if s.cfg.Context > 0 && len(promptIDs)+req.MaxTokens > s.cfg.Context {
		s.fail(w, 400, fmt.Sprintf("This model's maximum context length is %d tokens. However, you requested %d tokens (%d in the messages, %d in the completion). Please reduce the length of the messages or completion.",
			s.cfg.Context, len(promptIDs)+req.MaxTokens, len(promptIDs), req.MaxTokens))
		return
	}
	w.Header().Set("Content-Type", "text/event-stream")
	w.WriteHeader(200)
	st := &stream{s: s, w: w, req: &req, promptIDs: len(promptIDs), tdec: s.tok.NewStream()}
	if !st.run(r.Context(), prompt, fault) {
		s.mu.Lock()
		s.gone++
		s.mu.Unlock()
	}
}

func wait(ctx context.Context, d time.Duration) bool {
	if d <= 0 {
		return ctx.Err() == nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}

// stream is one streamed answer.
type stream struct {
	s         *Server
	w         http.ResponseWriter
	req       *request
	promptIDs int
	tdec      *tokenizer.Stream
	ids       []int
	text      strings.Builder // as the server shows it (special tokens skipped where asked)
	cum       string          // SGLang's cumulative text as sent
}

// run generates and streams; false means the client went away first.
func (st *stream) run(ctx context.Context, prompt string, fault Fault) bool {
	gen := ""
	for i := 0; ; i++ {
		if !wait(ctx, st.s.cfg.Delay) {
			return false
		}
		piece, eos := st.s.cfg.Policy(prompt+gen, i, st.req.Seed)
		if eos {
			return st.finish(st.s.eos)
		}
		for _, id := range st.s.tok.Encode(piece) {
			st.ids = append(st.ids, id)
			text := st.tdec.Push(id)
			if st.s.tok.IsAdded(id) && st.skipSpecial() {
				text = ""
			}
			before := st.text.Len()
			st.text.WriteString(text)
			var reason string
			var matched any
			switch {
			case slices.Contains(st.req.StopIDs, id):
				reason, matched = "stop", id
			case st.stopString(before) != "":
				reason, matched = "stop", st.stopString(before)
			case len(st.ids) >= st.req.MaxTokens:
				reason = "length"
			}
			if reason == "stop" && !st.req.IncludeStop && !st.req.NoStopTrim {
				if s, ok := matched.(string); ok {
					text = strings.TrimSuffix(text, s)
				}
			}
			if !st.token(id, text, reason, matched) {
				return false
			}
			if reason != "" {
				return st.done()
			}
			if fault.CutAfter > 0 && len(st.ids) == fault.CutAfter {
				panic(http.ErrAbortHandler) // the connection drops mid-stream
			}
			if fault.FailAfter > 0 && len(st.ids) == fault.FailAfter {
				return st.streamError("engine dead")
			}
		}
		gen += piece
	}
}

// skipSpecial is whether the text leaves out special tokens: by default in vLLM and SGLang, always
// in llama.cpp's content; Ollama and the plain server show them.
func (st *stream) skipSpecial() bool {
	switch st.s.cfg.Kind {
	case Ollama, OpenAI:
		return false
	case LlamaCpp:
		return true
	}
	return st.req.SkipSpecial == nil || *st.req.SkipSpecial
}

// stopString is the stop string that the text as shown completes after offset before, if any:
// as in vLLM, a special token the server skips cannot complete one.
func (st *stream) stopString(before int) string {
	t := st.text.String()
	for _, s := range st.req.Stop {
		if s != "" && strings.Contains(t[max(0, before-len(s)+1):], s) {
			return s
		}
	}
	return ""
}

// token writes one token's event; reason, when set, ends the generation in the same event
// (vLLM, SGLang) or in a closing one (llama.cpp, the text servers).
func (st *stream) token(id int, text, reason string, matched any) bool {
	m := st.s.cfg.Model
	switch st.s.cfg.Kind {
	case VLLM:
		choice := map[string]any{"index": 0, "text": text, "logprobs": nil, "finish_reason": nil, "stop_reason": nil}
		if reason != "" {
			choice["finish_reason"], choice["stop_reason"] = reason, matched
		}
		if st.req.ReturnTokenIDs && !st.s.cfg.OldVLLM {
			choice["token_ids"] = []int{id}
		}
		if st.req.Logprobs != nil {
			tok := st.s.tok.Decode([]int{id})
			if st.req.TokensAsIDs {
				tok = fmt.Sprintf("token_id:%d", id)
			}
			choice["logprobs"] = map[string]any{"tokens": []string{tok}, "token_logprobs": []float64{-0.5}, "top_logprobs": []any{map[string]any{}}, "text_offset": []int{0}}
		}
		return st.event(map[string]any{"id": "cmpl-fake", "object": "text_completion", "created": 0, "model": m, "choices": []any{choice}})
	case SGLang:
		st.cum += text
		var fin any
		switch reason {
		case "length":
			fin = map[string]any{"type": "length", "length": st.req.MaxTokens}
		case "stop":
			fin = map[string]any{"type": "stop", "matched": matched}
		}
		return st.event(map[string]any{"text": st.cum, "output_ids": st.ids, "meta_info": map[string]any{"id": "fake", "finish_reason": fin, "prompt_tokens": st.promptIDs, "completion_tokens": len(st.ids)}})
	case LlamaCpp:
		ev := map[string]any{"index": 0, "content": text, "stop": false, "id_slot": 0, "tokens_predicted": len(st.ids), "tokens_evaluated": st.promptIDs}
		if st.req.ReturnTokens {
			ev["tokens"] = []int{id}
		}
		if !st.event(ev) {
			return false
		}
		if reason != "" {
			return st.llamaStop(map[string]string{"length": "limit", "stop": "word"}[reason])
		}
		return true
	default:
		if text != "" && !st.event(textEvent(m, text, nil)) {
			return false
		}
		if reason != "" {
			return st.event(textEvent(m, "", reason))
		}
		return true
	}
}

func textEvent(model, text string, finish any) map[string]any {
	return map[string]any{"id": "cmpl-fake", "object": "text_completion", "created": 0, "model": model, "system_fingerprint": "fp_ollama",
		"choices": []any{map[string]any{"text": text, "index": 0, "finish_reason": finish}}}
}

func (st *stream) llamaStop(stopType string) bool {
	return st.event(map[string]any{"index": 0, "content": "", "tokens": []int{}, "stop": true, "id_slot": 0, "stop_type": stopType, "stopping_word": "",
		"tokens_predicted": len(st.ids), "tokens_evaluated": st.promptIDs, "timings": map[string]any{"predicted_n": len(st.ids)}})
}

// finish ends a generation on the model's EOS the way each server reports it.
func (st *stream) finish(eos int) bool {
	switch st.s.cfg.Kind {
	case VLLM:
		// vLLM streams the EOS id; its text shows only when special tokens are kept and stops
		// included.
		text := ""
		if !st.skipSpecial() && st.req.IncludeStop {
			text = st.s.tok.Decode([]int{eos})
		}
		st.ids = append(st.ids, eos)
		if !st.token(eos, text, "stop", nil) {
			return false
		}
	case SGLang:
		st.ids = append(st.ids, eos)
		if !st.token(eos, "", "stop", eos) {
			return false
		}
	case LlamaCpp:
		return st.llamaStop("eos")
	default:
		if !st.event(textEvent(st.s.cfg.Model, "", "stop")) {
			return false
		}
	}
	return st.done()
}

// streamError reports a failure inside a stream that already began, in the server's shape.
func (st *stream) streamError(msg string) bool {
	if st.s.cfg.Kind == VLLM || st.s.cfg.Kind == SGLang {
		return st.event(map[string]any{"object": "error", "message": msg, "type": "InternalServerError", "param": nil, "code": 500})
	}
	return st.event(map[string]any{"error": map[string]any{"code": 500, "message": msg, "type": "server_error"}})
}

// done closes the stream: [DONE] where the server sends it.
func (st *stream) done() bool {
	if st.s.cfg.Kind == LlamaCpp {
		return true
	}
	_, err := fmt.Fprint(st.w, "data: [DONE]\n\n")
	st.w.(http.Flusher).Flush()
	return err == nil
}

func (st *stream) event(v any) bool {
	b, _ := json.Marshal(v)
	if _, err := fmt.Fprintf(st.w, "data: %s\n\n", b); err != nil {
		return false
	}
	st.w.(http.Flusher).Flush()
	return true
}
