package sft

import (
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"slices"
	"strings"

	"github.com/infty-dev/infty/llm"
	schema "github.com/infty-dev/infty/session/sft"
)

// Conversation is one example of a training file, in the chat layout of session/sft (what
// `infty export` and `infty train synth` write). Only the last message, which must be the
// assistant's, is trained on, less its untrained prefix (schema.Chat.Prefill: the pre-filled
// <history> block of an InftyThink+ iteration).
type Conversation struct {
	schema.Example
	Source string // "file:line", for error messages
}

// Chat is what tokenizing needs from a model folder: its chat template and its tokenizer.
type Chat interface {
	RenderChat(msgs []llm.Message, addGenerationPrompt bool) (string, error)
	Encode(text string) ([]int, error)
}

// Sample is one tokenized conversation: Trained[i] says whether token i is a target.
type Sample struct {
	IDs     []int
	Trained []bool
}

// ReadJSONL reads conversations, one JSON object per line; blank lines are skipped. Errors name
// the file and line.
func ReadJSONL(path string) ([]Conversation, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var out []Conversation
	r := schema.NewReader(f, path)
	for {
		ex, err := r.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, err
		}
		c := Conversation{Example: ex, Source: r.Where()}
		if err := c.validate(); err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("%s: no examples", path)
	}
	return out, nil
}

func (c Conversation) validate() error {
	var msgs []llm.Message
	if c.Chat != nil {
		msgs = c.Messages
	}
	if len(msgs) < 2 {
		return fmt.Errorf("%s: want at least a user and an assistant message, got %d messages", c.Source, len(msgs))
	}
	for i, m := range msgs {
		if m.Role != "user" && m.Role != "assistant" && m.Role != "system" {
			return fmt.Errorf("%s: message %d has role %q (user, assistant or system)", c.Source, i, m.Role)
		}
	}
	if last := msgs[len(msgs)-1]; last.Role != "assistant" {
		return fmt.Errorf("%s: the last message must be the assistant's (the trained turn), got %q", c.Source, last.Role)
	}
	if _, err := c.Prefill(); err != nil {
		return fmt.Errorf("%s: %w", c.Source, err)
	}
	return nil
}

// Tokenize turns a conversation into ids and a loss mask exactly as inference sees it: the
// prompt is the chat template up to the assistant's turn plus the pre-filled history, encoded on
// its own (the engine encodes that prompt and then generates), and the target is the rest of
// the assistant turn through its end-of-turn token. eos holds the ids that end a turn: the
// target stops after the last of them, so the template's trailing newline is not trained.
func Tokenize(chat Chat, c Conversation, eos []int) (Sample, error) {
	msgs := c.Messages
	last := msgs[len(msgs)-1]
	prompt, err := chat.RenderChat(msgs[:len(msgs)-1], true)
	if err != nil {
		return Sample{}, fmt.Errorf("%s: chat template: %w", c.Source, err)
	}
	full, err := chat.RenderChat(msgs, false)
	if err != nil {
		return Sample{}, fmt.Errorf("%s: chat template: %w", c.Source, err)
	}
	history, err := c.Prefill()
	if err != nil {
		return Sample{}, fmt.Errorf("%s: %w", c.Source, err)
	}
	if !strings.HasPrefix(full, prompt+last.Content) {
		return Sample{}, fmt.Errorf("%s: the chat template does not render the assistant turn verbatim after the generation prompt, so the trained tokens cannot be located", c.Source)
	}
	promptIDs, err := chat.Encode(prompt + history)
	if err != nil {
		return Sample{}, fmt.Errorf("%s: %w", c.Source, err)
	}
	target, err := chat.Encode(full[len(prompt)+len(history):])
	if err != nil {
		return Sample{}, fmt.Errorf("%s: %w", c.Source, err)
	}
	if cut := lastIndexAny(target, eos); cut >= 0 {
		target = target[:cut+1]
	}
	if len(target) == 0 {
		return Sample{}, fmt.Errorf("%s: empty assistant turn", c.Source)
	}
	s := Sample{IDs: append(promptIDs, target...), Trained: make([]bool, len(promptIDs)+len(target))}
	for i := len(promptIDs); i < len(s.IDs); i++ {
		s.Trained[i] = true
	}
	return s, nil
}

