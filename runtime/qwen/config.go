// Package qwen defines the Qwen2/Qwen3 decoder-only transformer as GoMLX graph functions.
//
// The weights enter every function as *graph.Node values in their Hugging Face layout, so the
// same definition serves inference (weights fed as parameters of a compiled graph) and training
// (gradients flow back to the weight nodes).
package qwen

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
)

// Architectures this package implements, as spelled in config.json's "architectures".
const (
	ArchQwen2 = "Qwen2ForCausalLM"
	ArchQwen3 = "Qwen3ForCausalLM"
)

// Config is the part of a Hugging Face config.json the forward pass needs.
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
	TieEmbeddings bool // lm_head shares model.embed_tokens
	AttentionBias bool // q/k/v projections have biases (always for Qwen2)
	QKNorm        bool // per-head RMSNorm of q and k before RoPE (Qwen3)
	MaxPositions  int  // max_position_embeddings, informational
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

// ReadConfig reads and validates DIR/config.json. Errors name the file.
func ReadConfig(dir string) (*Config, error) {
	path := filepath.Join(dir, "config.json")
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err // *PathError already names the file
	}
	cfg, err := ParseConfig(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return cfg, nil
}

// ParseConfig parses the contents of a config.json.
func ParseConfig(data []byte) (*Config, error) {
	var raw rawConfig
	if err := json.Unmarshal(data, &raw); err != nil {
		return nil, fmt.Errorf("invalid JSON: %w", err)
	}
	if len(raw.Architectures) != 1 {
		return nil, fmt.Errorf("\"architectures\" must name exactly one architecture, got %q", raw.Architectures)
	}
	cfg := &Config{Architecture: raw.Architectures[0], MaxPositions: raw.MaxPositions, TorchDType: raw.TorchDType}
	switch cfg.Architecture {
	case ArchQwen2:
		cfg.AttentionBias = true
	case ArchQwen3:
		cfg.QKNorm = true
		cfg.AttentionBias = raw.AttentionBias != nil && *raw.AttentionBias
	default:
		return nil, fmt.Errorf("unsupported architecture %q (supported: %s, %s)", cfg.Architecture, ArchQwen2, ArchQwen3)
	}
	if raw.HiddenAct != "" && raw.HiddenAct != "silu" {
		return nil, fmt.Errorf("unsupported hidden_act %q (only silu)", raw.HiddenAct)
	}
	if len(raw.RopeScaling) > 0 && string(raw.RopeScaling) != "null" {
		return nil, fmt.Errorf("rope_scaling is not supported (got %s)", raw.RopeScaling)
	}
	if raw.UseSlidingWindow {
		return nil, fmt.Errorf("use_sliding_window=true is not supported")
	}
	required := []struct {
		name string
		v    *int
		dst  *int
	}{
		{"hidden_size", raw.HiddenSize, &cfg.Hidden},
		{"intermediate_size", raw.IntermediateSize, &cfg.Intermediate},
		{"num_hidden_layers", raw.NumHiddenLayers, &cfg.Layers},
		{"num_attention_heads", raw.NumAttentionHeads, &cfg.Heads},
		{"vocab_size", raw.VocabSize, &cfg.Vocab},
	}
	for _, r := range required {
		if r.v == nil {
			return nil, fmt.Errorf("missing %q", r.name)
		}
		if *r.v <= 0 {
			return nil, fmt.Errorf("%q must be positive, got %d", r.name, *r.v)
		}
		*r.dst = *r.v
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
	if cfg.HeadDim <= 0 || cfg.HeadDim%2 != 0 {
		return nil, fmt.Errorf("head_dim must be positive and even for RoPE, got %d", cfg.HeadDim)
	}
	cfg.RopeTheta = 10000
	if raw.RopeTheta != nil {
		cfg.RopeTheta = *raw.RopeTheta
	}
	cfg.RMSEps = 1e-6
	if raw.RMSNormEps != nil {
		cfg.RMSEps = *raw.RMSNormEps
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
