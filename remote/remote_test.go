package remote_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/infty-dev/infty/llm"
	"github.com/infty-dev/infty/remote"
	"github.com/infty-dev/infty/remote/remotetest"
	"github.com/infty-dev/infty/runtime/tokenizer"
	"github.com/infty-dev/infty/session/format"
)

const (
	fixture = "../testdata/models/qwen3-tiny-f32"
	model   = "qwen3-tiny"
	// The scripted turn: special tags, a multi-byte character, and text after the summary that
	// only a working stop leaves out.
	turn = format.ReasoningOpen + "Six sevens make 42 — café.\n" + format.ThinkClose + format.SummaryOpen + "\nIt is 42.\n" +
		format.SummaryClose + "\nAfter the summary."
)

var rePiece = regexp.MustCompile(`<[^>]+>|\s*[^\s<]+|\s+`)

// script plays text piece by piece after the last assistant header, then ends; it resumes from
// any prefix of text, as a greedy model would.
func script(text string) remotetest.Policy {
	ends := []int{}
	for _, m := range rePiece.FindAllStringIndex(text, -1) {
		ends = append(ends, m[1])
	}
	return func(ctx string, _ int, _ uint64) (string, bool) {
		i := strings.LastIndex(ctx, "<|im_start|>assistant\n")
		if i < 0 {
			return "", true
		}
		done := ctx[i+len("<|im_start|>assistant\n"):]
		if !strings.HasPrefix(text, done) {
			return "", true
		}
		for _, end := range ends {
			if end > len(done) {
				return text[len(done):end], false
			}
		}
		return "", true
	}
}

// scriptIDs are the ids the fake streams for text: each piece encoded alone.
func scriptIDs(t *testing.T, tok *tokenizer.Tokenizer, text string) []int {
	t.Helper()
	var ids []int
	for _, p := range rePiece.FindAllString(text, -1) {
		ids = append(ids, tok.Encode(p)...)
	}
	return ids
}

func fake(t *testing.T, kind remotetest.Kind, mod func(*remotetest.Config)) *remotetest.Server {
	cfg := remotetest.Config{Kind: kind, Tokenizer: fixture, Policy: script(turn), Model: model, Context: 512}
	if mod != nil {
		mod(&cfg)
	}
	return remotetest.New(t, cfg)
}

func open(t *testing.T, url string, mod func(*remote.Options)) *remote.Engine {
	t.Helper()
	opts := remote.Options{URL: url, Model: model, Tokenizer: fixture, Backoff: time.Millisecond, StallTimeout: 5 * time.Second}
	if mod != nil {
		mod(&opts)
	}
	e, err := remote.Open(context.Background(), opts)
	if err != nil {
		t.Fatal(err)
	}
	return e
}

func prompt(t *testing.T, e *remote.Engine) []int {
	t.Helper()
	s, err := e.RenderChat([]llm.Message{{Role: "user", Content: "What is 6 times 7?"}}, true)
	if err != nil {
		t.Fatal(err)
	}
	ids, _ := e.Encode(s)
	return ids
}

// run generates and checks what every generation must satisfy: the yielded tokens rebuild the
// result, indices count from the offset, and the ids decode to the text.
func run(t *testing.T, e *remote.Engine, req llm.Request) (llm.Result, []llm.Token, error) {
	t.Helper()
	var toks []llm.Token
	res, err := e.Generate(context.Background(), req, func(tok llm.Token) error {
		toks = append(toks, tok)
		return nil
	})
	var b strings.Builder
	for i, tok := range toks {
		b.WriteString(tok.Text)
		if tok.Index != req.Offset+i {
			t.Errorf("token %d has index %d, want %d", i, tok.Index, req.Offset+i)
		}
	}
	if b.String() != res.Text {
		t.Errorf("tokens rebuild %q, result text %q", b.String(), res.Text)
	}
	if got := e.Tokenizer().Decode(res.IDs); got != res.Text {
		t.Errorf("ids decode to %q, text %q", got, res.Text)
	}
	return res, toks, err
}

var flavours = map[remotetest.Kind]remote.Flavour{
	remotetest.VLLM: remote.VLLM, remotetest.SGLang: remote.SGLang, remotetest.LlamaCpp: remote.LlamaCpp,
	remotetest.Ollama: remote.Ollama, remotetest.OpenAI: remote.OpenAI,
}

