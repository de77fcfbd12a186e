package runtime_test

import (
	"context"
	"errors"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/infty-dev/infty/llm"
	"github.com/infty-dev/infty/runtime"
	"github.com/infty-dev/infty/session"
	"github.com/infty-dev/infty/session/format"
	"github.com/infty-dev/infty/session/trajlog"
)

// recorder keeps the full text (prompt and generation) of every Generate call.
type recorder struct {
	*runtime.Engine
	mu   sync.Mutex
	seen []string
	// maxPos is the most positions one call used: its prompt and the tokens it generated.
	maxPos int
}

func (r *recorder) Generate(ctx context.Context, req llm.Request, yield func(llm.Token) error) (llm.Result, error) {
	res, err := r.Engine.Generate(ctx, req, yield)
	r.mu.Lock()
	r.seen = append(r.seen, r.Tokenizer().Decode(req.Prompt)+res.Text)
	r.maxPos = max(r.maxPos, len(req.Prompt)+len(res.IDs))
	r.mu.Unlock()
	return res, err
}

func loadB(b *testing.B, name string) (*runtime.Engine, error) {
	b.Helper()
	return runtime.Open(filepath.Join("..", "testdata", "models", name), name)
}

func load(t *testing.T, name string) *runtime.Engine {
	t.Helper()
	m, err := runtime.Open(filepath.Join("..", "testdata", "models", name), name)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Close() })
	return m
}

var cfg = session.Config{Eta: 24, Phi: 3, SummaryMax: 8, ConclusionMax: 8, Sampling: llm.Sampling{Temperature: 1, Seed: 11}}

// TestNativeThroughRuntime drives the fixture models (random weights, ChatML template, the
// InftyThink+ special tokens) through the real tokenizer, template and generation path.
func TestNativeThroughRuntime(t *testing.T) {
	for _, name := range []string{"qwen3-tiny-f32", "qwen2-tiny-f32"} {
		t.Run(name, func(t *testing.T) {
			m := &recorder{Engine: load(t, name)}
			c := cfg
			c.LogPath = filepath.Join(t.TempDir(), "log.jsonl")
			e, err := session.New(m, c)
			if err != nil {
				t.Fatal(err)
			}
			defer e.Close()
			var types []session.EventType
			snap, err := e.Solve(context.Background(), "What is 2+2?", func(ev session.Event) { types = append(types, ev.Type) })
			if err != nil {
				t.Fatal(err)
			}
			if !snap.Done || len(snap.Iterations) < 1 || len(snap.Iterations) > c.Phi || types[len(types)-1] != session.EventDone {
				t.Fatalf("done %v, %d iterations, last event %v", snap.Done, len(snap.Iterations), types[len(types)-1])
			}
			user, err := m.RenderChat([]llm.Message{{Role: "user", Content: "What is 2+2?"}}, true)
			if err != nil || user != "<|im_start|>user\nWhat is 2+2?<|im_end|>\n<|im_start|>assistant\n" {
				t.Fatalf("chat template: %q %v", user, err)
			}
			seen := map[string]bool{}
			for _, s := range m.seen {
				seen[s] = true
			}
			for i, it := range snap.Iterations {
				if !strings.HasPrefix(it.Raw, format.Prefill(it.Index, it.History)) {
					t.Errorf("iteration %d: raw %q lacks its pre-fill", it.Index, it.Raw)
				}
				if i > 0 && it.History != snap.Iterations[i-1].Summary {
					t.Errorf("iteration %d: history is not the previous summary", it.Index)
				}
				if it.Tokens > c.Eta+c.SummaryMax+c.ConclusionMax {
					t.Errorf("iteration %d: %d tokens", it.Index, it.Tokens)
				}
				if it.ForcedBoundary != strings.Contains(it.Raw, format.ForcedBoundary) && !it.Malformed {
					t.Errorf("iteration %d: forced flag %v but raw %q", it.Index, it.ForcedBoundary, it.Raw)
				}
				if it.Index == c.Phi && !it.Final {
					t.Errorf("iteration φ did not conclude: %+v", it)
				}
				saw := user + it.Raw
				if it.SummaryTruncated {
					saw = strings.TrimSuffix(saw, format.ForcedSummaryClose)
				}
				if !seen[saw] {
					t.Errorf("iteration %d: the model never saw %q", it.Index, saw)
				}
				// The chat template renders the turn as one conversation: what the model saw,
				// then the end of the assistant's turn.
				full, err := m.RenderChat([]llm.Message{{Role: "user", Content: "What is 2+2?"}, {Role: "assistant", Content: it.Raw}}, false)
				if err != nil || full != user+it.Raw+"<|im_end|>\n" {
					t.Errorf("iteration %d: rendered %q, %v", it.Index, full, err)
				}
				if !it.Malformed {
					if want := (format.Iteration{Index: it.Index, History: it.History, Reasoning: it.Reasoning, Summary: it.Summary, Conclusion: it.Conclusion, Final: it.Final}).Render(); want != it.Raw {
						t.Errorf("iteration %d well-formed but canonical %q != raw %q", it.Index, want, it.Raw)
					}
				}
			}
			runs, warns, err := trajlog.ReadFile(c.LogPath)
			if err != nil || len(warns) > 0 {
				t.Fatal(err, warns)
			}
			if got := runs[0].Branch(1).Iterations; len(got) != len(snap.Iterations) || runs[0].Model != name {
				t.Errorf("log: %d iterations, model %q", len(got), runs[0].Model)
			}
		})
	}
}

