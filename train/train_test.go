package train

import (
	"context"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/gomlx/compute"
	"github.com/gomlx/compute/gobackend"
	. "github.com/gomlx/gomlx/core/graph" //nolint:revive
	"github.com/gomlx/gomlx/core/tensors"
	"github.com/infty-dev/infty/llm"
	"github.com/infty-dev/infty/runtime"
	"github.com/infty-dev/infty/runtime/arch"
	"github.com/infty-dev/infty/session/synth"
)

const recipeDir = "../runtime/tinymodel/recipe"

// testConfig is a very small Qwen2 over the tiny byte-level vocabulary.
const testConfig = `{"architectures":["Qwen2ForCausalLM"],"model_type":"qwen2","hidden_size":32,
"intermediate_size":64,"num_hidden_layers":2,"num_attention_heads":4,"num_key_value_heads":2,
"vocab_size":272,"max_position_embeddings":256,"eos_token_id":258,"tie_word_embeddings":true,
"rope_theta":10000,"rms_norm_eps":1e-6}`

func testBackend(t testing.TB) compute.Backend {
	b, err := gobackend.New("ops_sequential")
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
func conversations(ex []synth.Example) []Conversation {
	out := make([]Conversation, len(ex))
	for i, e := range ex {
		out[i] = Conversation{Source: "synth", Messages: []Message{{e.Messages[0].Role, e.Messages[0].Content}, {e.Messages[1].Role, e.Messages[1].Content}}}
	}
	return out
}

func testModel(t testing.TB, dir string) *Model {
	t.Helper()
	path := filepath.Join(t.TempDir(), "config.json")
	if err := os.WriteFile(path, []byte(testConfig), 0o644); err != nil {
		t.Fatal(err)
	}
	m, err := InitModel(path, dir, 7)
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
	for _, c := range []Conversation{
		{Source: "implicit", Messages: []Message{{"user", q}, {"assistant", hist + gen}}},
		{Source: "explicit", Messages: []Message{{"user", q}, {"assistant", hist + gen}}, NoLossPrefixBytes: &n},
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
	s, err := Tokenize(byteChat{}, Conversation{Messages: []Message{{"user", q}, {"assistant", gen}}}, []int{258})
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
	fc, err := LoadChat(recipeDir)
	if err != nil {
		t.Fatal(err)
	}
	eos := EOS(recipeDir, nil, fc.Tok)
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

func TestLearningRateSchedule(t *testing.T) {
	if lr := LearningRate(5, 10, 100, 1, 0.1); math.Abs(lr-0.5) > 1e-12 {
		t.Errorf("warmup midpoint %v", lr)
	}
	if lr := LearningRate(10, 10, 100, 1, 0.1); lr != 1 {
		t.Errorf("peak %v", lr)
	}
	if lr := LearningRate(55, 10, 100, 1, 0.1); math.Abs(lr-0.55) > 1e-12 {
		t.Errorf("cosine midpoint %v", lr)
	}
	if lr := LearningRate(100, 10, 100, 1, 0.1); math.Abs(lr-0.1) > 1e-12 {
		t.Errorf("end %v", lr)
	}
}

func newTrainer(t testing.TB, data *Dataset, steps int) *Trainer {
	t.Helper()
	tr, err := New(testBackend(t), testModel(t, recipeDir), data, Options{Steps: steps, BatchSize: 4, LR: 1e-2, Warmup: 2, ClipNorm: 1, WeightDecay: 0.01, Seed: 3, MaxLen: 256}, "test")
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
	tr := newTrainer(t, data, 40)
	before, err := tr.Evaluate(data.Samples)
	if err != nil {
		t.Fatal(err)
	}
	for range 40 {
		if _, err := tr.Step(); err != nil {
			t.Fatal(err)
		}
	}
	after, _ := tr.Evaluate(data.Samples)
	t.Logf("loss %.3f -> %.3f", before, after)
	if !(after < before/3) {
		t.Fatalf("loss went from %.3f to %.3f; expected at least a threefold drop", before, after)
	}
}

func paramsOf(t testing.TB, tr *Trainer) [][]float32 {
	h, err := fromTensors(tr.params)
	if err != nil {
		t.Fatal(err)
	}
	return h
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
	a := newTrainer(t, data, 4)
	if _, err := a.Run(context.Background(), out, nil); err != nil {
		t.Fatal(err)
	}
	b := newTrainer(t, data, 4)
	b.opt.StopAt = 2
	mid := filepath.Join(t.TempDir(), "mid")
	dir, err := b.Run(context.Background(), mid, nil)
	if err != nil || b.Done() != 2 || filepath.Base(dir) != "checkpoint-000002" {
		t.Fatalf("stop-at 2: step %d, %s, %v", b.Done(), dir, err)
	}
	c := newTrainer(t, data, 4)
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
	latest, err := LatestCheckpoint(out)
	if err != nil || filepath.Base(latest) != "checkpoint-000004" {
		t.Fatalf("latest checkpoint %q, %v", latest, err)
	}
	// Resuming under other options is refused.
	d, _ := New(testBackend(t), testModel(t, recipeDir), data, Options{Steps: 9, BatchSize: 4, Seed: 4, LR: 1e-2, Warmup: 2, MaxLen: 256}, "test")
	if err := d.Resume(dir); err == nil {
		t.Fatal("resume with other options accepted")
	}
	short, _ := New(testBackend(t), testModel(t, recipeDir), data, Options{Steps: 1, BatchSize: 4, LR: 1e-2, Warmup: 1, Seed: 3, MaxLen: 256}, "test")
	if err := short.Resume(dir); err == nil {
		t.Fatal("resume past --steps accepted")
	}
	// Training on: more steps than the checkpoint's run is allowed.
	longer := newTrainer(t, data, 8)
	if err := longer.Resume(dir); err != nil || longer.Done() != 2 {
		t.Fatalf("resume with more steps: %v", err)
	}
	e, _ := New(testBackend(t), testModel(t, recipeDir), data, Options{Steps: 4, BatchSize: 4, LR: 1e-2, Warmup: 2, Seed: 3, MaxLen: 256}, "other data")
	if err := e.Resume(dir); err == nil {
		t.Fatal("resume on other data accepted")
	}
}

func logits(t testing.TB, b compute.Backend, m *Model, params []*tensors.Tensor, ids []int32) []float32 {
	t.Helper()
	exec, err := NewExec(b, func(in []*Node) *Node {
		w, err := arch.Bind(m.Params.Specs, in[:len(in)-1])
		if err != nil {
			panic(err)
		}
		x := in[len(in)-1]
		return m.Arch.Forward(w, x, positionsFor(x))
	})
	if err != nil {
		t.Fatal(err)
	}
	args := make([]any, 0, len(params)+1)
	for _, p := range params {
		args = append(args, p)
	}
	args = append(args, tensors.FromFlatDataAndDimensions(ids, 1, len(ids)))
	out, err := exec.Exec(args...)
	if err != nil {
		t.Fatal(err)
	}
	return tensors.MustCopyFlatData[float32](out[0])
}

// A saved checkpoint is a model folder: reloaded, it gives bit-identical logits, and the
// runtime loads it and generates from it.
func TestCheckpointReloadsWithIdenticalLogits(t *testing.T) {
	data := fixedData(t)
	tr := newTrainer(t, data, 3)
	for range 3 {
		tr.Step()
	}
	dir, err := tr.Save(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"config.json", "model.safetensors", "tokenizer.json", "tokenizer_config.json", optimizerFile, stateFile} {
		if _, err := os.Stat(filepath.Join(dir, f)); err != nil {
			t.Fatalf("checkpoint lacks %s", f)
		}
	}
	m, err := LoadModel(dir)
	if err != nil {
		t.Fatal(err)
	}
	ids := []int32{257, 'u', 's', 'e', 'r', '\n', 'a', '=', '4', 258}
	want := logits(t, tr.backend, tr.model, tr.params, ids)
	got := logits(t, tr.backend, m, m.Params.Tensors(), ids)
	if !slices.Equal(want, got) {
		t.Fatal("reloaded checkpoint gives different logits")
	}
	rt, err := runtime.Load(dir)
	if err != nil {
		t.Fatalf("runtime cannot load the checkpoint: %v", err)
	}
	defer rt.Close()
	res, err := rt.Generate(context.Background(), llm.Request{Prompt: []int{257, 'u'}, MaxTokens: 3}, func(llm.Token) error { return nil })
	if err != nil || len(res.IDs) == 0 {
		t.Fatalf("generation from the checkpoint: %v, %v", res, err)
	}
	// The exported BF16 folder is what gets embedded: its weights are the F32 ones rounded.
	bf := t.TempDir()
	if err := tr.Export(bf, "BF16"); err != nil {
		t.Fatal(err)
	}
	mb, err := LoadModel(bf)
	if err != nil {
		t.Fatal(err)
	}
	if mb.Params.Data[0][5] != float32(math.Float32frombits(math.Float32bits(m.Params.Data[0][5])&0xffff0000)) &&
		math.Abs(float64(mb.Params.Data[0][5]-m.Params.Data[0][5])) > 1e-2*math.Abs(float64(m.Params.Data[0][5])) {
		t.Fatal("BF16 export does not round the weights")
	}
}

func TestInitializerRange(t *testing.T) {
	dir := t.TempDir()
	for _, c := range []struct {
		extra string
		want  float64
	}{{``, 0.02}, {`,"initializer_range":0.125`, 0.125}} {
		path := filepath.Join(dir, "config.json")
		os.WriteFile(path, []byte(strings.TrimSuffix(testConfig, "}")+c.extra+"}"), 0o644)
		m, err := InitModel(path, recipeDir, 1)
		if err != nil {
			t.Fatal(err)
		}
		var sum float64
		emb := m.Params.Data[0]
		for _, v := range emb {
			sum += float64(v) * float64(v)
		}
		if std := math.Sqrt(sum / float64(len(emb))); math.Abs(std-c.want) > 0.1*c.want {
			t.Errorf("initializer_range %q: embedding std %.4f, want %.4f", c.extra, std, c.want)
		}
	}
	path := filepath.Join(dir, "bad.json")
	os.WriteFile(path, []byte(strings.TrimSuffix(testConfig, "}")+`,"initializer_range":-1}`), 0o644)
	if _, err := InitModel(path, recipeDir, 1); err == nil || !strings.Contains(err.Error(), path) {
		t.Errorf("negative initializer_range: %v", err)
	}
}
