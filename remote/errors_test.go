package remote

import (
	"strings"
	"testing"
)

func TestErrorMessage(t *testing.T) {
	e := &Engine{key: "sk-secret"}
	for body, want := range map[string]string{
		`{"object":"error","message":"This model's maximum context length is 512 tokens.","code":400}`:                     "This model's maximum context length is 512 tokens.",
		`{"error":{"code":400,"message":"the request exceeds the available context size","type":"invalid_request_error"}}`: "the request exceeds the available context size",
		`{"error":"model \"x\" not found, try pulling it first"}`:                                                          `model "x" not found, try pulling it first`,
		`{"detail":"Not Found"}`:                        "Not Found",
		"upstream  connect\n error":                     "upstream connect error",
		`{"error":{"message":"invalid key sk-secret"}}`: "invalid key [api key]",
		strings.Repeat("x", 400):                        strings.Repeat("x", 300) + "…",
	} {
		if got := e.errorMessage([]byte(body)); got != want {
			t.Errorf("%.40q: got %q, want %q", body, got, want)
		}
	}
}
