package remote

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"

	"github.com/infty-dev/infty/llm"
)

// takesIDs reports a server whose completion endpoint takes the prompt as token ids.
func (f Flavour) takesIDs() bool { return f == VLLM || f == SGLang || f == LlamaCpp }

// vllmRequest is vLLM's /v1/completions with its extra sampling parameters.
type vllmRequest struct {
	Model        string   `json:"model"`
	Prompt       []int    `json:"prompt"`
	MaxTokens    int      `json:"max_tokens"`
	Temperature  float64  `json:"temperature"`
	TopP         float64  `json:"top_p,omitempty"`
	TopK         int      `json:"top_k,omitempty"`
	Seed         int64    `json:"seed"`
	Stream       bool     `json:"stream"`
	Stop         []string `json:"stop,omitempty"`
	StopTokenIDs []int    `json:"stop_token_ids,omitempty"`
	// Special tokens stay in the text, and a stop in the output, so the tags survive.
	IncludeStop   bool `json:"include_stop_str_in_output"`
	SkipSpecial   bool `json:"skip_special_tokens"`
	SpacesBetween bool `json:"spaces_between_special_tokens"`
	// Ids come back as choices[].token_ids (newer vLLM) or as "token_id:N" log-prob tokens of
	// the sampled token (older vLLM, which ignores return_token_ids).
	ReturnTokenIDs bool `json:"return_token_ids"`
	Logprobs       int  `json:"logprobs"`
	TokensAsIDs    bool `json:"return_tokens_as_token_ids"`
}

// sglangRequest is SGLang's native /generate: it takes input ids and streams output ids.
type sglangRequest struct {
	InputIDs []int          `json:"input_ids"`
	Stream   bool           `json:"stream"`
	Params   sglangSampling `json:"sampling_params"`
}

type sglangSampling struct {
	MaxNewTokens  int      `json:"max_new_tokens"`
	Temperature   float64  `json:"temperature"`
	TopP          float64  `json:"top_p,omitempty"`
	TopK          int      `json:"top_k,omitempty"`
	Stop          []string `json:"stop,omitempty"`
	StopTokenIDs  []int    `json:"stop_token_ids,omitempty"`
	SkipSpecial   bool     `json:"skip_special_tokens"`
	SpacesBetween bool     `json:"spaces_between_special_tokens"`
	NoStopTrim    bool     `json:"no_stop_trim"`
}

// llamaRequest is llama.cpp's native /completion. Its samplers default to top_k 40, top_p 0.95
// and min_p 0.05, so each is set to what llm.Sampling means.
type llamaRequest struct {
	Prompt        []int   `json:"prompt"`
	NPredict      int     `json:"n_predict"`
	Temperature   float64 `json:"temperature"`
	TopK          int     `json:"top_k"`
	TopP          float64 `json:"top_p"`
	MinP          float64 `json:"min_p"`
	RepeatPenalty float64 `json:"repeat_penalty"`
	Seed          uint32  `json:"seed"`
	Stream        bool    `json:"stream"`
	CachePrompt   bool    `json:"cache_prompt"`
	ReturnTokens  bool    `json:"return_tokens"`
}

// textRequest is the OpenAI completions request of the text-only servers.
type textRequest struct {
	Model       string  `json:"model"`
	Prompt      string  `json:"prompt"`
	MaxTokens   int     `json:"max_tokens"`
	Temperature float64 `json:"temperature"`
	TopP        float64 `json:"top_p,omitempty"`
	Seed        int64   `json:"seed"`
	Stream      bool    `json:"stream"`
}

