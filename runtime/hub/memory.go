package hub

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"github.com/infty-dev/infty/internal/safefile"

	"github.com/infty-dev/infty/runtime/safetensors"
)

// MemoryOptions says how the runtime will hold and run a model.
type MemoryOptions struct {
	// DType is the dtype the backend holds weights in: "F32", "BF16" or "F16"; empty means as
	// stored. The pure-Go backend converts to F32, so callers on it pass "F32".
	DType string
	// KVDType is the KV cache dtype; empty means DType, or F32 when DType is empty too.
	KVDType string
	// ContextLen is the number of positions the KV cache holds; 0 means 4096, capped at the
	// model's max_position_embeddings.
	ContextLen int
	// Batch is the number of sequences decoded together; 0 means 1.
	Batch int
	// PrefillChunk is how many prompt positions one forward pass processes; 0 means
	// min(ContextLen, 512). It sizes the attention scores and MLP activations.
	PrefillChunk int
}

// MemoryEstimate breaks down the bytes a model needs in memory.
type MemoryEstimate struct {
	Params      int64 // number of weight elements
	Weights     int64 // weights as the backend holds them
	KVCache     int64
	Activations int64 // the largest transient tensors of one layer during prefill, plus logits
	Overhead    int64 // the program, tokenizer, graph buffers, and one stored tensor while converting
	Total       int64

	DType      string
	KVDType    string
	ContextLen int
	Batch      int
}

func (e MemoryEstimate) String() string {
	return fmt.Sprintf("%s = weights %s (%.2fB params as %s) + KV cache %s (%d tokens × %d, %s) + activations %s + overhead %s",
		FormatBytes(e.Total), FormatBytes(e.Weights), float64(e.Params)/1e9, e.DType, FormatBytes(e.KVCache),
		e.ContextLen, e.Batch, e.KVDType, FormatBytes(e.Activations), FormatBytes(e.Overhead))
}

// baseOverhead covers the Go program, the tokenizer tables and graph bookkeeping.
const baseOverhead = 256 << 20

// tensorStats sums the tensors of a model folder's safetensors files, reading only headers.
type tensorStats struct {
	params, stored, largest int64
	dtypes                  map[string]int64 // stored bytes per dtype
	layers                  int64            // 1 + the highest N of model.layers.N.*; 0 when none
	embed                   []int            // the shape of model.embed_tokens.weight, if present
}

