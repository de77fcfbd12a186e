package sft

import (
	"strings"

	"github.com/infty-dev/infty/llm"
	"github.com/infty-dev/infty/runtime/tinymodel"
)

// byteChat is a test stand-in for a model folder's tokenizer and template: ChatML over the tiny
// model's byte-level vocabulary (every byte its own id, special tokens from 256).
type byteChat struct{}

func (byteChat) RenderChat(msgs []llm.Message, gen bool) (string, error) {
	var b strings.Builder
	for _, m := range msgs {
		b.WriteString("<|im_start|>" + m.Role + "\n" + m.Content + "<|im_end|>\n")
	}
	if gen {
		b.WriteString("<|im_start|>assistant\n")
	}
	return b.String(), nil
}

func (byteChat) Encode(text string) ([]int, error) {
	var ids []int
	for len(text) > 0 {
		matched := false
		for i, s := range tinymodel.Specials {
			if strings.HasPrefix(text, s) {
				ids = append(ids, 256+i)
				text = text[len(s):]
				matched = true
				break
			}
		}
		if !matched {
			ids = append(ids, int(text[0]))
			text = text[1:]
		}
	}
	return ids, nil
}
