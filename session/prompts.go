package session

import (
	_ "embed"
	"fmt"

	"github.com/infty-dev/infty/internal/safefile"
)

//go:embed prompts/step1.txt
var step1Prompt string

//go:embed prompts/step2.txt
var step2Prompt string

//go:embed prompts/continue.txt
var continuePrompt string

// Prompts are the scaffold summarizer's user turns (DESIGN.md §1):
//
//	first segment:  [user: q][assistant: r_1][user: Step1]
//	later segments: [user: q][assistant: s_(i-1)][user: Continue][assistant: r_i][user: Step2]
//
// Continue is also the user turn that asks the reasoner to go on from s_(i-1) in scaffold mode.
type Prompts struct {
	Step1, Step2, Continue string
}

// DefaultPrompts returns infty's own wording, embedded from session/prompts/*.txt.
func DefaultPrompts() Prompts {
	return Prompts{Step1: step1Prompt, Step2: step2Prompt, Continue: continuePrompt}
}

// ReadPrompt reads a replacement prompt file; the error names the file.
func ReadPrompt(path string) (string, error) {
	b, err := safefile.ReadFile(path, safefile.TemplateLimit)
	if err != nil {
		return "", fmt.Errorf("prompt file: %w", err)
	}
	if len(b) == 0 {
		return "", fmt.Errorf("prompt file %s is empty", path)
	}
	return string(b), nil
}