// Pausing mid-iteration and resuming gives exactly the text of an uninterrupted run: the paused
// generation keeps its KV cache, and re-prefills after forced boundaries continue the sampler's
// random stream.
func TestPauseResumeThroughRuntime(t *testing.T) {
	m := load(t, "qwen3-tiny-f32")
	c := cfg
	ref, err := session.New(m, c)
	if err != nil {
		t.Fatal(err)
	}
	want, err := ref.Solve(context.Background(), "Pause me", nil)
	ref.Close()
	if err != nil {
		t.Fatal(err)
	}
	e, err := session.New(m, c)
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	ch, err := e.Start(context.Background(), "Pause me")
	if err != nil {
		t.Fatal(err)
	}
	paused := false
	for ev := range ch {
		if !paused && ev.Type == session.EventDelta {
			paused = true
			e.Pause()
			// A token already past the pause gate may still land; wait for the view to settle.
			a := e.Snapshot().Partial
			for i := 0; i < 100; i++ {
				time.Sleep(10 * time.Millisecond)
				now := e.Snapshot().Partial
				if reflect.DeepEqual(now, a) {
					break
				}
				a = now
			}
			time.Sleep(50 * time.Millisecond)
			b := e.Snapshot().Partial
			if !reflect.DeepEqual(a, b) {
				t.Errorf("generation went on while paused")
			}
			e.Resume()
		}
		if ev.Type == session.EventDone || ev.Type == session.EventError {
			break
		}
	}
	got := e.Snapshot()
	strip := func(its []session.Iteration) []session.Iteration {
		out := append([]session.Iteration(nil), its...)
		for i := range out {
			out[i].Seconds, out[i].WallSeconds = 0, 0
		}
		return out
	}
	if !paused || !reflect.DeepEqual(strip(got.Iterations), strip(want.Iterations)) {
		t.Errorf("paused run differs:\n%+v\n%+v", got.Iterations, want.Iterations)
	}
}

// The fixture models attend to 512 positions: a budget that cannot fit is refused before any
// generation, and one that fits runs with every Generate call inside the window.
func TestContextWindow(t *testing.T) {
	m := &recorder{Engine: load(t, "qwen3-tiny-f32")}
	if m.ContextLength() != 512 {
		t.Fatalf("context length %d, want the fixture's 512", m.ContextLength())
	}
	big := cfg
	big.Eta, big.SummaryMax = 400, 100
	e, err := session.New(m, big)
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	if _, err := e.Start(context.Background(), "What is 2+2?"); !errors.Is(err, session.ErrContextWindow) || !strings.Contains(err.Error(), "512") {
		t.Fatalf("Start with η 400 in a 512 window: %v", err)
	}
	fits := cfg
	fits.Eta, fits.SummaryMax, fits.ConclusionMax, fits.Phi = 300, 60, 60, 2
	e2, err := session.New(m, fits)
	if err != nil {
		t.Fatal(err)
	}
	defer e2.Close()
	if _, err := e2.Solve(context.Background(), "What is 2+2?", nil); err != nil {
		t.Fatal(err)
	}
	if m.maxPos > 512 || m.maxPos < 300 {
		t.Errorf("the longest generation used %d positions; want up to the 512 of the window", m.maxPos)
	}
}
