package runtime

import (
	"cmp"
	"context"
	"encoding/binary"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"

	"github.com/gomlx/compute"
	"github.com/gomlx/compute/dtypes"
	"github.com/gomlx/compute/shapes"
	"github.com/gomlx/gomlx/core/graph"
	"github.com/gomlx/gomlx/core/tensors"
	"github.com/infty-dev/infty/runtime/arch"
	"github.com/infty-dev/infty/runtime/backend"
	"github.com/infty-dev/infty/runtime/genconfig"
	"github.com/infty-dev/infty/runtime/hub"
	"github.com/infty-dev/infty/runtime/kernels"
	_ "github.com/infty-dev/infty/runtime/qwen" // registers Qwen2ForCausalLM and Qwen3ForCausalLM
	"github.com/infty-dev/infty/runtime/safetensors"
)

// Detokenizer turns a stream of generated ids into text, one id at a time; Push returns the
// text completed by that id (empty while a UTF-8 character is still split across tokens).
type Detokenizer interface{ Push(id int) string }

// Model is a loaded model, of any architecture registered with runtime/arch, ready to generate.
//
// Concurrent Generate calls share forward passes (continuous batching, see batcher): each
// sequence has its own slot of one KV cache, whose size WithMaxBatch and WithKVBudget bound.
// Logits takes the model's lock. The compiled graphs are kept, so a Model serves any number of
// generations without recompiling (graphs compile once per bucket of rows, of chunk length and
// of cache size).
type Model struct {
	Dir    string
	Config *arch.Config
	EOS    []int // generation stops on any of these ids
	// Generation is what generation_config.json asks for (EOS ids, default sampling).
	Generation *genconfig.Config

	arch     arch.Model
	specs    []arch.TensorSpec // the architecture's tensors, in the order of weights
	backend  compute.Backend
	weights  []*tensors.Tensor
	newDetok func() Detokenizer

	mu       sync.Mutex
	forward  *graph.Exec // full forward: logits at every position
	stepExec *graph.Exec // a chunk of each of a batch of sequences against the KV cache
	lanes    *batchLanes

	// cacheExecMu guards the graphs built lazily to grow and clear the lanes' KV caches.
	cacheExecMu sync.Mutex
	growExecs   map[[2]int]*graph.Exec // by the cache's new [slots, length]: see grow
	clearExec   *graph.Exec            // see clearSlot
}

// Option configures Load.
type Option func(*loadOptions)

type loadOptions struct {
	backend     string
	weightDType string
	batch       BatchLimits
}

// WeightDTypeEnv names the environment variable read when WithWeightDType is not given.
const WeightDTypeEnv = "INFTY_WEIGHT_DTYPE"

// WithWeightDType chooses how the weight matrices are kept for computing: "f32" (the
// default: every product in float32, matching the float64 references to 1e-4) or "bf16"
// (matrices kept in bfloat16: half the memory and half the bytes read per decoded token;
// prefill and Logits widen them and stay exact, while per-token products round activations
// to bfloat16, about 2e-3 relative deviation of the logits on the fixtures). "" means $INFTY_WEIGHT_DTYPE, else "f32". Norm weights and
// biases stay float32 either way.
//
// "q8" quantizes every matrix (the projections, the embedding and the LM head, as llama.cpp's
// Q8_0 does) at load into GGML's Q8_0 blocks (kernels.QuantizeQ8): 34 bytes per 32 values,
// about a quarter of f32's memory. It is exactly the model of the dequantized values; on the
// random fixtures, which rounding moves far more than trained weights (bf16 alone moves them
// up to 4%), that lies within 10% relative of the float64 references (TestQ8Weights). A
// matrix whose input dimension is not a multiple of 32 cannot be cut into Q8_0 blocks and
// stays float32. It saves memory, not time: the pure-Go backend's Q8_0 product is scalar and
// decodes over ten times slower than bf16 (see README).
func WithWeightDType(dtype string) Option { return func(o *loadOptions) { o.weightDType = dtype } }

// WithBackend selects the compute backend ("" = $INFTY_BACKEND, else the pure-Go one).
func WithBackend(spec string) Option { return func(o *loadOptions) { o.backend = spec } }

// WithBatchLimits bounds continuous batching: how many sequences decode together and the
// memory of their KV cache (zero fields take the defaults, see BatchLimits).
func WithBatchLimits(l BatchLimits) Option { return func(o *loadOptions) { o.batch = l } }