func TestEachServer(t *testing.T) {
	tok, err := tokenizer.Load(fixture)
	if err != nil {
		t.Fatal(err)
	}
	for _, kind := range remotetest.Kinds {
		t.Run(string(kind), func(t *testing.T) {
			srv := fake(t, kind, nil)
			e := open(t, srv.URL+"/v1", nil) // an OpenAI client's base URL works too
			if e.Flavour() != flavours[kind] {
				t.Fatalf("detected %q", e.Flavour())
			}
			if p := e.Placement(); p.Device != "remote" || !strings.Contains(p.Backend, string(e.Flavour())) || !strings.HasSuffix(p.Backend, " at "+srv.URL) {
				t.Errorf("placement %+v", p)
			}
			wantCtx := 512
			if kind == remotetest.OpenAI {
				wantCtx = 0
				if !slices.ContainsFunc(e.Warnings(), func(w string) bool { return strings.Contains(w, "context length") }) {
					t.Errorf("no warning about the unknown context: %q", e.Warnings())
				}
			}
			if e.ContextLength() != wantCtx || e.Name() != model {
				t.Errorf("context %d, name %q", e.ContextLength(), e.Name())
			}
			res, toks, err := run(t, e, llm.Request{Prompt: prompt(t, e), MaxTokens: 200, Offset: 7, Sampling: llm.Sampling{TopK: 5}})
			if err != nil {
				t.Fatal(err)
			}
			if res.Text != turn || res.Reason != llm.StopEOS {
				t.Fatalf("got %q (%s), want %q", res.Text, res.Reason, turn)
			}
			switch kind {
			case remotetest.Ollama, remotetest.OpenAI:
				// Text only: the ids are the local encoding of the text.
				if !slices.Equal(res.IDs, tok.Encode(turn)) {
					t.Errorf("ids %v", res.IDs)
				}
				if !slices.ContainsFunc(e.Warnings(), func(w string) bool { return strings.Contains(w, "top_k") }) {
					t.Errorf("top_k is ignored without a warning: %q", e.Warnings())
				}
			default:
				// The server's own ids, one token each.
				if want := scriptIDs(t, tok, turn); !slices.Equal(res.IDs, want) || len(toks) != len(want) {
					t.Errorf("ids %v in %d tokens, want %v", res.IDs, len(toks), want)
				}
			}
			req := srv.Requests()[0]
			switch kind {
			case remotetest.VLLM:
				if req["skip_special_tokens"] != false || req["include_stop_str_in_output"] != true || req["spaces_between_special_tokens"] != false {
					t.Errorf("vLLM request %v", req)
				}
			case remotetest.SGLang:
				if p := req["sampling_params"].(map[string]any); p["skip_special_tokens"] != false || p["no_stop_trim"] != true {
					t.Errorf("SGLang request %v", req)
				}
			case remotetest.LlamaCpp:
				if req["cache_prompt"] != true || req["return_tokens"] != true {
					t.Errorf("llama.cpp request %v", req)
				}
			default:
				if _, ok := req["prompt"].(string); !ok {
					t.Errorf("text server sent %T", req["prompt"])
				}
			}
		})
	}
}

// An older vLLM returns ids only as "token_id:N" log-prob tokens.
func TestVLLMLogprobIDs(t *testing.T) {
	srv := fake(t, remotetest.VLLM, func(c *remotetest.Config) { c.OldVLLM = true })
	e := open(t, srv.URL, nil)
	res, _, err := run(t, e, llm.Request{Prompt: prompt(t, e), MaxTokens: 200})
	if err != nil || res.Text != turn || res.Reason != llm.StopEOS {
		t.Fatalf("%q %s %v", res.Text, res.Reason, err)
	}
	if want := scriptIDs(t, e.Tokenizer(), turn); !slices.Equal(res.IDs, want) {
		t.Errorf("ids %v, want %v", res.IDs, want)
	}
}

