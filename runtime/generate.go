package runtime

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/infty-dev/infty/llm"
	"github.com/infty-dev/infty/runtime/sample"
)

// Generate streams the continuation of req.Prompt: it prefills the prompt into a fresh KV
// cache, then samples one token at a time, calling yield for each emitted token.
//
// It stops when an EOS id is sampled (not emitted), when the decoded text contains one of
// req.StopStrings (the token that completes it is emitted, its text cut just after the stop
// string), or after req.MaxTokens tokens. Cancellation of ctx takes effect before the next
// token; a canceled generation, or one whose yield returned an error, returns the partial
// llm.Result with Reason llm.StopCanceled together with ctx's error or yield's error.
//
// Stop strings need text: without a detokenizer (SetDetokenizer) llm.Token.Text is empty and
// stop strings never match.
//
// Concurrent calls are batched (see batcher): a call may wait for room in the KV cache, which
// counts in PrefillSeconds; one whose prompt and budget could never fit fails at once.
func (m *Model) Generate(ctx context.Context, req llm.Request, yield func(llm.Token) error) (res llm.Result, err error) {
	return m.generate(ctx, req, yield, nil)
}

// generate is Generate, showing observe (when not nil) the logits each token is sampled from.
func (m *Model) generate(ctx context.Context, req llm.Request, yield func(llm.Token) error, observe func([]float32)) (res llm.Result, err error) {
	res.PromptTokens = len(req.Prompt)
	if req.MaxTokens <= 0 {
		return res, fmt.Errorf("generate: MaxTokens must be > 0, got %d", req.MaxTokens)
	}
	if err := m.checkIDs(req.Prompt); err != nil {
		return res, fmt.Errorf("generate: prompt: %w", err)
	}
	if err := ctx.Err(); err != nil {
		res.Reason = llm.StopCanceled
		return res, err
	}
	m.mu.Lock()
	newDetok := m.newDetok
	m.mu.Unlock()
	var detok Detokenizer
	if newDetok != nil {
		detok = newDetok()
	}
	params := sample.Params{Temperature: req.Sampling.Temperature, TopK: req.Sampling.TopK, TopP: req.Sampling.TopP}
	// text is what the detokenizer gave, which stop strings are looked for in, and res.Text in
	// the end, cut where a stop string ends (cut ≥ 0). Appended to res.Text token by token, a
	// long generation copied its text again at every token: quadratic in its length.
	var text strings.Builder
	cut := -1
	defer func() {
		if res.Text = text.String(); cut >= 0 {
			res.Text = res.Text[:cut]
		}
	}()

	t0 := time.Now()
	lane, s, err := m.join(ctx, req.Prompt, req.MaxTokens)
	if err != nil {
		return res, err
	}
	defer lane.leave(s)
	logits, lse, err := s.wait(ctx)
	if ctx.Err() != nil {
		res.Reason = llm.StopCanceled
		return res, ctx.Err()
	}
	res.PrefillSeconds = time.Since(t0).Seconds()
	if err != nil {
		return res, fmt.Errorf("generate: prefill: %w", err)
	}
	t0 = time.Now()
	defer func() { res.DecodeSeconds = time.Since(t0).Seconds() }()
	for k := 0; ; k++ {
		if err := ctx.Err(); err != nil {
			res.Reason = llm.StopCanceled
			return res, err
		}
		index := req.Offset + k
		if observe != nil {
			observe(logits)
		}
		id := sample.Sample(logits, params, sample.Uniform(req.Sampling.Seed, index))
		if slices.Contains(m.EOS, id) {
			res.Reason = llm.StopEOS
			return res, nil
		}
		tok := llm.Token{ID: id, Index: index, LogProb: float64(logits[id]) - float64(lse)}
		if detok != nil {
			tok.Text = detok.Push(id)
		}
		stopped := false
		if tok.Text != "" && len(req.StopStrings) > 0 {
			before := text.Len()
			text.WriteString(tok.Text)
			if end := llm.StopEnd(text.String(), req.StopStrings, before); end >= 0 {
				tok.Text = tok.Text[:end-before]
				stopped, cut = true, end
			}
		} else {
			text.WriteString(tok.Text)
		}
		res.IDs = append(res.IDs, id)
		if err := yield(tok); err != nil {
			res.Reason = llm.StopCanceled
			return res, err
		}
		if stopped {
			res.Reason = llm.StopString
			return res, nil
		}
		if len(res.IDs) >= req.MaxTokens {
			res.Reason = llm.StopBudget
			return res, nil
		}
		lane.submit(s, id)
		if logits, lse, err = s.wait(ctx); err != nil && ctx.Err() == nil {
			return res, fmt.Errorf("generate: decode step %d: %w", k, err)
		}
	}
}
