package arch

import (
	"encoding/json"
	"fmt"
	"math"
	"path/filepath"
	"strings"

	"github.com/infty-dev/infty/internal/safefile"
)

// Config is the part of a Hugging Face config.json that decoder-only architectures share; what
// an architecture makes of it (biases, per-head norms) is its definition's business.
type Config struct {
	Architecture  string
	Hidden        int // hidden_size
	Intermediate  int // intermediate_size
	Layers        int // num_hidden_layers
	Heads         int // num_attention_heads
	KVHeads       int // num_key_value_heads
	HeadDim       int // head_dim, or hidden_size/num_attention_heads when absent
	Vocab         int // vocab_size
	RopeTheta     float64
	RMSEps        float64
	TieEmbeddings bool            // lm_head shares model.embed_tokens
	AttentionBias *bool           // attention_bias; nil when config.json does not say
	MaxPositions  int             // max_position_embeddings, informational
	HiddenAct     string          // hidden_act; "" when absent
	RopeScaling   json.RawMessage // rope_scaling; nil when absent or null
	SlidingWindow bool            // use_sliding_window
	EOS           []int
	TorchDType    string
}

// rawConfig mirrors config.json; pointers tell "absent" from zero.
type rawConfig struct {
	Architectures     []string        `json:"architectures"`
	ModelType         string          `json:"model_type"`
	HiddenSize        *int            `json:"hidden_size"`
	IntermediateSize  *int            `json:"intermediate_size"`
	NumHiddenLayers   *int            `json:"num_hidden_layers"`
	NumAttentionHeads *int            `json:"num_attention_heads"`
	NumKeyValueHeads  *int            `json:"num_key_value_heads"`
	HeadDim           *int            `json:"head_dim"`
	VocabSize         *int            `json:"vocab_size"`
	RopeTheta         *float64        `json:"rope_theta"`
	RMSNormEps        *float64        `json:"rms_norm_eps"`
	TieWordEmbeddings *bool           `json:"tie_word_embeddings"`
	AttentionBias     *bool           `json:"attention_bias"`
	MaxPositions      int             `json:"max_position_embeddings"`
	HiddenAct         string          `json:"hidden_act"`
	EOSTokenID        json.RawMessage `json:"eos_token_id"`
	TorchDType        string          `json:"torch_dtype"`
	UseSlidingWindow  bool            `json:"use_sliding_window"`
	RopeScaling       json.RawMessage `json:"rope_scaling"`
}

// Read reads DIR/config.json and instantiates its architecture. Errors name the file.
func Read(dir string) (*Config, Model, error) {
	path := filepath.Join(dir, "config.json")
	data, err := safefile.ReadFile(path, safefile.ConfigLimit)
	if err != nil {
		return nil, nil, err // *PathError already names the file
	}
	cfg, m, err := Parse(data)
	if err != nil {
		return nil, nil, fmt.Errorf("%s: %w", path, err)
	}
	return cfg, m, nil
}

// Parse parses the contents of a config.json and instantiates its architecture.
func Parse(data []byte) (*Config, Model, error) {
	cfg, err := ParseConfig(data)
	if err != nil {
		return nil, nil, err
	}
	m, err := Build(cfg)
	if err != nil {
		return nil, nil, err
	}
	return cfg, m, nil
}