func TestStopKeptInText(t *testing.T) {
	for _, kind := range remotetest.Kinds {
		for _, stop := range []string{format.SummaryClose, "café."} {
			t.Run(string(kind)+" "+stop, func(t *testing.T) {
				srv := fake(t, kind, nil)
				e := open(t, srv.URL, nil)
				res, _, err := run(t, e, llm.Request{Prompt: prompt(t, e), MaxTokens: 200, StopStrings: []string{"nowhere", stop}})
				if err != nil {
					t.Fatal(err)
				}
				want := turn[:strings.Index(turn, stop)+len(stop)]
				if res.Text != want || res.Reason != llm.StopString {
					t.Fatalf("got %q (%s), want %q", res.Text, res.Reason, want)
				}
				if kind == remotetest.VLLM {
					req := srv.Requests()[0]
					ids, _ := req["stop_token_ids"].([]any)
					if stop == format.SummaryClose && (len(ids) != 1 || slices.Contains(req["stop"].([]any), any(stop))) {
						t.Errorf("a special-token stop goes as its id: %v", req)
					}
				}
			})
		}
	}
}

func TestBudget(t *testing.T) {
	for _, kind := range remotetest.Kinds {
		t.Run(string(kind), func(t *testing.T) {
			srv := fake(t, kind, nil)
			e := open(t, srv.URL, nil)
			res, toks, err := run(t, e, llm.Request{Prompt: prompt(t, e), MaxTokens: 4})
			if err != nil || res.Reason != llm.StopBudget || len(toks) != 4 || !strings.HasPrefix(turn, res.Text) {
				t.Fatalf("%q %s in %d tokens, %v", res.Text, res.Reason, len(toks), err)
			}
		})
	}
}

func TestRetries(t *testing.T) {
	srv := fake(t, remotetest.VLLM, nil)
	e := open(t, srv.URL, nil)
	srv.Fail(remotetest.Fault{Status: 429}, remotetest.Fault{Status: 503})
	res, _, err := run(t, e, llm.Request{Prompt: prompt(t, e), MaxTokens: 200})
	if err != nil || res.Text != turn {
		t.Fatalf("after 429 and 503: %q %v", res.Text, err)
	}
	if n := len(srv.Requests()); n != 3 {
		t.Errorf("%d requests, want 3", n)
	}

	// Never on another 4xx.
	srv.Fail(remotetest.Fault{Status: 400})
	_, _, err = run(t, e, llm.Request{Prompt: prompt(t, e), MaxTokens: 200})
	var se *remote.ServerError
	if !errors.As(err, &se) || se.Status != 400 {
		t.Fatalf("400: %v", err)
	}
	if n := len(srv.Requests()); n != 4 {
		t.Errorf("%d requests, want 4: a 400 is not retried", n)
	}

	// A bounded number of times.
	e = open(t, srv.URL, func(o *remote.Options) { o.Retries = 1 })
	srv.Fail(remotetest.Fault{Status: 502}, remotetest.Fault{Status: 502}, remotetest.Fault{Status: 502})
	_, _, err = run(t, e, llm.Request{Prompt: prompt(t, e), MaxTokens: 200})
	if !errors.As(err, &se) || se.Status != 502 || !strings.Contains(err.Error(), "1 retries") {
		t.Fatalf("502 thrice with one retry: %v", err)
	}

	// A server gone down: connections refused, retried, then named.
	srv.Close()
	_, _, err = run(t, e, llm.Request{Prompt: prompt(t, e), MaxTokens: 200})
	if !errors.Is(err, remote.ErrUnreachable) || !strings.Contains(err.Error(), "1 retries") || !strings.Contains(err.Error(), srv.URL) {
		t.Fatalf("server down: %v", err)
	}
}

// Many generations in flight on one engine (bench and curate run them in parallel).
func TestConcurrent(t *testing.T) {
	srv := fake(t, remotetest.VLLM, func(c *remotetest.Config) { c.Delay = time.Millisecond })
	e := open(t, srv.URL, nil)
	p := prompt(t, e)
	errs := make(chan error, 8)
	for range 8 {
		go func() {
			res, err := e.Generate(context.Background(), llm.Request{Prompt: p, MaxTokens: 200}, func(llm.Token) error { return nil })
			if err == nil && res.Text != turn {
				err = errors.New("got " + res.Text)
			}
			errs <- err
		}()
	}
	for range 8 {
		if err := <-errs; err != nil {
			t.Error(err)
		}
	}
}