// EstimateMemory estimates from config.json and the safetensors headers in dir how much memory
// the model needs: weights as the backend holds them, KV cache for the context, activations.
func EstimateMemory(dir string, o MemoryOptions) (MemoryEstimate, error) {
	var cfg struct {
		Hidden       int64  `json:"hidden_size"`
		Inter        int64  `json:"intermediate_size"`
		Layers       int64  `json:"num_hidden_layers"`
		Heads        int64  `json:"num_attention_heads"`
		KVHeads      int64  `json:"num_key_value_heads"`
		HeadDim      int64  `json:"head_dim"`
		Vocab        int64  `json:"vocab_size"`
		MaxPos       int64  `json:"max_position_embeddings"`
		TorchDType   string `json:"torch_dtype"`
		DTypeNewName string `json:"dtype"`
	}
	cfgPath := filepath.Join(dir, "config.json")
	b, err := safefile.ReadFile(cfgPath, safefile.ConfigLimit)
	if err != nil {
		return MemoryEstimate{}, err
	}
	if err := json.Unmarshal(b, &cfg); err != nil {
		return MemoryEstimate{}, fmt.Errorf("%s: %v", cfgPath, err)
	}
	if cfg.Hidden <= 0 || cfg.Layers <= 0 || cfg.Heads <= 0 || cfg.Vocab <= 0 {
		return MemoryEstimate{}, fmt.Errorf("%s: hidden_size, num_hidden_layers, num_attention_heads and vocab_size must be positive", cfgPath)
	}
	if cfg.Inter < 0 || cfg.KVHeads < 0 || cfg.HeadDim < 0 || cfg.MaxPos < 0 {
		return MemoryEstimate{}, fmt.Errorf("%s: intermediate_size, num_key_value_heads, head_dim and max_position_embeddings must not be negative", cfgPath)
	}
	if cfg.KVHeads <= 0 {
		cfg.KVHeads = cfg.Heads
	}
	if cfg.HeadDim <= 0 {
		cfg.HeadDim = cfg.Hidden / cfg.Heads
	}
	st, err := safetensorsStats(dir)
	if err != nil {
		return MemoryEstimate{}, err
	}
	// The weights are what is really there: a config that claims more layers, or another
	// embedding, than they hold would size the KV cache and activations from fiction.
	if st.layers > 0 && cfg.Layers > st.layers {
		return MemoryEstimate{}, fmt.Errorf("%s: num_hidden_layers is %d but the weights hold only %d layers", cfgPath, cfg.Layers, st.layers)
	}
	if len(st.embed) == 2 && (int64(st.embed[0]) != cfg.Vocab || int64(st.embed[1]) != cfg.Hidden) {
		return MemoryEstimate{}, fmt.Errorf("%s: vocab_size %d × hidden_size %d, but the weights' model.embed_tokens.weight is %d × %d",
			cfgPath, cfg.Vocab, cfg.Hidden, st.embed[0], st.embed[1])
	}

	e := MemoryEstimate{Params: st.params, DType: strings.ToUpper(o.DType), KVDType: strings.ToUpper(o.KVDType),
		ContextLen: o.ContextLen, Batch: o.Batch}
	if e.DType == "" {
		e.Weights = st.stored
		e.DType = "stored " + storedDTypes(st.dtypes)
	} else {
		size, ok := safetensors.DTypeSize(e.DType)
		if !ok {
			return MemoryEstimate{}, fmt.Errorf("unknown dtype %q (want F32, BF16 or F16)", o.DType)
		}
		if e.Weights, ok = mulChecked(st.params, int64(size)); !ok {
			return MemoryEstimate{}, fmt.Errorf("%s: the weights' sizes overflow", dir)
		}
	}
	if e.KVDType == "" {
		e.KVDType = strings.ToUpper(o.DType)
		if e.KVDType == "" {
			e.KVDType = "F32"
		}
	}
	kvSize, ok := safetensors.DTypeSize(e.KVDType)
	if !ok {
		return MemoryEstimate{}, fmt.Errorf("unknown KV cache dtype %q", e.KVDType)
	}
	if e.ContextLen <= 0 {
		e.ContextLen = 4096
		if cfg.MaxPos > 0 && cfg.MaxPos < 4096 {
			e.ContextLen = int(cfg.MaxPos)
		}
	}
	if e.Batch <= 0 {
		e.Batch = 1
	}
	ctx, batch := int64(e.ContextLen), int64(e.Batch)
	chunk := int64(o.PrefillChunk)
	if chunk <= 0 {
		chunk = min(ctx, 512)
	}
	// Every product is checked: config.json is outside data, and a wrapped int64 would pass the
	// fit check.
	m := func(vs ...int64) int64 {
		p, ok := mulChecked(vs...)
		if !ok {
			err = fmt.Errorf("%s: the sizes it gives (num_hidden_layers %d, hidden_size %d, intermediate_size %d, heads %d/%d, head_dim %d, vocab_size %d) with a context of %d × %d overflow the memory estimate",
				cfgPath, cfg.Layers, cfg.Hidden, cfg.Inter, cfg.Heads, cfg.KVHeads, cfg.HeadDim, cfg.Vocab, ctx, batch)
		}
		return p
	}
	a := func(vs ...int64) int64 {
		s, ok := addChecked(vs...)
		if !ok && err == nil {
			err = fmt.Errorf("%s: the memory estimate overflows", cfgPath)
		}
		return s
	}
	e.KVCache = m(2, cfg.Layers, cfg.KVHeads, cfg.HeadDim, ctx, batch, int64(kvSize))

	// One layer's transients in F32 (layers run one after another, so they do not add up):
	// residual stream and its normed copy, q/k/v, attention scores and their softmax, the
	// attention output, gate/up/product of the MLP; logits for the last position only.
	const f = 4
	perChunk := m(chunk, a(m(3, cfg.Hidden), m(a(cfg.Heads, m(2, cfg.KVHeads)), cfg.HeadDim), m(cfg.Heads, cfg.HeadDim), m(3, cfg.Inter)))
	scores := m(2, cfg.Heads, chunk, ctx)
	e.Activations = m(batch, f, a(perChunk, scores, cfg.Vocab))
	e.Overhead = a(baseOverhead, st.largest)
	e.Total = a(e.Weights, e.KVCache, e.Activations, e.Overhead)
	if err != nil {
		return MemoryEstimate{}, err
	}
	return e, nil
}

// mulChecked multiplies non-negative numbers; ok is false when the product overflows int64.
func mulChecked(vs ...int64) (p int64, ok bool) {
	p = 1
	for _, v := range vs {
		if v < 0 || (v != 0 && p > math.MaxInt64/v) {
			return 0, false
		}
		p *= v
	}
	return p, true
}

// addChecked adds non-negative numbers; ok is false when the sum overflows int64.
func addChecked(vs ...int64) (s int64, ok bool) {
	for _, v := range vs {
		if v < 0 || s > math.MaxInt64-v {
			return 0, false
		}
		s += v
	}
	return s, true
}

