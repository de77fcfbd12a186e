package sft

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"unicode/utf8"

	"github.com/infty-dev/infty/internal/jsonl"
	"github.com/infty-dev/infty/llm"
	"github.com/infty-dev/infty/session/format"
)

// Example is one line of SFT data. Its parts are pointers so that a line holds the fields of
// its layout and no others: Chat, Flat, or both (synthetic data carries both), with Provenance
// when it was exported from a trajectory log.
type Example struct {
	*Chat
	*Flat
	// Answer is the reference answer, where the data has one (synthetic problems do).
	Answer string `json:"answer,omitempty"`
	*Provenance
}

// Chat is the InftyThink+ chat layout: the conversation up to and including the assistant
// turn, whose first NoLossPrefixBytes bytes (NoLossPrefixChars code points, the same span) are
// the pre-filled <history> block that is not trained on.
type Chat struct {
	Messages []llm.Message `json:"messages"`
	// NoLossPrefixBytes is nil where a line written by hand leaves it out: a leading <history>
	// block is then the prefix (see Prefill).
	NoLossPrefixBytes *int `json:"no_loss_prefix_bytes,omitempty"`
	NoLossPrefixChars int  `json:"no_loss_prefix_chars"`
}

// Flat is the flat InftyThink layout: summary is empty on the final iteration, conclusion on
// the others.
type Flat struct {
	Question         string `json:"question"`
	History          string `json:"history"`
	ReasoningProcess string `json:"reasoning_process"`
	Summary          string `json:"summary"`
	Conclusion       string `json:"conclusion"`
}

// Provenance ties an example to its log.
type Provenance struct {
	Run       string `json:"run"`
	Branch    int    `json:"branch"`
	Iteration int    `json:"iteration"`
	Final     bool   `json:"final"`
	Edited    bool   `json:"edited"`
	Mode      string `json:"mode,omitempty"`
	Model     string `json:"model,omitempty"`
}

// NewChat is the chat layout of one iteration of question.
func NewChat(question string, it format.Iteration) *Chat {
	prefix := it.Prefill()
	n := len(prefix)
	return &Chat{
		Messages:          []llm.Message{{Role: "user", Content: question}, {Role: "assistant", Content: it.Render()}},
		NoLossPrefixBytes: &n,
		NoLossPrefixChars: utf8.RuneCountInString(prefix),
	}
}

// NewFlat is the flat layout of one iteration of question.
func NewFlat(question string, it format.Iteration) *Flat {
	f := &Flat{Question: question, History: it.History, ReasoningProcess: it.Reasoning}
	if it.Final {
		f.Conclusion = it.Conclusion
	} else {
		f.Summary = it.Summary
	}
	return f
}

// Prefill is the untrained start of the last message: its first NoLossPrefixBytes bytes when
// given, else a leading <history>…</history> block, else nothing.
func (c *Chat) Prefill() (string, error) {
	if len(c.Messages) == 0 {
		return "", errors.New("no messages")
	}
	content := c.Messages[len(c.Messages)-1].Content
	if n := c.NoLossPrefixBytes; n != nil {
		if *n < 0 || *n >= len(content) || !utf8.ValidString(content[:*n]) {
			return "", fmt.Errorf("no_loss_prefix_bytes %d does not split the %d-byte assistant turn at a character boundary before its end", *n, len(content))
		}
		return content[:*n], nil
	}
	prefill, _, ok := format.SplitPrefill(content)
	if !ok {
		return "", fmt.Errorf("the assistant turn opens %s but never closes it", format.HistoryOpen)
	}
	return prefill, nil
}

// Writer writes examples as JSON Lines. It leaves <, > and & unescaped, so the tags stay
// readable in the file.
type Writer struct{ enc *json.Encoder }

// NewWriter writes to w.
func NewWriter(w io.Writer) *Writer {
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	return &Writer{enc: enc}
}

// Write writes one line per example.
func (w *Writer) Write(ex ...Example) error {
	for i := range ex {
		if err := w.enc.Encode(&ex[i]); err != nil {
			return err
		}
	}
	return nil
}

// Reader reads examples, one JSON object per line; blank lines are skipped.
type Reader struct{ lines *jsonl.Reader }

// NewReader reads r; name is what errors call it.
func NewReader(r io.Reader, name string) *Reader { return &Reader{lines: jsonl.NewReader(r, name)} }

// Next returns the next example, or io.EOF after the last. Errors name the input and line.
func (r *Reader) Next() (Example, error) {
	line, ok := r.lines.Next()
	if !ok {
		if err := r.lines.Err(); err != nil {
			return Example{}, err
		}
		return Example{}, io.EOF
	}
	var ex Example
	if err := json.Unmarshal(line, &ex); err != nil {
		return Example{}, r.lines.Errorf("not a JSON object of the SFT layouts: %w", err)
	}
	return ex, nil
}

// Where is "name:line" of the example Next returned last.
func (r *Reader) Where() string { return r.lines.Where() }