func TestStall(t *testing.T) {
	srv := fake(t, remotetest.VLLM, nil)
	e := open(t, srv.URL, func(o *remote.Options) { o.StallTimeout = 100 * time.Millisecond })
	// A slow first byte within the stall timeout is waited for; one past it is retried.
	srv.Fail(remotetest.Fault{Delay: 30 * time.Millisecond}, remotetest.Fault{Delay: 2 * time.Second})
	for i, want := range []int{1, 3} {
		res, _, err := run(t, e, llm.Request{Prompt: prompt(t, e), MaxTokens: 200})
		if err != nil || res.Text != turn {
			t.Fatalf("run %d: %q %v", i, res.Text, err)
		}
		if n := len(srv.Requests()); n != want {
			t.Errorf("run %d: %d requests in all, want %d", i, n, want)
		}
	}
}

func TestResumeAfterCut(t *testing.T) {
	for _, kind := range remotetest.Kinds {
		t.Run(string(kind), func(t *testing.T) {
			srv := fake(t, kind, nil)
			e := open(t, srv.URL, nil)
			req := llm.Request{Prompt: prompt(t, e), MaxTokens: 200}
			whole, wholeToks, err := run(t, e, req)
			if err != nil {
				t.Fatal(err)
			}
			// Cut where a character is complete: the fake's scripted model reads text.
			for _, k := range []int{4, 7} {
				if wholeToks[k-1].Text == "" {
					t.Fatalf("token %d splits a character; pick another cut", k)
				}
			}
			srv.Fail(remotetest.Fault{CutAfter: 4}, remotetest.Fault{CutAfter: 3})
			res, toks, err := run(t, e, req)
			if err != nil {
				t.Fatal(err)
			}
			if res.Text != whole.Text || res.Reason != llm.StopEOS || len(toks) != len(wholeToks) {
				t.Fatalf("resumed %q (%s, %d tokens), uncut %q (%d tokens)", res.Text, res.Reason, len(toks), whole.Text, len(wholeToks))
			}
			reqs := srv.Requests()
			if len(reqs) != 4 {
				t.Fatalf("%d requests, want 4", len(reqs))
			}
			// The last resume sends the prompt and the seven tokens streamed before it.
			if kind == remotetest.VLLM {
				if got, want := len(reqs[3]["prompt"].([]any)), len(req.Prompt)+7; got != want {
					t.Errorf("resumed prompt of %d ids, want %d", got, want)
				}
			}

			// Past the resume bound the tokens so far come back with the error.
			e = open(t, srv.URL, func(o *remote.Options) { o.Resumes = 1 })
			srv.Fail(remotetest.Fault{CutAfter: 4}, remotetest.Fault{CutAfter: 3})
			res, toks, err = run(t, e, req)
			if err == nil || !strings.Contains(err.Error(), "stream cut after 7 tokens") || len(toks) != 7 || !strings.HasPrefix(whole.Text, res.Text) {
				t.Fatalf("two cuts, one resume: %q in %d tokens, %v", res.Text, len(toks), err)
			}
		})
	}
}

func TestCancel(t *testing.T) {
	srv := fake(t, remotetest.VLLM, func(c *remotetest.Config) { c.Delay = 5 * time.Millisecond })
	e := open(t, srv.URL, nil)
	errPause := errors.New("pause")
	n := 0
	start := time.Now()
	res, err := e.Generate(context.Background(), llm.Request{Prompt: prompt(t, e), MaxTokens: 200}, func(llm.Token) error {
		if n++; n == 3 {
			return errPause
		}
		return nil
	})
	if !errors.Is(err, errPause) || res.Reason != llm.StopCanceled || len(res.IDs) != 3 {
		t.Fatalf("yield error: %v, %s, %d ids", err, res.Reason, len(res.IDs))
	}

	ctx, cancel := context.WithCancel(context.Background())
	n = 0
	res, err = e.Generate(ctx, llm.Request{Prompt: prompt(t, e), MaxTokens: 200}, func(llm.Token) error {
		if n++; n == 3 {
			cancel()
		}
		return nil
	})
	if !errors.Is(err, context.Canceled) || res.Reason != llm.StopCanceled || len(res.IDs) != 3 || res.Text != e.Tokenizer().Decode(res.IDs) {
		t.Fatalf("cancel: %v, %s, %d ids", err, res.Reason, len(res.IDs))
	}
	// The whole turn would take over 100 ms at 5 ms a token; both stopped at once.
	if el := time.Since(start); el > time.Second {
		t.Errorf("took %v", el)
	}
	// The server saw both clients go.
	for deadline := time.Now().Add(2 * time.Second); srv.Gone() < 2; time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("the server saw %d of 2 streams closed", srv.Gone())
		}
	}
}

