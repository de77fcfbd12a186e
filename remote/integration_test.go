package remote_test

import (
	"context"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/infty-dev/infty/llm"
	"github.com/infty-dev/infty/remote"
)

// TestRealServer drives a real server when INFTY_TEST_ENGINE_URL, INFTY_TEST_ENGINE_MODEL and
// INFTY_TEST_ENGINE_TOKENIZER (the served model's tokenizer folder) are set; INFTY_API_KEY is
// its key, if it wants one.
func TestRealServer(t *testing.T) {
	url, name, dir := os.Getenv("INFTY_TEST_ENGINE_URL"), os.Getenv("INFTY_TEST_ENGINE_MODEL"), os.Getenv("INFTY_TEST_ENGINE_TOKENIZER")
	if url == "" || name == "" || dir == "" {
		t.Skip("set INFTY_TEST_ENGINE_URL, INFTY_TEST_ENGINE_MODEL and INFTY_TEST_ENGINE_TOKENIZER to test against a real server")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	e, err := remote.Open(ctx, remote.Options{URL: url, Model: name, Tokenizer: dir, APIKey: os.Getenv("INFTY_API_KEY")})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%+v, context %d, warnings %q", e.Placement(), e.ContextLength(), e.Warnings())
	req := llm.Request{Prompt: prompt(t, e), MaxTokens: 48}
	whole, toks, err := run(t, e, req)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%d tokens (%s): %q", len(toks), whole.Reason, whole.Text)
	if len(toks) < 8 {
		t.Skipf("the model ended after %d tokens: too short to resume from", len(toks))
	}
	// Greedy from a prefix continues the same text: what a pause and resume relies on.
	head, _, err := run(t, e, llm.Request{Prompt: req.Prompt, MaxTokens: 8})
	if err != nil {
		t.Fatal(err)
	}
	rest, _, err := run(t, e, llm.Request{Prompt: append(append([]int(nil), req.Prompt...), head.IDs...), MaxTokens: req.MaxTokens - len(toks[:8]), Offset: 8})
	if err != nil {
		t.Fatal(err)
	}
	if got := head.Text + rest.Text; !strings.HasPrefix(got, whole.Text) && !strings.HasPrefix(whole.Text, got) {
		t.Errorf("resumed greedy run %q differs from the whole run %q (servers that batch may not be bit-exact)", got, whole.Text)
	}
}
