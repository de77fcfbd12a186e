package runtime

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/infty-dev/infty/llm"
)

// bracketDetok renders id 42 as "[42]", so text-level behaviour is predictable.
type bracketDetok struct{}

func (bracketDetok) Push(id int) string { return fmt.Sprintf("[%d]", id) }

func collect(t *testing.T, m *Model, ctx context.Context, req llm.Request) (llm.Result, []llm.Token, error) {
	t.Helper()
	var toks []llm.Token
	res, err := m.Generate(ctx, req, func(tok llm.Token) error { toks = append(toks, tok); return nil })
	return res, toks, err
}

var prompt = []int{3, 17, 42, 100, 7}

// noEOS runs f with the model's EOS ids cleared, so random weights cannot end generations early.
func noEOS(m *Model, f func()) {
	saved := m.EOS
	m.EOS = nil
	defer func() { m.EOS = saved }()
	f()
}

func TestSamplingIsDeterministicAndRestartable(t *testing.T) {
	m := loadModel(t, "qwen3-tiny-f32")
	noEOS(m, func() {
		s := llm.Sampling{Temperature: 1.2, TopK: 50, TopP: 0.95, Seed: 1234}
		a, _, err := collect(t, m, context.Background(), llm.Request{Prompt: prompt, MaxTokens: 20, Sampling: s})
		if err != nil {
			t.Fatal(err)
		}
		b, _, _ := collect(t, m, context.Background(), llm.Request{Prompt: prompt, MaxTokens: 20, Sampling: s})
		if !slices.Equal(a.IDs, b.IDs) {
			t.Fatalf("same seed, different ids:\n%v\n%v", a.IDs, b.IDs)
		}
		s2 := s
		s2.Seed = 99
		c, _, _ := collect(t, m, context.Background(), llm.Request{Prompt: prompt, MaxTokens: 20, Sampling: s2})
		if slices.Equal(a.IDs, c.IDs) {
			t.Errorf("different seeds gave the same 20 sampled ids %v", a.IDs)
		}
		// Stop after 7 tokens, then restart from prompt+those 7 with Offset 7: same continuation.
		const k = 7
		restart, toks, _ := collect(t, m, context.Background(),
			llm.Request{Prompt: append(slices.Clone(prompt), a.IDs[:k]...), MaxTokens: 20 - k, Sampling: s, Offset: k})
		if !slices.Equal(restart.IDs, a.IDs[k:]) {
			t.Errorf("restart at %d:\n got %v\nwant %v", k, restart.IDs, a.IDs[k:])
		}
		if toks[0].Index != k {
			t.Errorf("first restarted token has Index %d, want %d", toks[0].Index, k)
		}
	})
}

func TestBudgetAndEOS(t *testing.T) {
	m := loadModel(t, "qwen2-tiny-f32")
	noEOS(m, func() {
		res, toks, err := collect(t, m, context.Background(), llm.Request{Prompt: prompt, MaxTokens: 5})
		if err != nil || res.Reason != llm.StopBudget || len(res.IDs) != 5 || len(toks) != 5 {
			t.Fatalf("budget 5: reason %q, %d ids, %d tokens, err %v", res.Reason, len(res.IDs), len(toks), err)
		}
		// Declare the third greedy token an EOS id: generation ends there without emitting it.
		m.EOS = []int{res.IDs[2]}
		eos, _, err := collect(t, m, context.Background(), llm.Request{Prompt: prompt, MaxTokens: 5})
		first := slices.Index(res.IDs, res.IDs[2])
		if err != nil || eos.Reason != llm.StopEOS || !slices.Equal(eos.IDs, res.IDs[:first]) {
			t.Errorf("eos: reason %q ids %v (err %v), want %v", eos.Reason, eos.IDs, err, res.IDs[:first])
		}
	})
	if _, err := m.Generate(context.Background(), llm.Request{Prompt: prompt}, func(llm.Token) error { return nil }); err == nil {
		t.Error("MaxTokens 0 accepted")
	}
	if _, err := m.Generate(context.Background(), llm.Request{Prompt: []int{512}, MaxTokens: 1}, func(llm.Token) error { return nil }); err == nil {
		t.Error("out-of-vocabulary prompt accepted")
	}
}