func TestKeyNeverInErrors(t *testing.T) {
	const key, wrong = "sk-right-0123456789", "sk-wrong-9876543210"
	srv := fake(t, remotetest.VLLM, func(c *remotetest.Config) { c.Key = key })
	_, err := remote.Open(context.Background(), remote.Options{URL: srv.URL, Model: model, Tokenizer: fixture, APIKey: wrong})
	if !errors.Is(err, remote.ErrUnauthorized) || strings.Contains(err.Error(), wrong) {
		t.Fatalf("wrong key: %v", err)
	}
	e := open(t, srv.URL, func(o *remote.Options) { o.APIKey = key })
	srv.Fail(remotetest.Fault{Status: 403})
	_, _, err = run(t, e, llm.Request{Prompt: prompt(t, e), MaxTokens: 200})
	if !errors.Is(err, remote.ErrUnauthorized) || strings.Contains(err.Error(), key) {
		t.Fatalf("403: %v", err)
	}
	if n := len(srv.Requests()); n != 1 {
		t.Errorf("a 403 was retried: %d requests", n)
	}
}

func TestUnknownModel(t *testing.T) {
	srv := fake(t, remotetest.VLLM, nil)
	_, err := remote.Open(context.Background(), remote.Options{URL: srv.URL, Model: "nope", Tokenizer: fixture})
	if !errors.Is(err, remote.ErrUnknownModel) || !strings.Contains(err.Error(), model) {
		t.Fatalf("%v", err)
	}
	// With no name, the only served model is taken.
	if e := open(t, srv.URL, func(o *remote.Options) { o.Model = "" }); e.Name() != model {
		t.Errorf("picked %q", e.Name())
	}
}

func TestUnreachable(t *testing.T) {
	srv := httptest.NewServer(nil)
	addr := srv.URL
	srv.Close()
	_, err := remote.Open(context.Background(), remote.Options{URL: addr, Model: model, Tokenizer: fixture})
	if !errors.Is(err, remote.ErrUnreachable) || !strings.Contains(err.Error(), addr) {
		t.Fatalf("%v", err)
	}
}

func TestPromptOverContext(t *testing.T) {
	srv := fake(t, remotetest.VLLM, func(c *remotetest.Config) { c.Context = 40 })
	e := open(t, srv.URL, nil)
	_, _, err := run(t, e, llm.Request{Prompt: prompt(t, e), MaxTokens: 100})
	var se *remote.ServerError
	if !errors.As(err, &se) || se.Status != 400 || !strings.Contains(se.Message, "maximum context length is 40 tokens") {
		t.Fatalf("%v", err)
	}
}

// A caller that holds a token longer than the stall timeout (a paused session) releases the
// server; the stream resumes from its prefix afterwards, and that is not a cut.
func TestSlowCallerReleasesServer(t *testing.T) {
	srv := fake(t, remotetest.VLLM, func(c *remotetest.Config) { c.Delay = 5 * time.Millisecond })
	e := open(t, srv.URL, func(o *remote.Options) { o.StallTimeout = 50 * time.Millisecond; o.Resumes = -1 })
	n := 0
	res, err := e.Generate(context.Background(), llm.Request{Prompt: prompt(t, e), MaxTokens: 200}, func(llm.Token) error {
		if n++; n == 3 {
			time.Sleep(150 * time.Millisecond)
		}
		return nil
	})
	if err != nil || res.Text != turn || res.Reason != llm.StopEOS {
		t.Fatalf("%q %s %v", res.Text, res.Reason, err)
	}
	if got := len(srv.Requests()); got != 2 || srv.Gone() != 1 {
		t.Errorf("%d requests, %d abandoned; want 2 and 1", got, srv.Gone())
	}
}

// SGLang names the id it stopped on; an EOS the tokenizer folder does not declare (here
// <|endoftext|>) still stays out of the text.
func TestSGLangNamedEOS(t *testing.T) {
	srv := fake(t, remotetest.SGLang, func(c *remotetest.Config) { c.EOS = "<|endoftext|>" })
	e := open(t, srv.URL, nil)
	res, _, err := run(t, e, llm.Request{Prompt: prompt(t, e), MaxTokens: 200})
	if err != nil || res.Text != turn || res.Reason != llm.StopEOS {
		t.Fatalf("%q %s %v", res.Text, res.Reason, err)
	}
}