// request builds the next attempt's request: the rest of the generation after what streamed.
func (e *Engine) request(g *gen) (path string, body []byte, st *attemptState, err error) {
	ids, text := g.continuation()
	rest := g.req.MaxTokens - g.n
	s := g.req.Sampling
	topP := 0.0
	if s.TopP > 0 && s.TopP < 1 {
		topP = s.TopP
	}
	st = &attemptState{stopIDs: map[int]bool{}}
	var v any
	switch e.flavour {
	case VLLM:
		stops, stopIDs, err := e.splitStops(g.ctx, g.req.StopStrings, st)
		if err != nil {
			return "", nil, nil, err
		}
		path = "/v1/completions"
		v = vllmRequest{Model: e.name, Prompt: ids, MaxTokens: rest, Temperature: s.Temperature, TopP: topP, TopK: max(s.TopK, 0),
			Seed: seed63(s.Seed), Stream: true, Stop: stops, StopTokenIDs: stopIDs, IncludeStop: true,
			ReturnTokenIDs: true, TokensAsIDs: true}
	case SGLang:
		stops, stopIDs, err := e.splitStops(g.ctx, g.req.StopStrings, st)
		if err != nil {
			return "", nil, nil, err
		}
		path = "/generate"
		v = sglangRequest{InputIDs: ids, Stream: true, Params: sglangSampling{MaxNewTokens: rest, Temperature: s.Temperature,
			TopP: topP, TopK: max(s.TopK, 0), Stop: stops, StopTokenIDs: stopIDs, NoStopTrim: true}}
	case LlamaCpp:
		path = "/completion"
		v = llamaRequest{Prompt: ids, NPredict: rest, Temperature: s.Temperature, TopK: max(s.TopK, 0), TopP: cmp.Or(topP, 1),
			RepeatPenalty: 1, Seed: seed32(s.Seed), Stream: true, CachePrompt: true, ReturnTokens: true}
	default:
		path = "/v1/completions"
		v = textRequest{Model: e.name, Prompt: text, MaxTokens: rest, Temperature: s.Temperature, TopP: topP, Seed: seed63(s.Seed), Stream: true}
	}
	body, err = json.Marshal(v)
	return path, body, st, err
}

// seed63 fits a seed into the signed 64-bit range vLLM validates.
func seed63(s uint64) int64 { return int64(s & math.MaxInt64) }

// seed32 fits a seed into llama.cpp's 32 bits, where all ones means "random".
func seed32(s uint64) uint32 {
	if x := uint32(s ^ s>>32); x != math.MaxUint32 {
		return x
	}
	return 0
}

// splitStops sends a stop that is one special token as its id: servers match stop strings on
// text that may not spell special tokens (vLLM drops them before matching unless told not to),
// but always see the id. Without a local tokenizer, which special tokens are is unknown, so a
// stop that is one token goes both ways.
func (e *Engine) splitStops(ctx context.Context, stops []string, st *attemptState) (strs []string, ids []int, err error) {
	for _, s := range stops {
		if s == "" {
			continue
		}
		t, err := e.encode(ctx, s)
		if err != nil {
			return nil, nil, err
		}
		if len(t) == 1 && (e.tok == nil || e.tok.IsAdded(t[0])) {
			ids = append(ids, t[0])
			st.stopIDs[t[0]] = true
			if e.tok != nil {
				continue
			}
		}
		strs = append(strs, s)
	}
	return strs, ids, nil
}

// warnSampling says, once, which asked-for settings the server will not apply.
func (e *Engine) warnSampling(s llm.Sampling) {
	switch e.flavour {
	case SGLang:
		if s.Temperature > 0 {
			e.warn("SGLang: the seed is not sent (/generate takes none unless deterministic inference is on), so sampled runs do not repeat")
		}
	case Ollama:
		if s.TopK > 0 {
			e.warn("Ollama: its OpenAI API has no top_k; the Modelfile's top_k applies")
		}
		if !e.noRepeatPenalty {
			e.warn("Ollama: its OpenAI API cannot set repeat_penalty or min_p; the Modelfile's apply (Ollama's default repeat_penalty 1.1 changes even greedy decoding: set PARAMETER repeat_penalty 1)")
		}
	case OpenAI:
		if s.TopK > 0 {
			e.warn("the OpenAI completions API has no top_k: it is not sent")
		}
	}
}

// openAIChunk is a /v1/completions stream event (or an error in its place).
type openAIChunk struct {
	Object  string          `json:"object"`
	Error   json.RawMessage `json:"error"`
	Choices []struct {
		Text     string `json:"text"`
		TokenIDs []int  `json:"token_ids"`
		Logprobs *struct {
			Tokens []string `json:"tokens"`
		} `json:"logprobs"`
		FinishReason *string         `json:"finish_reason"`
		StopReason   json.RawMessage `json:"stop_reason"`
	} `json:"choices"`
}

func parseOpenAI(data []byte) (chunk, error) {
	var v openAIChunk
	if err := json.Unmarshal(data, &v); err != nil {
		return chunk{}, err
	}
	c := chunk{eosID: -1}
	if v.Object == "error" || isSet(v.Error) {
		c.failed = true
		return c, nil
	}
	if len(v.Choices) == 0 { // a usage event
		return c, nil
	}
	ch := v.Choices[0]
	c.text = ch.Text // the ids' text, which an engine without a local tokenizer shows
	switch {
	case ch.TokenIDs != nil:
		c.ids, c.hasIDs = ch.TokenIDs, true
	case ch.Logprobs != nil && len(ch.Logprobs.Tokens) > 0:
		c.ids, c.hasIDs = logprobIDs(ch.Logprobs.Tokens)
	}
	if ch.FinishReason != nil {
		switch *ch.FinishReason {
		case "length":
			c.finish = finishLength
		case "stop":
			// vLLM names the stop string or stop token id that matched; null is the model's end.
			c.finish = finishEOS
			if isSet(ch.StopReason) {
				c.finish = finishStop
			}
		default:
			return c, fmt.Errorf("finish_reason %q", *ch.FinishReason)
		}
	}
	return c, nil
}

