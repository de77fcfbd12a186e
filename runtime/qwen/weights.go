package qwen

import (
	"fmt"

	. "github.com/gomlx/gomlx/core/graph" //nolint:revive // graph math reads like the paper this way
)

// TensorSpec is one checkpoint tensor the model needs: its Hugging Face name and shape.
type TensorSpec struct {
	Name  string
	Shape []int
}

// Weights holds the model's tensors as graph nodes, in Hugging Face layout: linear weights are
// [out, in]. Optional tensors (biases, q/k norms) are nil when the architecture has none.
// Any matrix may instead come as [p, out/p, in] row blocks (see DecodeBlocks); Float32,
// or BFloat16 for the matrices, BFloat16 blocks as [p, in, out/p] column blocks exactly
// when ColumnBlocks says so for the graph's backend.
type Weights struct {
	Embed     *Node // [vocab, hidden]
	Layers    []LayerWeights
	FinalNorm *Node // [hidden]
	LMHead    *Node // [vocab, hidden]; the same node as Embed when embeddings are tied
}

// LayerWeights is one decoder block.
type LayerWeights struct {
	InputNorm, PostAttentionNorm *Node // [hidden]
	Q, K, V, O                   *Node // [heads*headDim, hidden], [kv*headDim, hidden] ×2, [hidden, heads*headDim]
	QBias, KBias, VBias          *Node // [heads*headDim], [kv*headDim] ×2; nil without attention bias
	QNorm, KNorm                 *Node // [headDim]; nil unless Qwen3
	Gate, Up, Down               *Node // [inter, hidden] ×2, [hidden, inter]
}

// Specs lists every tensor the checkpoint must hold, in the order WeightsFromNodes expects.
// A tied model has no lm_head.weight.
func (c *Config) Specs() []TensorSpec {
	h, q, kv := c.Hidden, c.Heads*c.HeadDim, c.KVHeads*c.HeadDim
	specs := []TensorSpec{{"model.embed_tokens.weight", []int{c.Vocab, h}}}
	for l := range c.Layers {
		p := fmt.Sprintf("model.layers.%d.", l)
		add := func(name string, shape ...int) { specs = append(specs, TensorSpec{p + name, shape}) }
		add("input_layernorm.weight", h)
		add("post_attention_layernorm.weight", h)
		add("self_attn.q_proj.weight", q, h)
		add("self_attn.k_proj.weight", kv, h)
		add("self_attn.v_proj.weight", kv, h)
		add("self_attn.o_proj.weight", h, q)
		if c.AttentionBias {
			add("self_attn.q_proj.bias", q)
			add("self_attn.k_proj.bias", kv)
			add("self_attn.v_proj.bias", kv)
		}
		if c.QKNorm {
			add("self_attn.q_norm.weight", c.HeadDim)
			add("self_attn.k_norm.weight", c.HeadDim)
		}
		add("mlp.gate_proj.weight", c.Intermediate, h)
		add("mlp.up_proj.weight", c.Intermediate, h)
		add("mlp.down_proj.weight", h, c.Intermediate)
	}
	specs = append(specs, TensorSpec{"model.norm.weight", []int{h}})
	if !c.TieEmbeddings {
		specs = append(specs, TensorSpec{"lm_head.weight", []int{c.Vocab, h}})
	}
	return specs
}

// WeightsFromNodes assembles Weights from nodes given in the order of Specs.
func (c *Config) WeightsFromNodes(nodes []*Node) (*Weights, error) {
	specs := c.Specs()
	if len(nodes) != len(specs) {
		return nil, fmt.Errorf("qwen: got %d weight nodes, want %d", len(nodes), len(specs))
	}
	byName := make(map[string]*Node, len(nodes))
	for i, s := range specs {
		byName[s.Name] = nodes[i]
	}
	w := &Weights{Embed: byName["model.embed_tokens.weight"], FinalNorm: byName["model.norm.weight"]}
	w.LMHead = w.Embed
	if !c.TieEmbeddings {
		w.LMHead = byName["lm_head.weight"]
	}
	for l := range c.Layers {
		g := func(name string) *Node { return byName[fmt.Sprintf("model.layers.%d.%s", l, name)] }
		w.Layers = append(w.Layers, LayerWeights{
			InputNorm: g("input_layernorm.weight"), PostAttentionNorm: g("post_attention_layernorm.weight"),
			Q: g("self_attn.q_proj.weight"), K: g("self_attn.k_proj.weight"),
			V: g("self_attn.v_proj.weight"), O: g("self_attn.o_proj.weight"),
			QBias: g("self_attn.q_proj.bias"), KBias: g("self_attn.k_proj.bias"), VBias: g("self_attn.v_proj.bias"),
			QNorm: g("self_attn.q_norm.weight"), KNorm: g("self_attn.k_norm.weight"),
			Gate: g("mlp.gate_proj.weight"), Up: g("mlp.up_proj.weight"), Down: g("mlp.down_proj.weight"),
		})
	}
	return w, nil
}
