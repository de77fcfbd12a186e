package runtime

import (
	"github.com/infty-dev/infty/llm"
	"github.com/infty-dev/infty/runtime/chattemplate"
	"github.com/infty-dev/infty/runtime/tokenizer"
)

// Chat is a model folder's tokenizer and chat template: how the engine renders and encodes a
// prompt, and so how a trainer must render and encode what it trains on.
type Chat struct {
	Tok  *tokenizer.Tokenizer
	Tmpl *chattemplate.Template
}

// LoadChat reads tokenizer.json and the chat template of tokenizer_config.json from dir.
func LoadChat(dir string) (*Chat, error) {
	tok, err := tokenizer.Load(dir)
	if err != nil {
		return nil, err
	}
	tmpl, err := chattemplate.Load(dir)
	if err != nil {
		return nil, err
	}
	return &Chat{Tok: tok, Tmpl: tmpl}, nil
}

// RenderChat applies the chat template; with addGenerationPrompt the text ends where the
// assistant's turn begins.
func (c *Chat) RenderChat(msgs []llm.Message, addGenerationPrompt bool) (string, error) {
	return c.Tmpl.Render(msgs, chattemplate.RenderOptions{AddGenerationPrompt: addGenerationPrompt})
}

// Encode turns text, special tokens included, into token ids.
func (c *Chat) Encode(text string) ([]int, error) { return c.Tok.Encode(text), nil }
