package runtime

import (
	"context"
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/infty-dev/infty/llm"
)

const modelsDir = "../testdata/models"

type reference struct {
	PromptIDs []int `json:"prompt_ids"`
	ByDType   map[string]struct {
		ModelDir     string      `json:"model_dir"`
		PromptLogits [][]float64 `json:"prompt_logits"`
		GreedyIDs    []int       `json:"greedy_ids"`
		MinMargin    float64     `json:"min_greedy_margin"`
	}
}

func readReference(t *testing.T, name string) reference {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(modelsDir, name+".reference.json"))
	if err != nil {
		t.Fatal(err)
	}
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(data, &raw); err != nil {
		t.Fatal(err)
	}
	var ref reference
	ref.ByDType = map[string]struct {
		ModelDir     string      `json:"model_dir"`
		PromptLogits [][]float64 `json:"prompt_logits"`
		GreedyIDs    []int       `json:"greedy_ids"`
		MinMargin    float64     `json:"min_greedy_margin"`
	}{}
	if err := json.Unmarshal(raw["prompt_ids"], &ref.PromptIDs); err != nil {
		t.Fatal(err)
	}
	for _, dt := range []string{"f32", "bf16"} {
		v := ref.ByDType[dt]
		if err := json.Unmarshal(raw[dt], &v); err != nil {
			t.Fatal(err)
		}
		ref.ByDType[dt] = v
	}
	return ref
}

// loaded caches models across tests: loading and compiling is the slow part.
var loaded = map[string]*Model{}

func loadModel(t *testing.T, dir string) *Model {
	t.Helper()
	if m, ok := loaded[dir]; ok {
		return m
	}
	m, err := Load(filepath.Join(modelsDir, dir), WithBackend("go"))
	if err != nil {
		t.Fatalf("Load(%s): %v", dir, err)
	}
	loaded[dir] = m
	return m
}

// relErr is max|got-want| over the row divided by the row's largest |want|.
func relErr[T float32 | float64](got []T, want []float64) float64 {
	maxDiff, maxAbs := 0.0, 0.0
	for i := range want {
		maxDiff = max(maxDiff, math.Abs(float64(got[i])-want[i]))
		maxAbs = max(maxAbs, math.Abs(want[i]))
	}
	return maxDiff / maxAbs
}

func eachFixture(t *testing.T, f func(t *testing.T, m *Model, ref reference, dtype string)) {
	for _, name := range []string{"qwen2-tiny", "qwen3-tiny"} {
		ref := readReference(t, name)
		for _, dtype := range []string{"f32", "bf16"} {
			t.Run(name+"-"+dtype, func(t *testing.T) {
				f(t, loadModel(t, ref.ByDType[dtype].ModelDir), ref, dtype)
			})
		}
	}
}

func TestLogitsMatchReference(t *testing.T) { eachFixture(t, checkLogits) }

func TestGreedyThroughCacheMatchesReference(t *testing.T) { eachFixture(t, checkGreedy) }

// checkLogits compares the full forward pass over the reference prompt with the reference
// logits, within 1e-4 of each row's largest.
func checkLogits(t *testing.T, m *Model, ref reference, dtype string) {
	t.Helper()
	logits, err := m.Logits(ref.PromptIDs)
	if err != nil {
		t.Fatal(err)
	}
	want := ref.ByDType[dtype].PromptLogits
	if len(logits) != len(want) {
		t.Fatalf("got %d rows, want %d", len(logits), len(want))
	}
	for i := range want {
		if e := relErr(logits[i], want[i]); e > 1e-4 {
			t.Errorf("position %d: relative error %.3g > 1e-4", i, e)
		}
	}
}