// An error event inside a stream ends the generation with the server's message and the tokens
// so far.
func TestErrorInStream(t *testing.T) {
	for _, kind := range remotetest.Kinds {
		t.Run(string(kind), func(t *testing.T) {
			srv := fake(t, kind, nil)
			e := open(t, srv.URL, nil)
			srv.Fail(remotetest.Fault{FailAfter: 3})
			res, _, err := run(t, e, llm.Request{Prompt: prompt(t, e), MaxTokens: 200})
			var se *remote.ServerError
			if !errors.As(err, &se) || se.Message != "engine dead" || res.Text == "" || !strings.HasPrefix(turn, res.Text) {
				t.Fatalf("%q, %v", res.Text, err)
			}
		})
	}
}

// Behind a front end that forwards only /v1 and answers every other path with a web page, a
// vLLM is still recognised (by owned_by) and driven with token ids.
func TestBehindWebFrontEnd(t *testing.T) {
	srv := fake(t, remotetest.VLLM, nil)
	target, err := url.Parse(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	proxy := httputil.NewSingleHostReverseProxy(target)
	front := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasPrefix(r.URL.Path, "/v1/") {
			proxy.ServeHTTP(w, r)
			return
		}
		w.Header().Set("Content-Type", "text/html")
		w.Write([]byte("<!doctype html><title>app</title>"))
	}))
	defer front.Close()
	e := open(t, front.URL, nil)
	if e.Flavour() != remote.VLLM {
		t.Fatalf("detected %q", e.Flavour())
	}
	res, _, err := run(t, e, llm.Request{Prompt: prompt(t, e), MaxTokens: 200})
	if err != nil || res.Text != turn {
		t.Fatalf("%q %v", res.Text, err)
	}
	if _, ok := srv.Requests()[0]["prompt"].([]any); !ok {
		t.Errorf("the prompt went as %T, not ids", srv.Requests()[0]["prompt"])
	}
}

// A whole model folder's generation_config.json gives the default sampling and more EOS ids: a
// vLLM that ends on <|endoftext|> (which vLLM does not name) still keeps it out of the text.
func TestGenerationConfig(t *testing.T) {
	dir := t.TempDir()
	for _, f := range []string{"tokenizer.json", "tokenizer_config.json"} {
		data, err := os.ReadFile(filepath.Join(fixture, f))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, f), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	gen := `{"do_sample": true, "temperature": 0.6, "top_p": 0.95, "eos_token_id": [503, 505]}`
	if err := os.WriteFile(filepath.Join(dir, "generation_config.json"), []byte(gen), 0o644); err != nil {
		t.Fatal(err)
	}
	srv := fake(t, remotetest.VLLM, func(c *remotetest.Config) { c.EOS = "<|endoftext|>" })
	e := open(t, srv.URL, func(o *remote.Options) { o.Tokenizer = dir })
	if got, want := e.DefaultSampling(), (llm.Sampling{Temperature: 0.6, TopK: 50, TopP: 0.95}); got != want {
		t.Errorf("default sampling %+v, want %+v", got, want)
	}
	res, _, err := run(t, e, llm.Request{Prompt: prompt(t, e), MaxTokens: 200})
	if err != nil || res.Text != turn || res.Reason != llm.StopEOS {
		t.Fatalf("%q %s %v", res.Text, res.Reason, err)
	}
	// The fixture folder asks for nothing: greedy.
	if s := open(t, srv.URL, nil).DefaultSampling(); s != (llm.Sampling{}) {
		t.Errorf("fixture default sampling %+v", s)
	}
}

// Ollama's repeat_penalty is said only when the Modelfile leaves it at Ollama's default.
func TestOllamaRepeatPenaltyWarning(t *testing.T) {
	for _, penalty := range []float64{0, 1.1, 1} {
		srv := fake(t, remotetest.Ollama, func(c *remotetest.Config) { c.RepeatPenalty = penalty })
		e := open(t, srv.URL, nil)
		if _, _, err := run(t, e, llm.Request{Prompt: prompt(t, e), MaxTokens: 200}); err != nil {
			t.Fatal(err)
		}
		warned := slices.ContainsFunc(e.Warnings(), func(w string) bool { return strings.Contains(w, "repeat_penalty") })
		if warned != (penalty != 1) {
			t.Errorf("repeat_penalty %g in the Modelfile: warnings %q", penalty, e.Warnings())
		}
	}
}