func TestStopStrings(t *testing.T) {
	m := loadModel(t, "qwen2-tiny-f32")
	m.SetDetokenizer(func() Detokenizer { return bracketDetok{} })
	defer m.SetDetokenizer(nil)
	noEOS(m, func() {
		full, _, _ := collect(t, m, context.Background(), llm.Request{Prompt: prompt, MaxTokens: 12})
		if full.Text != strings.Join(mapIDs(full.IDs), "") {
			t.Fatalf("text %q does not follow the detokenizer", full.Text)
		}
		// Stop on a string spanning the 4th and 5th tokens: "4th]" + "[5th".
		stop := fmt.Sprintf("%d][%d", full.IDs[3], full.IDs[4])
		res, toks, err := collect(t, m, context.Background(), llm.Request{Prompt: prompt, MaxTokens: 12, StopStrings: []string{"never", stop}})
		if err != nil || res.Reason != llm.StopString {
			t.Fatalf("reason %q err %v", res.Reason, err)
		}
		if !slices.Equal(res.IDs, full.IDs[:5]) || len(toks) != 5 {
			t.Errorf("ids %v, want %v", res.IDs, full.IDs[:5])
		}
		if !strings.HasSuffix(res.Text, stop) || !strings.HasSuffix(toks[4].Text, fmt.Sprint(full.IDs[4])) {
			t.Errorf("text %q should end with the stop string %q (last token %q)", res.Text, stop, toks[4].Text)
		}
	})
}

func mapIDs(ids []int) []string {
	var out []string
	for _, id := range ids {
		out = append(out, bracketDetok{}.Push(id))
	}
	return out
}

func TestCancellation(t *testing.T) {
	m := loadModel(t, "qwen2-tiny-f32")
	noEOS(m, func() {
		ctx, cancel := context.WithCancel(context.Background())
		n := 0
		res, err := m.Generate(ctx, llm.Request{Prompt: prompt, MaxTokens: 50}, func(llm.Token) error {
			if n++; n == 3 {
				cancel()
			}
			return nil
		})
		if !errors.Is(err, context.Canceled) || res.Reason != llm.StopCanceled || len(res.IDs) != 3 {
			t.Errorf("cancel after 3: reason %q, %d ids, err %v", res.Reason, len(res.IDs), err)
		}
		stop := errors.New("enough")
		res, err = m.Generate(context.Background(), llm.Request{Prompt: prompt, MaxTokens: 50}, func(llm.Token) error { return stop })
		if !errors.Is(err, stop) || res.Reason != llm.StopCanceled || len(res.IDs) != 1 {
			t.Errorf("callback error: reason %q, %d ids, err %v", res.Reason, len(res.IDs), err)
		}
		res, err = m.Generate(ctx, llm.Request{Prompt: prompt, MaxTokens: 50}, func(llm.Token) error { return nil })
		if !errors.Is(err, context.Canceled) || len(res.IDs) != 0 {
			t.Errorf("already canceled: %d ids, err %v", len(res.IDs), err)
		}
	})
}

// TestLongPromptCrossesChunksAndBuckets prefills past maxChunk and grows the cache across
// buckets, checking the result against the full forward pass.
func TestLongPromptCrossesChunksAndBuckets(t *testing.T) {
	m := loadModel(t, "qwen3-tiny-f32")
	ids := make([]int, maxChunk+40)
	for i := range ids {
		ids[i] = (i*37 + 11) % m.Config.Vocab
	}
	full, err := m.Logits(ids)
	if err != nil {
		t.Fatal(err)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	dec := m.newDecoder()
	defer dec.free()
	got, err := dec.feed(ids[:len(ids)-1])
	if err != nil {
		t.Fatal(err)
	}
	checkRow(t, len(ids)-2, got, full[len(ids)-2])
	if got, err = dec.feed(ids[len(ids)-1:]); err != nil {
		t.Fatal(err)
	}
	checkRow(t, len(ids)-1, got, full[len(ids)-1])
	if n := dec.cache.length; n != 512 {
		t.Errorf("cache bucket %d, want 512", n)
	}
}