// checkGreedy generates greedily through the KV cache and compares the ids, returned and
// streamed, and the reason it stopped with the reference.
func checkGreedy(t *testing.T, m *Model, ref reference, dtype string) {
	t.Helper()
	want := ref.ByDType[dtype].GreedyIDs
	var streamed []int
	res, err := m.Generate(context.Background(), llm.Request{Prompt: ref.PromptIDs, MaxTokens: len(want)},
		func(tok llm.Token) error { streamed = append(streamed, tok.ID); return nil })
	if err != nil {
		t.Fatal(err)
	}
	// The fixtures' EOS (505) may legitimately end the reference early; the reference
	// continues past it, so compare up to the first EOS.
	if i := slices.IndexFunc(want, func(id int) bool { return slices.Contains(m.EOS, id) }); i >= 0 {
		want = want[:i]
		if res.Reason != llm.StopEOS {
			t.Errorf("reason %q, want %q", res.Reason, llm.StopEOS)
		}
	} else if res.Reason != llm.StopBudget {
		t.Errorf("reason %q, want %q", res.Reason, llm.StopBudget)
	}
	if !slices.Equal(res.IDs, want) || !slices.Equal(streamed, want) {
		t.Errorf("greedy ids\n got %v\nwant %v (streamed %v)", res.IDs, want, streamed)
	}
}

// TestCacheLogitsMatchFullForward feeds the prompt in uneven chunks, then one token at a time,
// and checks every step's logits against the full forward pass of the same prefix.
func TestCacheLogitsMatchFullForward(t *testing.T) {
	eachFixture(t, func(t *testing.T, m *Model, ref reference, dtype string) {
		seq := append(slices.Clone(ref.PromptIDs), ref.ByDType[dtype].GreedyIDs...)
		full, err := m.Logits(seq)
		if err != nil {
			t.Fatal(err)
		}
		m.mu.Lock()
		defer m.mu.Unlock()
		dec := m.newDecoder()
		defer dec.free()
		at := 0
		for _, n := range []int{5, 1, 9, 1, 1, 3} { // chunks of several sizes, padded to buckets
			got, err := dec.feed(seq[at : at+n])
			if err != nil {
				t.Fatal(err)
			}
			at += n
			checkRow(t, at-1, got, full[at-1])
		}
		for ; at < len(seq); at++ {
			got, err := dec.feed(seq[at : at+1])
			if err != nil {
				t.Fatal(err)
			}
			checkRow(t, at, got, full[at])
		}
	})
}

func checkRow(t *testing.T, pos int, got, want []float32) {
	t.Helper()
	w := make([]float64, len(want))
	for i, v := range want {
		w[i] = float64(v)
	}
	if e := relErr(got, w); e > 1e-5 {
		t.Errorf("position %d: cache vs full forward relative error %.3g", pos, e)
	}
}

// TestBF16Weights checks the half-precision weight path: the weights really kept in BF16,
// the full forward pass (which widens them to Float32 for matrix products) as exact as the
// Float32 path, and the decoding path (activations rounded to bfloat16 for matrix-vector
// products) close to it.
func TestBF16Weights(t *testing.T) {
	for _, name := range []string{"qwen2-tiny", "qwen3-tiny"} {
		ref := readReference(t, name)
		m, err := Load(filepath.Join(modelsDir, name+"-bf16"), WithWeightDType("bf16"))
		if err != nil {
			t.Fatal(err)
		}
		defer m.Close()
		if dt := m.Weights()[1+2].DType().String(); dt != "BFloat16" { // a q_proj
			t.Errorf("%s: q_proj kept as %s", name, dt)
		}
		logits, err := m.Logits(ref.PromptIDs)
		if err != nil {
			t.Fatal(err)
		}
		worst := 0.0
		for i, want := range ref.ByDType["bf16"].PromptLogits {
			worst = max(worst, relErr(logits[i], want))
		}
		if worst > 1e-4 {
			t.Errorf("%s: full forward relative error %.3g > 1e-4", name, worst)
		}
		m.mu.Lock()
		dec := m.newDecoder()
		got, err := dec.feed(ref.PromptIDs)
		dec.free()
		m.mu.Unlock()
		if err != nil {
			t.Fatal(err)
		}
		want := make([]float64, len(got))
		for i, v := range logits[len(logits)-1] {
			want[i] = float64(v)
		}
		e := relErr(got, want)
		t.Logf("%s: decoding path vs full forward, relative error %.3g (bf16 activations)", name, e)
		if e > 2e-2 || e == 0 {
			t.Errorf("%s: decoding path relative error %.3g, want in (0, 2e-2]", name, e)
		}
	}
	if _, err := Load(filepath.Join(modelsDir, "qwen2-tiny-f32"), WithWeightDType("int4")); err == nil {
		t.Error("unknown weight dtype accepted")
	}
}
