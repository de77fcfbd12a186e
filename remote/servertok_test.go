package remote_test

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/infty-dev/infty/llm"
	"github.com/infty-dev/infty/remote"
	"github.com/infty-dev/infty/remote/remotetest"
	"github.com/infty-dev/infty/session/format"
)

// generate runs req and checks that the yielded tokens rebuild the result.
func generate(t *testing.T, e *remote.Engine, req llm.Request) llm.Result {
	t.Helper()
	var b strings.Builder
	n := 0
	res, err := e.Generate(context.Background(), req, func(tok llm.Token) error {
		b.WriteString(tok.Text)
		n++
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if b.String() != res.Text || n != len(res.IDs) {
		t.Errorf("%d tokens rebuild %q; result %q in %d ids", n, b.String(), res.Text, len(res.IDs))
	}
	return res
}

// Without a local tokenizer, vLLM and llama.cpp render, encode and stream through their own
// endpoints exactly what the local tokenizer gives.
func TestServerTokenizer(t *testing.T) {
	msgs := []llm.Message{{Role: "user", Content: "What is 6 times 7?"}}
	for _, kind := range []remotetest.Kind{remotetest.VLLM, remotetest.LlamaCpp} {
		t.Run(string(kind), func(t *testing.T) {
			srv := fake(t, kind, nil)
			local := open(t, srv.URL, nil)
			e := open(t, srv.URL, func(o *remote.Options) { o.Tokenizer = "" })
			if e.Tokenizer() != nil {
				t.Fatal("a local tokenizer without a folder")
			}
			want, err := local.RenderChat(msgs, true)
			if err != nil {
				t.Fatal(err)
			}
			got, err := e.RenderChat(msgs, true)
			if err != nil || got != want {
				t.Fatalf("rendered %q (%v), want %q", got, err, want)
			}
			wantIDs, _ := local.Encode(want)
			for range 2 {
				ids, err := e.Encode(want)
				if err != nil || !slices.Equal(ids, wantIDs) {
					t.Fatalf("encoded %v (%v), want %v", ids, err, wantIDs)
				}
			}
			if n := srv.Calls("POST /tokenize"); kind == remotetest.LlamaCpp && n != 1 || kind == remotetest.VLLM && n != 2 {
				t.Errorf("%d calls to /tokenize: the encoding is not cached", n)
			}
			for _, stops := range [][]string{nil, {format.SummaryClose}, {"café."}} {
				req := llm.Request{Prompt: wantIDs, MaxTokens: 200, StopStrings: stops}
				if w, g := generate(t, local, req), generate(t, e, req); w.Text != g.Text || !slices.Equal(w.IDs, g.IDs) || w.Reason != g.Reason {
					t.Errorf("stops %q: got %q %v (%s), want %q %v (%s)", stops, g.Text, g.IDs, g.Reason, w.Text, w.IDs, w.Reason)
				}
			}
			_, err = e.RenderChat(msgs, false)
			if kind == remotetest.LlamaCpp && (err == nil || !strings.Contains(err.Error(), "/apply-template")) {
				t.Errorf("llama.cpp without the generation prompt: %v", err)
			}
			if kind == remotetest.VLLM && err != nil {
				t.Errorf("vLLM without the generation prompt: %v", err)
			}
		})
	}
}

func TestNoTokenizeEndpoint(t *testing.T) {
	for _, kind := range []remotetest.Kind{remotetest.SGLang, remotetest.Ollama, remotetest.OpenAI} {
		srv := fake(t, kind, nil)
		_, err := remote.Open(context.Background(), remote.Options{URL: srv.URL, Model: model})
		if !errors.Is(err, remote.ErrNoTokenizer) || !strings.Contains(err.Error(), "tokenizer folder") {
			t.Errorf("%s: %v", kind, err)
		}
	}
}
