package chattemplate

import (
	"fmt"
	"strings"
	"testing"

	"github.com/infty-dev/infty/llm"
)

func benchConversation(turns int) []llm.Message {
	msgs := []llm.Message{{Role: "system", Content: "You are a careful mathematician."}}
	for i := 0; i < turns; i++ {
		msgs = append(msgs,
			llm.Message{Role: "user", Content: fmt.Sprintf("Question %d: what is %d + %d?", i, i, i)},
			llm.Message{Role: "assistant", Content: fmt.Sprintf("<think>\nAdd them.\n%s\n</think>\n\nThe answer is %d.", strings.Repeat("reasoning ", 50), 2*i)})
	}
	return append(msgs, llm.Message{Role: "user", Content: "Continue."})
}

// chatmlConcat builds the same text as the fixture models' ChatML template by hand: the
// baseline the template engine is measured against.
func chatmlConcat(msgs []llm.Message, addGen bool) string {
	var b strings.Builder
	for _, m := range msgs {
		b.WriteString("<|im_start|>" + m.Role + "\n" + m.Content + "<|im_end|>" + "\n")
	}
	if addGen {
		b.WriteString("<|im_start|>assistant\n")
	}
	return b.String()
}

// BenchmarkRender times rendering a 10-turn conversation (about 6 KB of text) with the ChatML
// and Qwen3 templates, against building the ChatML text by hand with strings.Builder. Report
// the ratios, e.g. go test -bench Render -benchmem ./runtime/chattemplate/
func BenchmarkRender(b *testing.B) {
	msgs := benchConversation(10)
	chatml, err := Load("testdata/templates/chatml")
	if err != nil {
		b.Fatal(err)
	}
	want, err := chatml.Render(msgs, RenderOptions{AddGenerationPrompt: true})
	if err != nil || want != chatmlConcat(msgs, true) {
		b.Fatalf("baseline and template disagree (%v)", err)
	}
	b.Run("baseline-concat", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			_ = chatmlConcat(msgs, true)
		}
	})
	for _, name := range []string{"chatml", "qwen3", "qwen25", "deepseek-r1-distill"} {
		tmpl, err := Load("testdata/templates/" + name)
		if err != nil {
			b.Fatal(err)
		}
		b.Run(name, func(b *testing.B) {
			for i := 0; i < b.N; i++ {
				if _, err := tmpl.Render(msgs, RenderOptions{AddGenerationPrompt: true}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkLoad times reading and parsing the Qwen3 tokenizer_config.json template.
func BenchmarkLoad(b *testing.B) {
	for i := 0; i < b.N; i++ {
		if _, err := Load("testdata/templates/qwen3"); err != nil {
			b.Fatal(err)
		}
	}
}