func storedDTypes(m map[string]int64) string {
	var ks []string
	for k := range m {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return strings.Join(ks, "+")
}

// safetensorsStats reads the headers of the weights in dir: the shards the index names, or
// every *.safetensors file.
func safetensorsStats(dir string) (tensorStats, error) {
	var files []string
	index := filepath.Join(dir, safetensors.IndexFileName)
	if _, err := os.Stat(index); err == nil {
		_, shards, err := safetensors.ReadIndex(index)
		if err != nil {
			return tensorStats{}, err
		}
		for _, s := range shards {
			files = append(files, filepath.Join(dir, s))
		}
	} else {
		files, _ = filepath.Glob(filepath.Join(dir, "*.safetensors"))
	}
	if len(files) == 0 {
		return tensorStats{}, fmt.Errorf("%s: no safetensors weights", dir)
	}
	st := tensorStats{dtypes: map[string]int64{}}
	for _, f := range files {
		tensors, err := safetensors.ReadHeader(f)
		if err != nil {
			return tensorStats{}, err
		}
		for _, t := range tensors {
			elem, _ := safetensors.DTypeSize(t.DType) // ReadHeader refuses unknown dtypes
			// The header parser has checked each tensor against the file's size, so these
			// stay far below overflow.
			numel := int64(t.NumElements())
			size := numel * int64(elem)
			st.params += numel
			st.stored += size
			st.dtypes[t.DType] += size
			st.largest = max(st.largest, size)
			if rest, ok := strings.CutPrefix(t.Name, "model.layers."); ok {
				if i := strings.IndexByte(rest, '.'); i > 0 {
					if n, err := strconv.ParseInt(rest[:i], 10, 64); err == nil && n >= 0 && n < 1<<20 {
						st.layers = max(st.layers, n+1)
					}
				}
			}
			if t.Name == "model.embed_tokens.weight" {
				st.embed = t.Shape
			}
		}
	}
	return st, nil
}

// AvailableMemory reports the memory a new allocation can use: /proc/meminfo MemAvailable,
// lowered to the cgroup limit minus usage when the process runs in a memory-limited cgroup.
func AvailableMemory() (bytes int64, source string, err error) {
	avail, err := memAvailable("/proc/meminfo")
	if err != nil {
		return 0, "", err
	}
	bytes, source = avail, "MemAvailable in /proc/meminfo"
	if lim, ok := cgroupRoom(); ok && lim < bytes {
		bytes, source = lim, "the cgroup memory limit"
	}
	return bytes, source, nil
}

func memAvailable(path string) (int64, error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) >= 2 && fields[0] == "MemAvailable:" {
			kb, err := strconv.ParseInt(fields[1], 10, 64)
			if err != nil {
				return 0, fmt.Errorf("%s: bad MemAvailable %q", path, fields[1])
			}
			return kb * 1024, nil
		}
	}
	return 0, fmt.Errorf("%s: no MemAvailable line", path)
}

func cgroupRoom() (int64, bool) {
	read := func(p string) (int64, bool) {
		b, err := os.ReadFile(p)
		if err != nil {
			return 0, false
		}
		v, err := strconv.ParseInt(strings.TrimSpace(string(b)), 10, 64)
		return v, err == nil
	}
	// cgroup v2, then v1 (where "no limit" is a huge number).
	if lim, ok := read("/sys/fs/cgroup/memory.max"); ok {
		if cur, ok := read("/sys/fs/cgroup/memory.current"); ok {
			return max(lim-cur, 0), true
		}
	}
	if lim, ok := read("/sys/fs/cgroup/memory/memory.limit_in_bytes"); ok && lim < 1<<60 {
		if cur, ok := read("/sys/fs/cgroup/memory/memory.usage_in_bytes"); ok {
			return max(lim-cur, 0), true
		}
	}
	return 0, false
}

// ErrWontFit is wrapped by CheckFits when the model needs more memory than is available.
var ErrWontFit = errors.New("model does not fit in memory")

// CheckFits refuses, with the breakdown, an estimate larger than the available memory. Where
// the available memory cannot be read (not Linux) it does not refuse. INFTY_SKIP_MEMORY_CHECK=1
// turns the check off for a user who knows better.
func CheckFits(e MemoryEstimate) error {
	if isTrue(os.Getenv("INFTY_SKIP_MEMORY_CHECK")) {
		return nil
	}
	avail, source, err := AvailableMemory()
	if err != nil {
		return nil
	}
	return CheckFitsIn(e, avail, source)
}

// CheckFitsIn is CheckFits against a given amount of memory (a GPU's, for example); where
// names it in the message.
func CheckFitsIn(e MemoryEstimate, available int64, where string) error {
	if e.Total <= available {
		return nil
	}
	return fmt.Errorf("%w: it needs about %s but only %s is available (%s); use a smaller model, a shorter context (KV cache %s), or a backend that holds weights in BF16 (set INFTY_SKIP_MEMORY_CHECK=1 to try anyway)",
		ErrWontFit, e.String(), FormatBytes(available), where, FormatBytes(e.KVCache))
}

// FormatBytes prints a byte count with a binary unit ("1.5 GiB").
func FormatBytes(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", float64(n)/float64(div), "KMGTPE"[exp])
}
