package chattemplate_test

import (
	"fmt"

	"github.com/infty-dev/infty/llm"
	"github.com/infty-dev/infty/runtime/chattemplate"
)

// Rendering an InftyThink+ iteration i > 1: the assistant turn is pre-filled with the previous
// summary, and the text stops right after it so the model continues from there.
func ExampleTemplate_Render() {
	tmpl, err := chattemplate.Load("../../testdata/models/qwen2-tiny-f32")
	if err != nil {
		panic(err)
	}
	text, err := tmpl.Render([]llm.Message{
		{Role: "user", Content: "What is 2+2?"},
		{Role: "assistant", Content: "<history>\n* Added the numbers.\n</history>"},
	}, chattemplate.RenderOptions{ContinueFinalMessage: true})
	if err != nil {
		panic(err)
	}
	fmt.Printf("%q\n", text)
	// Output:
	// "<|im_start|>user\nWhat is 2+2?<|im_end|>\n<|im_start|>assistant\n<history>\n* Added the numbers.\n</history>"
}
