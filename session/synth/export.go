package synth

import (
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"unicode/utf8"

	"github.com/infty-dev/infty/llm"
)

// Example is one line of the cold-start SFT export: the chat layout that `infty train sft`
// reads, plus the flat InftyThink fields. In the assistant turn the leading <history> block is
// the pre-filled summary and is not trained on.
type Example struct {
	Messages          []llm.Message `json:"messages"`
	NoLossPrefixBytes int           `json:"no_loss_prefix_bytes"`
	NoLossPrefixChars int           `json:"no_loss_prefix_chars"`
	Question          string        `json:"question"`
	History           string        `json:"history"`
	ReasoningProcess  string        `json:"reasoning_process"`
	Summary           string        `json:"summary"`
	Conclusion        string        `json:"conclusion"`
	Answer            string        `json:"answer"`
}

// Mode picks how worked solutions are written.
type Mode string

const (
	ModeIterative Mode = "iterative" // InftyThink+ iterations, one example per iteration
	ModeVanilla   Mode = "vanilla"   // one long chain of thought per problem
)

// Examples renders problems as SFT examples. In iterative mode every iteration of every problem
// becomes one example.
func Examples(problems []Problem, mode Mode, stride int) ([]Example, error) {
	var out []Example
	for _, p := range problems {
		q := p.Question()
		switch mode {
		case ModeIterative:
			for _, it := range p.Iterations(stride) {
				prefix := it.Prefill()
				out = append(out, Example{
					Messages:          []llm.Message{{Role: "user", Content: q}, {Role: "assistant", Content: it.Render()}},
					NoLossPrefixBytes: len(prefix),
					NoLossPrefixChars: utf8.RuneCountInString(prefix),
					Question:          q,
					History:           it.History,
					ReasoningProcess:  it.Reasoning,
					Summary:           it.Summary,
					Conclusion:        it.Conclusion,
					Answer:            p.Answer(),
				})
			}
		case ModeVanilla:
			r, c := p.Vanilla()
			out = append(out, Example{
				Messages:         []llm.Message{{Role: "user", Content: q}, {Role: "assistant", Content: p.VanillaText()}},
				Question:         q,
				ReasoningProcess: r,
				Conclusion:       c,
				Answer:           p.Answer(),
			})
		default:
			return nil, fmt.Errorf("synth: unknown mode %q (iterative or vanilla)", mode)
		}
	}
	return out, nil
}

// Shuffle permutes examples deterministically for a seed, so that iterations of one problem
// do not sit next to each other in a training file.
func Shuffle(ex []Example, seed uint64) {
	r := rand.New(rand.NewPCG(seed, 0x5417_ff1e))
	r.Shuffle(len(ex), func(i, j int) { ex[i], ex[j] = ex[j], ex[i] })
}

// WriteJSONL writes one example per line.
func WriteJSONL(w io.Writer, ex []Example) error {
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	for i := range ex {
		if err := enc.Encode(&ex[i]); err != nil {
			return err
		}
	}
	return nil
}
