package train

import (
	"slices"

	"github.com/infty-dev/infty/llm"
	"github.com/infty-dev/infty/runtime/chattemplate"
	"github.com/infty-dev/infty/runtime/tokenizer"
)

// FolderChat is a model folder's tokenizer and chat template, as inference uses them.
type FolderChat struct {
	Tok  *tokenizer.Tokenizer
	Tmpl *chattemplate.Template
}

// LoadChat reads tokenizer.json and the chat template of tokenizer_config.json from dir.
func LoadChat(dir string) (*FolderChat, error) {
	tok, err := tokenizer.Load(dir)
	if err != nil {
		return nil, err
	}
	tmpl, err := chattemplate.Load(dir)
	if err != nil {
		return nil, err
	}
	return &FolderChat{Tok: tok, Tmpl: tmpl}, nil
}

// RenderChat implements Chat.
func (c *FolderChat) RenderChat(msgs []llm.Message, addGenerationPrompt bool) (string, error) {
	return c.Tmpl.Render(msgs, chattemplate.RenderOptions{AddGenerationPrompt: addGenerationPrompt})
}

// Encode implements Chat.
func (c *FolderChat) Encode(text string) ([]int, error) { return c.Tok.Encode(text), nil }

// EOS returns the ids that end an assistant turn: config.json's eos_token_id and the
// tokenizer's eos_token.
func EOS(dir string, configEOS []int, tok *tokenizer.Tokenizer) []int {
	out := slices.Clone(configEOS)
	if special, err := chattemplate.SpecialTokens(dir); err == nil {
		if id, ok := tok.TokenToID(special["eos_token"]); ok && !slices.Contains(out, id) {
			out = append(out, id)
		}
	}
	return out
}