// logprobIDs reads "token_id:N" log-prob tokens; ok is false when the server spelled them as
// text (a vLLM without return_tokens_as_token_ids).
func logprobIDs(toks []string) (ids []int, ok bool) {
	for _, t := range toks {
		n, ok := strings.CutPrefix(t, "token_id:")
		id, err := strconv.Atoi(n)
		if !ok || err != nil {
			return nil, false
		}
		ids = append(ids, id)
	}
	return ids, true
}

func isSet(raw json.RawMessage) bool { return len(raw) > 0 && string(raw) != "null" }

// sglangChunk is a /generate stream event: text and output_ids are cumulative (unless the server
// runs with --incremental-streaming-output), completion_tokens is always the count so far.
type sglangChunk struct {
	Object    string          `json:"object"`
	Error     json.RawMessage `json:"error"`
	Text      *string         `json:"text"`
	OutputIDs []int           `json:"output_ids"`
	Meta      struct {
		FinishReason *struct {
			Type    string          `json:"type"`
			Matched json.RawMessage `json:"matched"`
		} `json:"finish_reason"`
		CompletionTokens int `json:"completion_tokens"`
	} `json:"meta_info"`
}

func parseSGLang(data []byte, st *attemptState) (chunk, error) {
	var v sglangChunk
	if err := json.Unmarshal(data, &v); err != nil {
		return chunk{}, err
	}
	c := chunk{eosID: -1}
	if v.Object == "error" || isSet(v.Error) {
		c.failed = true
		return c, nil
	}
	switch {
	case v.OutputIDs != nil:
		c.hasIDs = true
		if len(v.OutputIDs) == v.Meta.CompletionTokens { // cumulative
			if len(v.OutputIDs) < st.ids {
				return c, errors.New("output_ids shrank")
			}
			c.ids = v.OutputIDs[st.ids:]
		} else {
			c.ids = v.OutputIDs
		}
		st.ids += len(c.ids)
	case v.Text != nil:
		if t, ok := strings.CutPrefix(*v.Text, st.text); ok {
			c.text = t
			st.text = *v.Text
		} else {
			c.text = *v.Text
			st.text += *v.Text
		}
	}
	if f := v.Meta.FinishReason; f != nil {
		switch f.Type {
		case "length":
			c.finish = finishLength
		case "stop":
			// matched is the stop string, or the id of a stop token or of the EOS it includes
			// in output_ids.
			id, isID := jsonInt(f.Matched)
			switch {
			case isID && st.stopIDs[id], !isID && isSet(f.Matched):
				c.finish = finishStop
			case isID:
				c.finish, c.eosID = finishEOS, id
			default:
				c.finish = finishEOS
			}
		default:
			c.failed = true // "abort", with its message
		}
	}
	return c, nil
}

// llamaChunk is a /completion stream event; the last has stop: true and says why.
type llamaChunk struct {
	Content  string          `json:"content"`
	Tokens   []int           `json:"tokens"`
	Stop     bool            `json:"stop"`
	StopType string          `json:"stop_type"`
	Error    json.RawMessage `json:"error"`
}

func parseLlamaCpp(data []byte) (chunk, error) {
	var v llamaChunk
	if err := json.Unmarshal(data, &v); err != nil {
		return chunk{}, err
	}
	c := chunk{eosID: -1}
	if isSet(v.Error) {
		c.failed = true
		return c, nil
	}
	c.ids, c.hasIDs, c.text = v.Tokens, v.Tokens != nil, v.Content
	if v.Stop {
		switch v.StopType {
		case "limit":
			c.finish = finishLength
		case "word":
			c.finish = finishStop
		default: // "eos", or "none" from servers that do not say
			c.finish = finishEOS
		}
	}
	return c, nil
}

// jsonInt reads a JSON number as an int; ok is false for anything else (null, a string).
func jsonInt(raw json.RawMessage) (int, bool) {
	var n int
	if !isSet(raw) || json.Unmarshal(raw, &n) != nil {
		return 0, false
	}
	return n, true
}