// Load reads a model folder (or a hub id found complete in the cache: see hub.Resolve; Load never
// downloads), checks every tensor against config.json and prepares it on the backend. Errors
// name the file at fault.
func Load(ref string, opts ...Option) (*Model, error) {
	var o loadOptions
	for _, opt := range opts {
		opt(&o)
	}
	dir, err := hub.Resolve(context.Background(), ref, hub.ResolveOptions{})
	if err != nil {
		return nil, err
	}
	cfg, def, err := arch.Read(dir)
	if err != nil {
		return nil, err
	}
	gen, err := genconfig.Load(dir)
	if err != nil {
		return nil, err
	}
	m := &Model{Dir: dir, Config: cfg, arch: def, specs: def.Specs(), Generation: gen}
	if err := m.setEOS(genconfig.EndOfTurnIDs(cfg.EOS, gen, "", nil)); err != nil {
		return nil, err
	}
	if o.weightDType == "" {
		o.weightDType = os.Getenv(WeightDTypeEnv)
	}
	var kind weightKind
	switch strings.ToLower(o.weightDType) {
	case "", "f32", "float32":
	case "bf16", "bfloat16":
		kind = weightsBF16
	case "q8", "q8_0":
		kind = weightsQ8
	default:
		return nil, fmt.Errorf("weight dtype %q: want f32, bf16 or q8", o.weightDType)
	}
	if err := checkMemory(dir, o.backend, kind); err != nil {
		return nil, err
	}
	if m.backend, err = openBackend(o.backend); err != nil {
		return nil, err
	}
	if m.weights, err = loadWeights(m.backend, dir, cfg, m.specs, kind); err != nil {
		return nil, err
	}
	if err := m.compile(); err != nil {
		return nil, err
	}
	m.lanes = newBatchLanes(m, o.batch)
	return m, nil
}

// FromWeights makes a model of weights already in memory, such as a trainer's current
// parameters, so that it generates without a checkpoint written and read back. weights are
// Float32 tensors in the order of the architecture's Specs, matrices [out, in] as a checkpoint
// holds them (decoding then splits them into row blocks inside the graph: slower than a loaded
// model, the same numbers); the model takes them over (Close frees them). dir is the folder
// whose generation_config.json gives the generation defaults and end-of-turn ids, as Load
// reads them.
func FromWeights(backend compute.Backend, dir string, cfg *arch.Config, weights []*tensors.Tensor) (*Model, error) {
	def, err := arch.Build(cfg)
	if err != nil {
		return nil, err
	}
	specs := def.Specs()
	if len(weights) != len(specs) {
		return nil, fmt.Errorf("runtime: %d weights for the %d tensors of %s", len(weights), len(specs), cfg.Architecture)
	}
	for i, s := range specs {
		if got := weights[i].Shape(); got.DType != dtypes.Float32 || !slices.Equal(got.Dimensions, s.Shape) {
			return nil, fmt.Errorf("runtime: weight %q is %s, want Float32 %v", s.Name, got, s.Shape)
		}
		// On the backend before any step: lanes run steps at once, and GoMLX moves a host
		// tensor to the backend on its first use in a graph without guarding against a second
		// use at the same moment (the race detector caught it in RL rollouts).
		if err := weights[i].MaterializeOnDevice(backend, true, 0); err != nil {
			return nil, fmt.Errorf("runtime: weight %q: %w", s.Name, err)
		}
	}
	gen, err := genconfig.Load(dir)
	if err != nil {
		return nil, err
	}
	m := &Model{Dir: dir, Config: cfg, arch: def, specs: specs, Generation: gen, backend: backend, weights: weights}
	if err := m.setEOS(genconfig.EndOfTurnIDs(cfg.EOS, gen, "", nil)); err != nil {
		return nil, err
	}
	if err := m.compile(); err != nil {
		return nil, err
	}
	m.lanes = newBatchLanes(m, BatchLimits{})
	return m, nil
}

// weightKind is how Load keeps the weight matrices (WithWeightDType).
type weightKind int

const (
	weightsF32 weightKind = iota
	weightsBF16
	weightsQ8
)

// memoryCheck refuses an estimate the machine cannot hold; tests replace it with a fixed budget.
var memoryCheck = hub.CheckFits