func lastIndexAny(ids, set []int) int {
	for i := len(ids) - 1; i >= 0; i-- {
		if slices.Contains(set, ids[i]) {
			return i
		}
	}
	return -1
}

// Dataset is a tokenized training set with a deterministic batch order.
type Dataset struct {
	Samples []Sample
	Dropped int // conversations longer than the maximum length
	maxLen  int
}

// NewDataset tokenizes conversations, dropping (and counting) those longer than maxLen tokens.
func NewDataset(chat Chat, convs []Conversation, eos []int, maxLen int) (*Dataset, error) {
	d := &Dataset{maxLen: maxLen}
	for _, c := range convs {
		s, err := Tokenize(chat, c, eos)
		if err != nil {
			return nil, err
		}
		if len(s.IDs) > maxLen {
			d.Dropped++
			continue
		}
		d.Samples = append(d.Samples, s)
	}
	if len(d.Samples) == 0 {
		return nil, errors.New("train: every example is longer than the maximum length")
	}
	return d, nil
}

// Batch is one step's input: ids and targets [B, S] and mask [B, S], flattened row-major.
type Batch struct {
	B, S    int
	IDs     []int32
	Targets []int32
	Mask    []float32
	Tokens  int // trained tokens
}

// groupBatches is how many batches are drawn together and sorted by length, so that a batch
// holds examples of similar length and little padding.
const groupBatches = 16

// batchLen is the positions of a batch whose longest sample has longest+1 tokens: a multiple
// of 16, but not past the maximum length unless a sample is.
func (d *Dataset) batchLen(longest int) int {
	return min((longest+15)/16*16, max(d.maxLen-1, longest))
}

// LongestBatch is the positions of the longest batch any step can draw: the one that holds
// the longest sample.
func (d *Dataset) LongestBatch() int {
	longest := 0
	for _, smp := range d.Samples {
		longest = max(longest, len(smp.IDs)-1)
	}
	return d.batchLen(longest)
}

// Batch returns the batch of step k (0-based). It depends only on (seed, k, batchSize) and the
// samples, so a resumed run sees exactly the batches an uninterrupted one would.
func (d *Dataset) Batch(seed uint64, k, batchSize int) Batch {
	group, within := k/groupBatches, k%groupBatches
	n := len(d.Samples)
	idx := make([]int, groupBatches*batchSize)
	var perm []int
	permEpoch := -1
	for j := range idx {
		pos := group*len(idx) + j
		epoch := pos / n
		if epoch != permEpoch {
			perm = rand.New(rand.NewPCG(seed, uint64(epoch))).Perm(n)
			permEpoch = epoch
		}
		idx[j] = perm[pos%n]
	}
	slices.SortStableFunc(idx, func(a, b int) int { return len(d.Samples[a].IDs) - len(d.Samples[b].IDs) })
	order := rand.New(rand.NewPCG(seed, 1<<40|uint64(group))).Perm(groupBatches)
	pick := idx[order[within]*batchSize : (order[within]+1)*batchSize]

	longest := 0
	for _, i := range pick {
		longest = max(longest, len(d.Samples[i].IDs)-1)
	}
	s := d.batchLen(longest)
	b := Batch{B: batchSize, S: s, IDs: make([]int32, batchSize*s), Targets: make([]int32, batchSize*s), Mask: make([]float32, batchSize*s)}
	for r, i := range pick {
		smp := d.Samples[i]
		for t := 0; t+1 < len(smp.IDs); t++ {
			b.IDs[r*s+t] = int32(smp.IDs[t])
			b.Targets[r*s+t] = int32(smp.IDs[t+1])
			if smp.Trained[t+1] {
				b.Mask[r*s+t] = 1
				b.Tokens++
			}
		}
	}
	return b
}
