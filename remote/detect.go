package remote

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// errNotJSON is a 200 whose body is not the JSON asked for.
var errNotJSON = errors.New("unexpected answer")

// probeTimeout bounds each detection request: a server that cannot answer its version in this
// time cannot stream a generation either.
const probeTimeout = 15 * time.Second

// call sends one request and decodes a 200 answer into v. It returns the status; err is for a
// server that could not be reached or a 200 whose body is not what v expects.
func (e *Engine) call(ctx context.Context, method, path string, body, v any) (int, error) {
	ctx, cancel := context.WithTimeout(ctx, probeTimeout)
	defer cancel()
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return 0, err
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, e.base+path, rd)
	if err != nil {
		return 0, err
	}
	e.setHeaders(req)
	resp, err := e.client.Do(req)
	if err != nil {
		if ctx.Err() != nil && ctx.Err() != context.DeadlineExceeded {
			return 0, ctx.Err()
		}
		return 0, fmt.Errorf("%w: %s: %v", ErrUnreachable, e.URL(), rootCause(err))
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 4<<20))
	if err != nil {
		return resp.StatusCode, fmt.Errorf("%w: %s: %v", ErrUnreachable, e.URL(), rootCause(err))
	}
	switch {
	case resp.StatusCode == http.StatusUnauthorized || resp.StatusCode == http.StatusForbidden:
		return resp.StatusCode, fmt.Errorf("%w: %s%s answered %d: %s", ErrUnauthorized, e.URL(), path, resp.StatusCode, e.errorMessage(data))
	case resp.StatusCode != http.StatusOK:
		return resp.StatusCode, nil
	}
	if err := json.Unmarshal(data, v); err != nil {
		return resp.StatusCode, fmt.Errorf("%s%s: %w: %v", e.URL(), path, errNotJSON, err)
	}
	return resp.StatusCode, nil
}

// rootCause drops the `Get "url":` wrapping of a client error, which repeats the URL.
func rootCause(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}

func (e *Engine) setHeaders(req *http.Request) {
	if req.Body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if e.key != "" {
		req.Header.Set("Authorization", "Bearer "+e.key)
	}
}

// probe asks a detection endpoint: a 200 that is not the JSON expected (a web front end that
// answers every path) just means "not this server".
func (e *Engine) probe(ctx context.Context, path string, v any) (int, error) {
	st, err := e.call(ctx, "GET", path, nil, v)
	if errors.Is(err, errNotJSON) {
		return 0, nil
	}
	return st, err
}

// detect recognises the server from the endpoints only it answers, most specific first: SGLang
// (/get_model_info), Ollama (/api/version), llama.cpp (/props), vLLM (/version), and takes any
// other server for a plain OpenAI-compatible one.
func (e *Engine) detect(ctx context.Context) error {
	var sg struct {
		ModelPath string `json:"model_path"`
	}
	if st, err := e.probe(ctx, "/get_model_info", &sg); err != nil {
		return err
	} else if st == http.StatusOK && sg.ModelPath != "" {
		e.flavour = SGLang
		var info struct {
			Version       string `json:"version"`
			ContextLength int    `json:"context_length"`
		}
		if st, err := e.call(ctx, "GET", "/get_server_info", nil, &info); err == nil && st == http.StatusOK {
			e.version, e.ctxLen = info.Version, info.ContextLength
		}
		return nil
	}
	var ver struct {
		Version string `json:"version"`
	}
	if st, err := e.probe(ctx, "/api/version", &ver); err != nil {
		return err
	} else if st == http.StatusOK && ver.Version != "" {
		e.flavour, e.version = Ollama, ver.Version
		return nil
	}
	var props struct {
		Settings *struct {
			NCtx int `json:"n_ctx"`
		} `json:"default_generation_settings"`
		Build string `json:"build_info"`
	}
	if st, err := e.probe(ctx, "/props", &props); err != nil {
		return err
	} else if st == http.StatusOK && props.Settings != nil {
		e.flavour, e.version, e.ctxLen = LlamaCpp, props.Build, props.Settings.NCtx
		return nil
	}
	if st, err := e.probe(ctx, "/version", &ver); err != nil {
		return err
	} else if st == http.StatusOK && ver.Version != "" {
		e.flavour, e.version = VLLM, ver.Version
		return nil
	}
	e.flavour = OpenAI
	return nil
}

// pickModel lists the served models (/v1/models) and takes the one named (or the only one),
// with its context length where the listing gives it (vLLM's max_model_len).
func (e *Engine) pickModel(ctx context.Context, name string) error {
	var list struct {
		Data []struct {
			ID          string `json:"id"`
			OwnedBy     string `json:"owned_by"`
			MaxModelLen int    `json:"max_model_len"`
		} `json:"data"`
	}
	st, err := e.call(ctx, "GET", "/v1/models", nil, &list)
	if err != nil {
		return err
	}
	if st != http.StatusOK {
		return fmt.Errorf("%s/v1/models answered %d: not an OpenAI-compatible server", e.URL(), st)
	}
	found := -1
	for i, m := range list.Data {
		e.served = append(e.served, m.ID)
		// Ollama lists name:latest and answers to name alone.
		if m.ID == name || (e.flavour == Ollama && m.ID == name+":latest") {
			found = i
		}
	}
	if name == "" && len(list.Data) == 1 {
		found = 0
	}
	if found < 0 {
		if name == "" {
			return fmt.Errorf("%w: %s serves %d models, name one: %s", ErrUnknownModel, e.URL(), len(e.served), strings.Join(e.served, ", "))
		}
		return fmt.Errorf("%w %q: %s serves %s", ErrUnknownModel, name, e.URL(), strings.Join(e.served, ", "))
	}
	m := list.Data[found]
	e.name = m.ID
	if e.flavour == Ollama && name != "" {
		e.name = name
	}
	// A vLLM behind a proxy that forwards only /v1 still says who it is.
	if e.flavour == OpenAI && m.OwnedBy == "vllm" {
		e.flavour = VLLM
	}
	if m.MaxModelLen > 0 {
		e.ctxLen = m.MaxModelLen
	}
	if e.flavour == Ollama {
		e.ollamaContext(ctx)
	}
	if e.ctxLen == 0 {
		e.warn(fmt.Sprintf("%s does not report the context length of %s: budgets are not fitted to it", e.flavour, e.name))
	}
	return nil
}

// ollamaContext reads the num_ctx and repeat_penalty a model's Modelfile sets. Without num_ctx
// Ollama runs the model with its default context and silently drops the start of longer prompts,
// and its default repeat_penalty changes even greedy decoding, so each is said.
func (e *Engine) ollamaContext(ctx context.Context) {
	var show struct {
		Parameters string `json:"parameters"`
	}
	if st, err := e.call(ctx, "POST", "/api/show", map[string]string{"model": e.name}, &show); err == nil && st == http.StatusOK {
		for _, line := range strings.Split(show.Parameters, "\n") {
			f := strings.Fields(line)
			if len(f) != 2 {
				continue
			}
			switch f[0] {
			case "num_ctx":
				if n, err := strconv.Atoi(f[1]); err == nil && n > 0 {
					e.ctxLen = n
				}
			case "repeat_penalty":
				e.noRepeatPenalty = f[1] == "1"
			}
		}
	}
	if e.ctxLen == 0 {
		e.warn("Ollama: " + e.name + " sets no num_ctx, so Ollama's default context applies and it truncates longer prompts silently; set PARAMETER num_ctx in the Modelfile")
	}
}