// checkMemory refuses, before any weight is read, a model that cannot fit in host memory on a
// CPU backend (which holds every weight in host memory as float32, bfloat16 or Q8_0), so a
// too-large model fails with the numbers instead of being killed for memory halfway through.
// The CUDA backend holds weights in device memory, which this estimate does not see.
func checkMemory(dir, backendSpec string, kind weightKind) error {
	if spec, err := backend.ParseSpec(backendSpec); err != nil || spec.Kind == backend.KindCUDA {
		return err
	}
	dtype := "F32"
	if kind == weightsBF16 {
		dtype = "BF16"
	}
	est, err := hub.EstimateMemory(dir, hub.MemoryOptions{DType: dtype})
	if err != nil {
		return nil // a folder the estimate cannot read fails in the loader, which names the file
	}
	if kind == weightsQ8 {
		// Q8_0 holds 34 bytes per 32 values (the few matrices that stay float32 are tiny);
		// activations and the KV cache stay float32.
		q8 := est.Params / kernels.Q8Values * kernels.Q8Bytes
		est.Total += q8 - est.Weights
		est.Weights, est.DType = q8, "Q8_0"
	}
	if err := memoryCheck(est); err != nil {
		return fmt.Errorf("%s: %w", dir, err)
	}
	return nil
}

// SetDetokenizer installs the factory of streaming detokenizers used for Token.Text and stop
// strings (one fresh detokenizer per generation). nil means no text.
func (m *Model) SetDetokenizer(f func() Detokenizer) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.newDetok = f
}

// Backend is the compute backend the model runs on.
func (m *Model) Backend() compute.Backend { return m.backend }

// Weights returns the model's tensors in the order of Specs. Matrices may be stored as
// kernels.DecodeShape says (row blocks [p, out/p, in], or parts [k, p, out/p, in/k] that are
// not the checkpoint's bytes) and in BFloat16 (WithWeightDType), or as Q8_0 rows
// [out, in/32·34] Uint8 (kernels.QuantizeQ8); the architecture's Forward accepts them as they
// are.
func (m *Model) Weights() []*tensors.Tensor { return m.weights }

// Specs names the tensors of Weights.
func (m *Model) Specs() []arch.TensorSpec { return m.specs }

// Arch is the model's architecture.
func (m *Model) Arch() arch.Model { return m.arch }

// Close releases the compiled graphs and weights.
func (m *Model) Close() error {
	m.lanes.close()
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.forward != nil {
		m.forward.Finalize()
		m.stepExec.Finalize()
		m.forward, m.stepExec = nil, nil
	}
	m.cacheExecMu.Lock()
	for _, e := range m.growExecs {
		e.Finalize()
	}
	if m.clearExec != nil {
		m.clearExec.Finalize()
	}
	m.growExecs, m.clearExec = nil, nil
	m.cacheExecMu.Unlock()
	for _, t := range m.weights {
		t.FinalizeAll()
	}
	m.weights = nil
	return nil
}

// loadWeights opens the folder's safetensors and checks them against cfg: every expected
// tensor present with the expected shape, and nothing unexpected. Weights become Float32,
// except the matrices of kind bf16 (BFloat16) and q8 (Q8_0 where their rows split into blocks).
func loadWeights(be compute.Backend, dir string, cfg *arch.Config, specs []arch.TensorSpec, kind weightKind) ([]*tensors.Tensor, error) {
	half := kind == weightsBF16
	set, err := safetensors.OpenFolder(dir)
	if err != nil {
		return nil, err
	}
	defer set.Close()
	where := filepath.Join(dir, safetensors.SingleFileName)
	if _, err := os.Stat(where); err != nil {
		where = filepath.Join(dir, safetensors.IndexFileName)
	}
	expected := make(map[string]bool, len(specs))
	for _, s := range specs {
		expected[s.Name] = true
	}
	for _, name := range set.Names() {
		if expected[name] {
			continue
		}
		t, _ := set.Get(name)
		// transformers ignores these when loading, and so do we.
		if strings.HasSuffix(name, "rotary_emb.inv_freq") || (name == "lm_head.weight" && cfg.TieEmbeddings) {
			continue
		}
		return nil, fmt.Errorf("%s: unexpected tensor %q for %s with %d layers", t.File, name, cfg.Architecture, cfg.Layers)
	}
	out := make([]*tensors.Tensor, 0, len(specs))
	for _, s := range specs {
		t, ok := set.Get(s.Name)
		if !ok {
			return nil, fmt.Errorf("%s: missing tensor %q", where, s.Name)
		}
		if !slices.Equal(t.Shape, s.Shape) {
			return nil, fmt.Errorf("%s: tensor %q has shape %v, config.json implies %v", t.File, s.Name, t.Shape, s.Shape)
		}
		if kind == weightsQ8 && len(s.Shape) == 2 && s.Shape[1]%kernels.Q8Values == 0 {
			tensor, err := toQ8Tensor(be, t)
			if err != nil {
				return nil, err
			}
			out = append(out, tensor)
			continue
		}
		shape, dtype := s.Shape, dtypes.Float32
		if len(shape) == 2 {
			if half {
				dtype = dtypes.BFloat16
			}
			// Stored in blocks so decoding streams each matrix once on every core of the
			// pure-Go backend; a compiling backend tiles a plain matrix its own way.
			if !kernels.Compiling(be) {
				shape = kernels.DecodeShape(shape[0], shape[1], dtype)
			}
			if len(shape) == 4 && s.Name == embedName {
				shape = s.Shape // Embed gathers whole rows, which parts would scatter
			}
		}
		tensor, err := toTensor(be, t, shape, dtype)
		if err != nil {
			return nil, err
		}
		out = append(out, tensor)
	}
	return out, nil
}

