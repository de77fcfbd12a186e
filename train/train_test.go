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
	. "github.com/gomlx/gomlx/core/graph" //nolint:revive
	"github.com/gomlx/gomlx/core/tensors"
	"github.com/infty-dev/infty/llm"
	"github.com/infty-dev/infty/runtime"
	"github.com/infty-dev/infty/runtime/arch"
	"github.com/infty-dev/infty/runtime/backend"
)

const recipeDir = "../runtime/tinymodel/recipe"

// tinyConfig is a very small Qwen2 over the tiny byte-level vocabulary.
const tinyConfig = "testdata/tiny-config.json"

// configWith is tinyConfig with extra JSON members appended.
func configWith(t testing.TB, extra string) []byte {
	t.Helper()
	b, err := os.ReadFile(tinyConfig)
	if err != nil {
		t.Fatal(err)
	}
	return []byte(strings.TrimSuffix(strings.TrimSpace(string(b)), "}") + extra + "}")
}

func testBackend(t testing.TB) compute.Backend {
	b, err := backend.Open("")
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// squaredLogits is a loss unlike any trainer's, to show that the step minimises the loss it
// is given: the mean squared logit, weighted per position by its one input [B, S].
func squaredLogits(logits *Node, inputs []*Node) *Node {
	perPosition := ReduceMean(Square(logits), -1)
	return ReduceAllMean(Mul(perPosition, inputs[0]))
}

// fixedBatch is the same batch at every step: two rows of byte ids, the second weighted zero.
func fixedBatch(int) Batch {
	ids := []int32{257, 'a', '=', '4', 258, 'x', 257, 'b', '=', '1', 258, 'y'}
	weights := []float32{1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0}
	return Batch{IDs: tensors.FromFlatDataAndDimensions(ids, 2, 6),
		Inputs: []*tensors.Tensor{tensors.FromFlatDataAndDimensions(weights, 2, 6)}, Tokens: 6}
}

func newTrainer(t testing.TB, steps int) *Trainer {
	t.Helper()
	m, err := InitModel(tinyConfig, recipeDir, 7)
	if err != nil {
		t.Fatal(err)
	}
	tr, err := New(testBackend(t), m, Options{Steps: steps, BatchSize: 2, LR: 1e-2, Warmup: 2, ClipNorm: 1, WeightDecay: 0.01, Seed: 3, MaxLen: 256},
		squaredLogits, fixedBatch, "test")
	if err != nil {
		t.Fatal(err)
	}
	return tr
}

// The step reports and lowers the loss it was given, and Evaluate computes the same loss.
func TestStepMinimisesTheGivenLoss(t *testing.T) {
	tr := newTrainer(t, 20)
	before, err := tr.Evaluate(fixedBatch(0))
	if err != nil {
		t.Fatal(err)
	}
	st, err := tr.Step()
	if err != nil {
		t.Fatal(err)
	}
	if math.Abs(st.Loss-before) > 1e-6*math.Abs(before) {
		t.Errorf("the first step reports loss %v, Evaluate %v on the same weights", st.Loss, before)
	}
	for range 19 {
		if _, err := tr.Step(); err != nil {
			t.Fatal(err)
		}
	}
	after, _ := tr.Evaluate(fixedBatch(0))
	t.Logf("loss %.4f -> %.4f", before, after)
	if !(after < before/2) {
		t.Fatalf("loss went from %.4f to %.4f; expected at least a twofold drop", before, after)
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
	out, err := exec.Call(args...)
	if err != nil {
		t.Fatal(err)
	}
	return tensors.MustCopyFlatData[float32](out[0])
}

// A saved checkpoint is a model folder: reloaded, it gives bit-identical logits, and the
// runtime loads it and generates from it.
func TestCheckpointReloadsWithIdenticalLogits(t *testing.T) {
	tr := newTrainer(t, 3)
	for range 3 {
		if _, err := tr.Step(); err != nil {
			t.Fatal(err)
		}
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

// A trainer's in-memory snapshot is the model its checkpoint would be: the runtime gives the
// same logits and the same greedy tokens from it as from the checkpoint written and reloaded.
func TestSnapshotGeneratesAsTheCheckpoint(t *testing.T) {
	tr := newTrainer(t, 2)
	for range 2 {
		if _, err := tr.Step(); err != nil {
			t.Fatal(err)
		}
	}
	mem, err := tr.Snapshot()
	if err != nil {
		t.Fatal(err)
	}
	defer mem.Close()
	dir, err := tr.Save(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tr.Step(); err != nil { // later updates must not reach the snapshot
		t.Fatal(err)
	}
	disk, err := runtime.Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer disk.Close()
	if !slices.Equal(mem.EOS, disk.EOS) {
		t.Errorf("end-of-turn ids: snapshot %v, checkpoint %v", mem.EOS, disk.EOS)
	}
	for _, ids := range [][]int{{257, 'u', 's', 'e', 'r'}, {257, 'a', '=', '4', 258, 'x', 257, 'b', '=', '1'}} {
		want, err := disk.Logits(ids)
		if err != nil {
			t.Fatal(err)
		}
		got, err := mem.Logits(ids)
		if err != nil {
			t.Fatal(err)
		}
		for p := range want {
			for j := range want[p] {
				if d := math.Abs(float64(got[p][j] - want[p][j])); d > 1e-5 {
					t.Fatalf("%d ids, position %d, logit %d: snapshot %v, checkpoint %v", len(ids), p, j, got[p][j], want[p][j])
				}
			}
		}
		req := llm.Request{Prompt: ids, MaxTokens: 8}
		a, err := mem.Generate(context.Background(), req, func(llm.Token) error { return nil })
		if err != nil {
			t.Fatal(err)
		}
		b, err := disk.Generate(context.Background(), req, func(llm.Token) error { return nil })
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(a.IDs, b.IDs) {
			t.Errorf("greedy ids: snapshot %v, checkpoint %v", a.IDs, b.IDs)
		}
	}
}

func TestInitializerRange(t *testing.T) {
	dir := t.TempDir()
	for _, c := range []struct {
		extra string
		want  float64
	}{{``, 0.02}, {`,"initializer_range":0.125`, 0.125}} {
		path := filepath.Join(dir, "config.json")
		os.WriteFile(path, configWith(t, c.extra), 0o644)
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
	os.WriteFile(path, configWith(t, `,"initializer_range":-1`), 0o644)
	if _, err := InitModel(path, recipeDir, 1); err == nil || !strings.Contains(err.Error(), path) {
		t.Errorf("negative initializer_range: %v", err)
	}
}

// One update on gradients accumulated over micro-batches is the update on the whole batch, for
// a loss that sums over examples with the whole batch's normaliser; losses and Aux add up.
func TestStepMicroIsTheWholeBatchStep(t *testing.T) {
	summed := func(logits *Node, in []*Node) *Node {
		return DivScalar(ReduceAllSum(Mul(ReduceMean(Square(logits), -1), in[0])), 12)
	}
	objective := func(logits *Node, in []*Node) (*Node, []*Node) {
		return summed(logits, in), []*Node{summed(logits, in)}
	}
	row := func(k int) Batch {
		b := fixedBatch(0)
		ids := tensors.MustCopyFlatData[int32](b.IDs)[6*k : 6*k+6]
		w := tensors.MustCopyFlatData[float32](b.Inputs[0])[6*k : 6*k+6]
		w[0] = 0.5 // give the second row some weight too
		return Batch{IDs: tensors.FromFlatDataAndDimensions(ids, 1, 6), Inputs: []*tensors.Tensor{tensors.FromFlatDataAndDimensions(w, 1, 6)}, Tokens: 3}
	}
	whole := func(int) Batch {
		a, b := row(0), row(1)
		ids := slices.Concat(tensors.MustCopyFlatData[int32](a.IDs), tensors.MustCopyFlatData[int32](b.IDs))
		w := slices.Concat(tensors.MustCopyFlatData[float32](a.Inputs[0]), tensors.MustCopyFlatData[float32](b.Inputs[0]))
		return Batch{IDs: tensors.FromFlatDataAndDimensions(ids, 2, 6), Inputs: []*tensors.Tensor{tensors.FromFlatDataAndDimensions(w, 2, 6)}, Tokens: 6}
	}
	opt := Options{Steps: 3, BatchSize: 2, LR: 1e-2, ClipNorm: 0.5, WeightDecay: 0.01, MaxLen: 256}
	trainer := func() *Trainer {
		m, err := InitModel(tinyConfig, recipeDir, 7)
		if err != nil {
			t.Fatal(err)
		}
		tr, err := NewWithAux(testBackend(t), m, opt, objective, whole, "test")
		if err != nil {
			t.Fatal(err)
		}
		return tr
	}
	a, b := trainer(), trainer()
	for range 3 {
		sa, err := a.Step()
		if err != nil {
			t.Fatal(err)
		}
		sb, err := b.StepMicro([]Batch{row(0), row(1)})
		if err != nil {
			t.Fatal(err)
		}
		if math.Abs(sa.Loss-sb.Loss) > 1e-5*math.Abs(sa.Loss) || math.Abs(sa.GradNorm-sb.GradNorm) > 1e-4*sa.GradNorm ||
			math.Abs(sb.Aux[0]-sb.Loss) > 1e-6*math.Abs(sb.Loss) || sb.Tokens != 6 {
			t.Fatalf("whole batch: loss %v |g| %v; micro-batches: loss %v |g| %v aux %v tokens %d", sa.Loss, sa.GradNorm, sb.Loss, sb.GradNorm, sb.Aux, sb.Tokens)
		}
	}
	pa, _ := a.Params()
	pb, _ := b.Params()
	for i := range pa.Data {
		for j := range pa.Data[i] {
			if d := math.Abs(float64(pa.Data[i][j] - pb.Data[i][j])); d > 1e-5 {
				t.Fatalf("%s[%d]: %v whole, %v micro-batched", pa.Specs[i].Name, j, pa.Data[i][j], pb.Data[i][j])
			}
		}
	}
}
