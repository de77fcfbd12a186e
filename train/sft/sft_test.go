package sft

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/gomlx/compute"
	"github.com/infty-dev/infty/llm"
	"github.com/infty-dev/infty/runtime"
	"github.com/infty-dev/infty/runtime/backend"
	"github.com/infty-dev/infty/runtime/genconfig"
	schema "github.com/infty-dev/infty/session/sft"
	"github.com/infty-dev/infty/session/synth"
	"github.com/infty-dev/infty/train"
)

const recipeDir = "../../runtime/tinymodel/recipe"

// testBackend is the backend Run trains on by default.
func testBackend(t testing.TB) compute.Backend {
	b, err := backend.Open("")
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func synthConvs(t testing.TB, seed uint64, n int, mode synth.Mode) []Conversation {
	t.Helper()
	ps, err := synth.Set(seed, n, 1, 7)
	if err != nil {
		t.Fatal(err)
	}
	ex, err := synth.Examples(ps, mode, 6)
	if err != nil {
		t.Fatal(err)
	}
	return conversations(ex)
}

// conversations turns synthetic examples into training conversations.
func conversations(ex []schema.Example) []Conversation {
	out := make([]Conversation, len(ex))
	for i, e := range ex {
		out[i] = Conversation{Example: e, Source: "synth"}
	}
	return out
}

// testModel is a very small Qwen2 over the tiny byte-level vocabulary.
func testModel(t testing.TB, dir string) *train.Model {
	t.Helper()
	m, err := train.InitModel("../testdata/tiny-config.json", dir, 7)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func decode(ids []int) string {
	var b strings.Builder
	for _, id := range ids {
		if id >= 256 {
			b.WriteString(tinySpecial(id))
		} else {
			b.WriteByte(byte(id))
		}
	}
	return b.String()
}

func tinySpecial(id int) string {
	return []string{"<|endoftext|>", "<|im_start|>", "<|im_end|>", "<think>", "</think>", "<summary>", "</summary>", "<history>", "</history>"}[id-256]
}

// The loss mask covers exactly the assistant's generated text and its end-of-turn token: not the
// user turn, not the template, not the pre-filled <history> block.
func TestLossMaskExcludesUserTurnAndHistory(t *testing.T) {
	q := "a=4 d=3 x=5 n=09. Do n steps: d=d+a, x=x+d (mod 10). x=?"
	hist := "<history>\n06 done: d=7 x=2\n</history>"
	gen := "<think>\n07: d=1 x=3\n</think>\nAnswer: \\boxed{3}\n"
	n := len(hist)
	msgs := []llm.Message{{Role: "user", Content: q}, {Role: "assistant", Content: hist + gen}}
	for _, c := range []Conversation{
		{Source: "implicit", Example: schema.Example{Chat: &schema.Chat{Messages: msgs}}},
		{Source: "explicit", Example: schema.Example{Chat: &schema.Chat{Messages: msgs, NoLossPrefixBytes: &n}}},
	} {
		s, err := Tokenize(byteChat{}, c, []int{258})
		if err != nil {
			t.Fatal(err)
		}
		var ctx, tgt []int
		for i, id := range s.IDs {
			if s.Trained[i] {
				if ctx == nil || len(tgt) == 0 && i != len(ctx) {
					t.Fatalf("%s: trained tokens are not one suffix", c.Source)
				}
				tgt = append(tgt, id)
			} else {
				if len(tgt) > 0 {
					t.Fatalf("%s: an untrained token follows trained ones", c.Source)
				}
				ctx = append(ctx, id)
			}
		}
		if got, want := decode(ctx), "<|im_start|>user\n"+q+"<|im_end|>\n<|im_start|>assistant\n"+hist; got != want {
			t.Errorf("%s: context\n got %q\nwant %q", c.Source, got, want)
		}
		if got, want := decode(tgt), gen+"<|im_end|>"; got != want {
			t.Errorf("%s: target\n got %q\nwant %q", c.Source, got, want)
		}
	}
	// A first iteration has no history: everything of the assistant turn is trained.
	s, err := Tokenize(byteChat{}, Conversation{Example: schema.Example{Chat: &schema.Chat{Messages: []llm.Message{{Role: "user", Content: q}, {Role: "assistant", Content: gen}}}}}, []int{258})
	if err != nil {
		t.Fatal(err)
	}
	first := slices.Index(s.Trained, true)
	if got := decode(s.IDs[first:]); got != gen+"<|im_end|>" {
		t.Errorf("first iteration target %q", got)
	}
}

// The real tokenizer and chat template of the tiny model's folder give the ids the test
// stand-in gives (every byte one token), so the mask test above speaks for them too.
func TestFolderChatMatchesByteChat(t *testing.T) {
	fc, err := runtime.LoadChat(recipeDir)
	if err != nil {
		t.Fatal(err)
	}
	gen, err := genconfig.Load(recipeDir)
	if err != nil {
		t.Fatal(err)
	}
	eos := genconfig.EndOfTurnIDs(nil, gen, fc.Tmpl.Special["eos_token"], fc.Tok)
	if !slices.Equal(eos, []int{258}) {
		t.Fatalf("eos %v", eos)
	}
	for _, c := range synthConvs(t, 3, 5, synth.ModeIterative) {
		a, err := Tokenize(fc, c, eos)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := Tokenize(byteChat{}, c, eos)
		if !slices.Equal(a.IDs, b.IDs) || !slices.Equal(a.Trained, b.Trained) {
			t.Fatalf("tokenizations differ for %q", c.Messages[1].Content)
		}
	}
}

func TestReadJSONLErrorsNameTheLine(t *testing.T) {
	dir := t.TempDir()
	cases := map[string]string{
		"not json":      `{"messages": [` + "\n",
		"last not asst": `{"messages":[{"role":"user","content":"q"},{"role":"user","content":"q"}]}`,
		"bad role":      `{"messages":[{"role":"robot","content":"q"},{"role":"assistant","content":"a"}]}`,
		"open history":  `{"messages":[{"role":"user","content":"q"},{"role":"assistant","content":"<history>\nx<think>"}]}`,
		"bad prefix":    `{"messages":[{"role":"user","content":"q"},{"role":"assistant","content":"abc"}],"no_loss_prefix_bytes":9}`,
		"flat layout":   `{"question":"q","history":"","reasoning_process":"r","summary":"s","conclusion":""}`,
	}
	for name, line := range cases {
		path := filepath.Join(dir, strings.ReplaceAll(name, " ", "_")+".jsonl")
		os.WriteFile(path, []byte("\n"+line+"\n"), 0o644)
		_, err := ReadJSONL(path)
		if err == nil || !strings.Contains(err.Error(), path+":2") {
			t.Errorf("%s: error %v does not name %s:2", name, err, path)
		}
	}
	empty := filepath.Join(dir, "empty.jsonl")
	os.WriteFile(empty, nil, 0o644)
	if _, err := ReadJSONL(empty); err == nil {
		t.Error("empty file accepted")
	}
}

func newTrainer(t testing.TB, data *Dataset, steps, stopAt int) *train.Trainer {
	t.Helper()
	tr, err := NewTrainer(testBackend(t), testModel(t, recipeDir), data, train.Options{Steps: steps, StopAt: stopAt, BatchSize: 4, LR: 1e-2, Warmup: 2, ClipNorm: 1, WeightDecay: 0.01, Seed: 3, MaxLen: 256}, "test")
	if err != nil {
		t.Fatal(err)
	}
	return tr
}

func fixedData(t testing.TB) *Dataset {
	d, err := NewDataset(byteChat{}, synthConvs(t, 1, 4, synth.ModeVanilla), []int{258}, 256)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// Training on a small fixed batch drives its loss well down.
func TestTrainingLowersLossOnFixedBatch(t *testing.T) {
	ps, _ := synth.Set(1, 4, 2, 3)
	ex, _ := synth.Examples(ps, synth.ModeVanilla, 6)
	data, err := NewDataset(byteChat{}, conversations(ex), []int{258}, 256)
	if err != nil {
		t.Fatal(err)
	}
	tr := newTrainer(t, data, 40, 0)
	before, err := data.Evaluate(tr, data.Samples)
	if err != nil {
		t.Fatal(err)
	}
	for range 40 {
		if _, err := tr.Step(); err != nil {
			t.Fatal(err)
		}
	}
	after, _ := data.Evaluate(tr, data.Samples)
	t.Logf("loss %.3f -> %.3f", before, after)
	if !(after < before/3) {
		t.Fatalf("loss went from %.3f to %.3f; expected at least a threefold drop", before, after)
	}
}

func paramsOf(t testing.TB, tr *train.Trainer) [][]float32 {
	p, err := tr.Params()
	if err != nil {
		t.Fatal(err)
	}
	return p.Data
}

func sameParams(a, b [][]float32) bool {
	for i := range a {
		if !slices.Equal(a[i], b[i]) {
			return false
		}
	}
	return true
}

// Same seed, same data: bit-identical weights; and a run resumed from a checkpoint ends exactly
// where an uninterrupted one does.
func TestDeterministicAndResumable(t *testing.T) {
	data := fixedData(t)
	out := t.TempDir()
	a := newTrainer(t, data, 4, 0)
	if _, err := a.Run(context.Background(), out, nil); err != nil {
		t.Fatal(err)
	}
	b := newTrainer(t, data, 4, 2)
	mid := filepath.Join(t.TempDir(), "mid")
	dir, err := b.Run(context.Background(), mid, nil)
	if err != nil || b.Done() != 2 || filepath.Base(dir) != "checkpoint-000002" {
		t.Fatalf("stop-at 2: step %d, %s, %v", b.Done(), dir, err)
	}
	c := newTrainer(t, data, 4, 0)
	if err := c.Resume(dir); err != nil {
		t.Fatal(err)
	}
	if c.Done() != 2 {
		t.Fatalf("resumed at step %d", c.Done())
	}
	for range 2 {
		c.Step()
	}
	if !sameParams(paramsOf(t, a), paramsOf(t, c)) {
		t.Fatal("resumed run differs from the uninterrupted one")
	}
	latest, err := train.LatestCheckpoint(out)
	if err != nil || filepath.Base(latest) != "checkpoint-000004" {
		t.Fatalf("latest checkpoint %q, %v", latest, err)
	}
	// Resuming under other options is refused.
	d, _ := NewTrainer(testBackend(t), testModel(t, recipeDir), data, train.Options{Steps: 9, BatchSize: 4, Seed: 4, LR: 1e-2, Warmup: 2, MaxLen: 256}, "test")
	if err := d.Resume(dir); err == nil {
		t.Fatal("resume with other options accepted")
	}
	short, _ := NewTrainer(testBackend(t), testModel(t, recipeDir), data, train.Options{Steps: 1, BatchSize: 4, LR: 1e-2, Warmup: 1, Seed: 3, MaxLen: 256}, "test")
	if err := short.Resume(dir); err == nil {
		t.Fatal("resume past --steps accepted")
	}
	// Training on: more steps than the checkpoint's run is allowed.
	longer := newTrainer(t, data, 8, 0)
	if err := longer.Resume(dir); err != nil || longer.Done() != 2 {
		t.Fatalf("resume with more steps: %v", err)
	}
	e, _ := NewTrainer(testBackend(t), testModel(t, recipeDir), data, train.Options{Steps: 4, BatchSize: 4, LR: 1e-2, Warmup: 2, Seed: 3, MaxLen: 256}, "other data")
	if err := e.Resume(dir); err == nil {
		t.Fatal("resume on other data accepted")
	}
	// Nor from other starting weights; a checkpoint from before they were recorded resumes.
	other, err := train.InitModel("../testdata/tiny-config.json", recipeDir, 8)
	if err != nil {
		t.Fatal(err)
	}
	f, _ := NewTrainer(testBackend(t), other, data, train.Options{Steps: 4, BatchSize: 4, LR: 1e-2, Warmup: 2, ClipNorm: 1, WeightDecay: 0.01, Seed: 3, MaxLen: 256}, "test")
	if err := f.Resume(dir); err == nil || !strings.Contains(err.Error(), "started from other weights") {
		t.Fatalf("resume from other starting weights: %v", err)
	}
	stateFile := filepath.Join(dir, "trainer_state.json")
	st, err := os.ReadFile(stateFile)
	if err != nil || !bytes.Contains(st, []byte(`"start_hash"`)) {
		t.Fatalf("%s records no start_hash (%v)", stateFile, err)
	}
	old := regexp.MustCompile(`\s*"start_hash": "[0-9a-f]+",`).ReplaceAll(st, nil)
	if err := os.WriteFile(stateFile, old, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := f.Resume(dir); err != nil {
		t.Fatalf("a checkpoint without start_hash: %v", err)
	}
}