// toTensor copies a checkpoint tensor out of the file mapping into a tensor of the given
// shape (same number of elements) and dtype, Float32 or BFloat16. The tensor is created on the
// backend and filled in place: on the pure-Go backend its buffer is shared with the host, so
// each weight exists once in memory, not once on the host and once more "on device".
func toTensor(backend compute.Backend, t safetensors.Tensor, shape []int, dtype dtypes.DType) (*tensors.Tensor, error) {
	bf16 := dtype == dtypes.BFloat16
	if t.DType != "F32" && t.DType != "BF16" && t.DType != "F16" {
		return nil, t.DecodeFloat32(nil, 0) // its error names the file, the tensor and the dtype
	}
	out, err := tensors.FromShapeForBackend(backend, 0, shapes.Make(dtype, shape...))
	if err != nil {
		return nil, err
	}
	size := dtype.Size()
	same := bf16 && t.DType == "BF16" || !bf16 && t.DType == "F32"
	var bad error
	// Widened a chunk at a time: never a second full-size copy of the weight.
	var chunk []float32
	if !same {
		chunk = make([]float32, min(t.NumElements(), 1<<16))
	}
	err = out.MutableBytes(func(dst []byte) {
		kernels.StoredRuns(shape, func(to, from, n int) {
			if same {
				copy(dst[to*size:(to+n)*size], t.Data[from*size:])
				return
			}
			for lo := 0; lo < n && bad == nil; lo += len(chunk) {
				c := chunk[:min(len(chunk), n-lo)]
				if bad = t.DecodeFloat32(c, from+lo); bad != nil {
					return
				}
				for i, v := range c {
					if bf16 {
						binary.LittleEndian.PutUint16(dst[2*(to+lo+i):], safetensors.Float32ToBF16(v))
					} else {
						binary.LittleEndian.PutUint32(dst[4*(to+lo+i):], math.Float32bits(v))
					}
				}
			}
		})
	})
	if err = cmp.Or(err, bad); err != nil {
		out.FinalizeAll()
		return nil, err
	}
	return out, nil
}

// toQ8Tensor quantizes a checkpoint matrix [out, in] (in a multiple of kernels.Q8Values; F32,
// BF16 or F16) into Q8_0 rows [out, in/32·34] Uint8, filled in place on the backend as
// toTensor does.
func toQ8Tensor(backend compute.Backend, t safetensors.Tensor) (*tensors.Tensor, error) {
	if t.DType != "F32" && t.DType != "BF16" && t.DType != "F16" {
		return nil, t.DecodeFloat32(nil, 0) // its error names the file, the tensor and the dtype
	}
	rows, in := t.Shape[0], t.Shape[1]
	rowBytes := kernels.Q8RowBytes(in)
	out, err := tensors.FromShapeForBackend(backend, 0, shapes.Make(dtypes.Uint8, rows, rowBytes))
	if err != nil {
		return nil, err
	}
	row := make([]float32, in)
	var bad error
	err = out.MutableBytes(func(dst []byte) {
		for r := range rows {
			if bad = t.DecodeFloat32(row, r*in); bad != nil {
				return
			}
			if err := kernels.QuantizeQ8(dst[r*rowBytes:(r+1)*rowBytes], row); err != nil {
				bad = fmt.Errorf("%s: tensor %q, row %d: %w", t.File, t.Name, r, err)
				return
			}
		}
	})
	if err = cmp.Or(err, bad); err != nil {
		out.FinalizeAll()
		return nil, err
	}
	return out, nil
}