// ParseConfig parses the fields of a config.json that every architecture reads, and checks
// that the architecture is registered.
func ParseConfig(data []byte) (*Config, error) {
	var raw rawConfig
	if err := json.Unmarshal(data, &raw); err != nil {
		return nil, fmt.Errorf("invalid JSON: %w", err)
	}
	if len(raw.Architectures) != 1 {
		return nil, fmt.Errorf("\"architectures\" must name exactly one architecture, got %q", raw.Architectures)
	}
	cfg := &Config{Architecture: raw.Architectures[0], MaxPositions: raw.MaxPositions, TorchDType: raw.TorchDType,
		AttentionBias: raw.AttentionBias, HiddenAct: raw.HiddenAct, SlidingWindow: raw.UseSlidingWindow}
	if len(raw.RopeScaling) > 0 && string(raw.RopeScaling) != "null" {
		cfg.RopeScaling = raw.RopeScaling
	}
	if _, ok := lookup(cfg.Architecture); !ok {
		return nil, fmt.Errorf("unsupported architecture %q (supported: %s)", cfg.Architecture, strings.Join(Known(), ", "))
	}
	// The upper bounds are far above any published model and keep everything sized from them
	// (the tensor list, products of dimensions) small and free of overflow.
	required := []struct {
		name string
		v    *int
		dst  *int
		max  int
	}{
		{"hidden_size", raw.HiddenSize, &cfg.Hidden, 1 << 20},
		{"intermediate_size", raw.IntermediateSize, &cfg.Intermediate, 1 << 22},
		{"num_hidden_layers", raw.NumHiddenLayers, &cfg.Layers, 1 << 14},
		{"num_attention_heads", raw.NumAttentionHeads, &cfg.Heads, 1 << 14},
		{"vocab_size", raw.VocabSize, &cfg.Vocab, 1 << 26},
	}
	for _, r := range required {
		if r.v == nil {
			return nil, fmt.Errorf("missing %q", r.name)
		}
		if *r.v <= 0 || *r.v > r.max {
			return nil, fmt.Errorf("%q must be between 1 and %d, got %d", r.name, r.max, *r.v)
		}
		*r.dst = *r.v
	}
	if raw.MaxPositions < 0 {
		return nil, fmt.Errorf("\"max_position_embeddings\" must not be negative, got %d", raw.MaxPositions)
	}
	cfg.KVHeads = cfg.Heads
	if raw.NumKeyValueHeads != nil {
		cfg.KVHeads = *raw.NumKeyValueHeads
	}
	if cfg.KVHeads <= 0 || cfg.Heads%cfg.KVHeads != 0 {
		return nil, fmt.Errorf("num_key_value_heads=%d must divide num_attention_heads=%d", cfg.KVHeads, cfg.Heads)
	}
	if raw.HeadDim != nil {
		cfg.HeadDim = *raw.HeadDim
	} else {
		if cfg.Hidden%cfg.Heads != 0 {
			return nil, fmt.Errorf("hidden_size=%d is not a multiple of num_attention_heads=%d and head_dim is absent", cfg.Hidden, cfg.Heads)
		}
		cfg.HeadDim = cfg.Hidden / cfg.Heads
	}
	if cfg.HeadDim <= 0 || cfg.HeadDim%2 != 0 || cfg.HeadDim > 1<<14 {
		return nil, fmt.Errorf("head_dim must be positive, even for RoPE and at most %d, got %d", 1<<14, cfg.HeadDim)
	}
	cfg.RopeTheta = 10000
	if raw.RopeTheta != nil {
		cfg.RopeTheta = *raw.RopeTheta
	}
	if !(cfg.RopeTheta > 0) || math.IsInf(cfg.RopeTheta, 0) {
		return nil, fmt.Errorf("\"rope_theta\" must be positive, got %g", cfg.RopeTheta)
	}
	cfg.RMSEps = 1e-6
	if raw.RMSNormEps != nil {
		cfg.RMSEps = *raw.RMSNormEps
	}
	// The epsilon is added to a mean of squares to keep a division finite: zero or less
	// divides by zero or takes the root of a negative, 1 or more swamps the activations.
	if !(cfg.RMSEps > 0 && cfg.RMSEps < 1) {
		return nil, fmt.Errorf("\"rms_norm_eps\" must be between 0 and 1 (exclusive), got %g", cfg.RMSEps)
	}
	// transformers defaults tie_word_embeddings to true when absent.
	cfg.TieEmbeddings = raw.TieWordEmbeddings == nil || *raw.TieWordEmbeddings
	eos, err := parseTokenIDs(raw.EOSTokenID)
	if err != nil {
		return nil, fmt.Errorf("eos_token_id: %w", err)
	}
	cfg.EOS = eos
	return cfg, nil
}

// parseTokenIDs reads a token-id field that is either an int, a list of ints, or null/absent.
func parseTokenIDs(raw json.RawMessage) ([]int, error) {
	if len(raw) == 0 || string(raw) == "null" {
		return nil, nil
	}
	var one int
	if err := json.Unmarshal(raw, &one); err == nil {
		return []int{one}, nil
	}
	var many []int
	if err := json.Unmarshal(raw, &many); err != nil {
		return nil, fmt.Errorf("want an int or a list of ints, got %s", raw)
	}
	return many, nil
}
