package remote

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"strings"
)

// Errors a caller may want to tell apart (match with errors.Is).
var (
	ErrUnreachable  = errors.New("server unreachable")
	ErrUnauthorized = errors.New("server refused the API key")
	ErrUnknownModel = errors.New("unknown model")
)

// ServerError is a request the server answered with an error status (or an error inside a
// stream, Status 200): its message, briefly. A prompt over the server's context is one, with the
// server's own words.
type ServerError struct {
	URL     string // the endpoint, without credentials
	Status  int
	Message string
}

func (e *ServerError) Error() string {
	return fmt.Sprintf("%s answered %d: %q", e.URL, e.Status, e.Message)
}

// errorMessage pulls the message out of an error body in any of the servers' shapes —
// {"object":"error","message":…} (vLLM, SGLang), {"error":{"message":…}} (OpenAI, llama.cpp,
// Ollama's /v1), {"error":"…"} (Ollama's /api, vLLM's auth) — or the body itself, trimmed.
// The API key is scrubbed in case a server echoes the request back.
func (e *Engine) errorMessage(body []byte) string {
	var shape struct {
		Message string          `json:"message"`
		Detail  json.RawMessage `json:"detail"`
		Error   json.RawMessage `json:"error"`
	}
	msg := ""
	if json.Unmarshal(body, &shape) == nil {
		var s string
		var inner struct {
			Message string `json:"message"`
		}
		switch {
		case shape.Message != "":
			msg = shape.Message
		case json.Unmarshal(shape.Error, &s) == nil && s != "":
			msg = s
		case json.Unmarshal(shape.Error, &inner) == nil && inner.Message != "":
			msg = inner.Message
		case json.Unmarshal(shape.Detail, &s) == nil && s != "":
			msg = s
		}
	}
	if msg == "" {
		msg = string(body)
	}
	return brief(e.scrub(msg))
}

// scrub removes the API key from s.
func (e *Engine) scrub(s string) string {
	if e.key == "" {
		return s
	}
	return strings.ReplaceAll(s, e.key, "[api key]")
}

// brief trims s to what an error line can hold.
func brief(s string) string {
	s = strings.Join(strings.Fields(s), " ")
	if r := []rune(s); len(r) > 300 {
		return string(r[:300]) + "…"
	}
	return s
}

// redactURL drops a password from u.
func redactURL(u string) string {
	p, err := url.Parse(u)
	if err != nil {
		return u
	}
	return p.Redacted()
}
