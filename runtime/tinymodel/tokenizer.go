package tinymodel

import (
	"bytes"
	"encoding/json"
	"fmt"

	"github.com/infty-dev/infty/session/format"
)

// Specials are the special tokens of the tiny tokenizer, with ids 256.. in this order: the
// ChatML markers and the InftyThink+ tags, each a single token. The tags come from their one
// owner, the layout package: the embedded models are trained on that layout, and the recipe's
// tokenizer files (checked byte for byte against this list) pin their order.
var Specials = append([]string{"<|endoftext|>", "<|im_start|>", "<|im_end|>"}, format.Tags...)

// qwenPattern is Qwen's pre-tokenizer split; kept so the tokenizer is an ordinary Qwen-style
// byte-level BPE that any loader accepts, although with no merges it changes nothing.
const qwenPattern = `(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+`

// chatML is the chat template: plain ChatML, no system prompt added.
const chatML = "{%- for message in messages %}{{- '<|im_start|>' + message.role + '\\n' + message.content + '<|im_end|>' + '\\n' }}{%- endfor %}{%- if add_generation_prompt %}{{- '<|im_start|>assistant\\n' }}{%- endif %}"

// byteRunes is the GPT-2 byte-to-character map that byte-level BPE vocabularies are written in.
func byteRunes() [256]rune {
	var out [256]rune
	n := 0
	for b := 0; b < 256; b++ {
		if (b >= 33 && b <= 126) || (b >= 161 && b <= 172) || (b >= 174 && b <= 255) {
			out[b] = rune(b)
		} else {
			out[b] = rune(256 + n)
			n++
		}
	}
	return out
}

// TokenizerFiles builds the tiny model's tokenizer.json and tokenizer_config.json: a byte-level
// BPE with no merges, so every byte — every digit, letter and sign of the synthetic task — is one
// token, and the special tokens above. 265 tokens in all.
func TokenizerFiles() (tokenizerJSON, tokenizerConfig []byte, err error) {
	type added struct {
		ID         int    `json:"id"`
		Content    string `json:"content"`
		SingleWord bool   `json:"single_word"`
		LStrip     bool   `json:"lstrip"`
		RStrip     bool   `json:"rstrip"`
		Normalized bool   `json:"normalized"`
		Special    bool   `json:"special"`
	}
	br := byteRunes()
	vocab := make(map[string]int, 256)
	for b := 0; b < 256; b++ {
		vocab[string(br[b])] = b
	}
	var adds []added
	decoder := map[string]any{}
	for i, s := range Specials {
		a := added{ID: 256 + i, Content: s, Special: true}
		adds = append(adds, a)
		decoder[fmt.Sprint(a.ID)] = map[string]any{"content": s, "single_word": false, "lstrip": false,
			"rstrip": false, "normalized": false, "special": true}
	}
	byteLevel := map[string]any{"type": "ByteLevel", "add_prefix_space": false, "trim_offsets": false, "use_regex": false}
	tok := map[string]any{
		"version":      "1.0",
		"truncation":   nil,
		"padding":      nil,
		"added_tokens": adds,
		"normalizer":   map[string]any{"type": "NFC"},
		"pre_tokenizer": map[string]any{"type": "Sequence", "pretokenizers": []any{
			map[string]any{"type": "Split", "pattern": map[string]any{"Regex": qwenPattern}, "behavior": "Isolated", "invert": false},
			byteLevel,
		}},
		"post_processor": byteLevel,
		"decoder":        byteLevel,
		"model": map[string]any{"type": "BPE", "dropout": nil, "unk_token": nil, "continuing_subword_prefix": "",
			"end_of_word_suffix": "", "fuse_unk": false, "byte_fallback": false, "ignore_merges": false,
			"vocab": vocab, "merges": []any{}},
	}
	cfg := map[string]any{
		"tokenizer_class": "Qwen2Tokenizer", "bos_token": nil, "eos_token": "<|im_end|>", "pad_token": "<|endoftext|>",
		"add_bos_token": false, "add_prefix_space": false, "model_max_length": ContextLength, "chat_template": chatML,
		"added_tokens_decoder": decoder,
	}
	if tokenizerJSON, err = marshal(tok, ""); err != nil {
		return nil, nil, err
	}
	if tokenizerConfig, err = marshal(cfg, " "); err != nil {
		return nil, nil, err
	}
	return tokenizerJSON, tokenizerConfig, nil
}

// marshal writes JSON without HTML escaping, so the special tokens read as themselves.
func marshal(v any, indent string) ([]byte, error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", indent)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}
