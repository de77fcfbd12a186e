package remote

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/infty-dev/infty/internal/stall"
	"github.com/infty-dev/infty/llm"
	"github.com/infty-dev/infty/runtime/tokenizer"
)

// maxBackoff caps the wait between retries, and a server's Retry-After.
const maxBackoff = 30 * time.Second

// errStall cancels a request that went StallTimeout without a byte; errReleased one whose
// caller spent that long inside yield (a paused session), so that the server stops generating
// for nobody. A released stream resumes from its prefix once the caller reads on, and that
// does not count against Options.Resumes.
var (
	errStall    = errors.New("no byte from the server within the stall timeout")
	errReleased = errors.New("released while the caller was busy")
)

// transient is a failed attempt worth repeating: before the response began (retry), or a stream
// cut after it began (resume).
type transient struct {
	err        error
	cut        bool
	released   bool
	retryAfter time.Duration
}

func (t *transient) Error() string { return t.err.Error() }
func (t *transient) Unwrap() error { return t.err }

// gen is one Generate call: what has streamed so far, across attempts.
type gen struct {
	ctx   context.Context
	e     *Engine
	req   llm.Request
	yield func(llm.Token) error

	byIDs    bool // the server returns ids (decided by its first token)
	modeSet  bool
	ids      []int // generated ids (byIDs)
	text     strings.Builder
	n        int // tokens yielded
	dec      *tokenizer.Stream
	reason   llm.StopReason
	yieldErr error
	inYield  atomic.Bool
	stall    *time.Timer // the current attempt's

	start, first time.Time
}

// Generate implements llm.Model. It streams req.Prompt's continuation from the server until EOS,
// a stop string, req.MaxTokens, the context's end, or an error from yield, which ends the request
// at once (the connection is closed, so the server stops generating).
func (e *Engine) Generate(ctx context.Context, req llm.Request, yield func(llm.Token) error) (llm.Result, error) {
	g := &gen{ctx: ctx, e: e, req: req, yield: yield, start: time.Now()}
	if e.tok != nil {
		g.dec = e.tok.NewStream()
	}
	if req.MaxTokens <= 0 {
		return g.result(), fmt.Errorf("generate: MaxTokens must be > 0, got %d", req.MaxTokens)
	}
	e.warnSampling(req.Sampling)
	retries, resumes := 0, 0
	for {
		err := g.attempt(ctx)
		switch {
		case g.yieldErr != nil:
			g.reason = llm.StopCanceled
			return g.result(), g.yieldErr
		case ctx.Err() != nil:
			g.reason = llm.StopCanceled
			return g.result(), ctx.Err()
		case err == nil:
			return g.result(), nil
		}
		var t *transient
		if !errors.As(err, &t) {
			return g.result(), err
		}
		n := 0
		switch {
		case t.released:
			continue
		case t.cut:
			if resumes >= e.resumes {
				return g.result(), fmt.Errorf("%s: stream cut after %d tokens, resumed %d times: %w", e.name, g.n, resumes, t.err)
			}
			resumes++
			n = resumes
		default:
			if retries >= e.retries {
				return g.result(), fmt.Errorf("%s: gave up after %d retries: %w", e.name, retries, t.err)
			}
			retries++
			n = retries
		}
		if err := sleep(ctx, e.wait(n, t.retryAfter)); err != nil {
			g.reason = llm.StopCanceled
			return g.result(), err
		}
	}
}

// wait is the pause before the n-th retry: exponential with equal jitter, so that many clients
// refused at once do not come back at once; never shorter than the server's Retry-After.
func (e *Engine) wait(n int, retryAfter time.Duration) time.Duration {
	d := min(e.backoff<<min(n-1, 16), maxBackoff)
	d = d/2 + rand.N(d/2+1)
	return min(max(d, retryAfter), maxBackoff)
}

func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (g *gen) result() llm.Result {
	res := llm.Result{Text: g.text.String(), Reason: g.reason, PromptTokens: len(g.req.Prompt)}
	if g.byIDs {
		res.IDs = g.ids
	} else if res.Text != "" && g.e.tok != nil { // with e.srv every token came with its id
		res.IDs = g.e.tok.Encode(res.Text)
	}
	if !g.first.IsZero() {
		res.PrefillSeconds = g.first.Sub(g.start).Seconds()
		res.DecodeSeconds = time.Since(g.first).Seconds()
	}
	return res
}

// continuation is what the next attempt sends as its prompt: the request's prompt and what
// streamed so far, as ids and as text (each server takes one).
func (g *gen) continuation() (ids []int, text string) {
	ids = g.req.Prompt
	gen := g.ids
	if !g.byIDs && g.e.tok != nil { // with e.srv, nothing streamed without its ids
		gen = g.e.tok.Encode(g.text.String())
	}
	if len(gen) > 0 {
		ids = append(append(make([]int, 0, len(ids)+len(gen)), ids...), gen...)
	}
	if !g.e.flavour.takesIDs() {
		text = g.e.tok.Decode(g.req.Prompt) + g.text.String()
	}
	return ids, text
}

// attempt sends one request for the rest of the generation and streams its answer. It returns
// nil once the generation ended (g.reason set), a *transient for a failure worth repeating, or
// another error.
func (g *gen) attempt(ctx context.Context) error {
	e := g.e
	path, body, st, err := e.request(g)
	if err != nil {
		return err
	}
	actx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	req, err := http.NewRequestWithContext(actx, "POST", e.base+path, bytes.NewReader(body))
	if err != nil {
		return err
	}
	e.setHeaders(req)
	req.Header.Set("Accept", "text/event-stream")
	stallTimer := time.AfterFunc(e.stall, func() {
		if g.inYield.Load() {
			cancel(errReleased)
		} else {
			cancel(errStall)
		}
	})
	defer stallTimer.Stop()
	g.stall = stallTimer
	endpoint := e.URL() + path

	resp, err := e.client.Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if context.Cause(actx) == errStall {
			return &transient{err: fmt.Errorf("%s: %w", endpoint, errStall)}
		}
		cause := rootCause(err)
		if retryable(cause) {
			return &transient{err: fmt.Errorf("%w: %s: %v", ErrUnreachable, endpoint, cause)}
		}
		return fmt.Errorf("%w: %s: %v", ErrUnreachable, endpoint, cause)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		data, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
		serr := &ServerError{URL: endpoint, Status: resp.StatusCode, Message: e.errorMessage(data)}
		switch {
		case resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode >= 500:
			return &transient{err: serr, retryAfter: retryAfter(resp.Header.Get("Retry-After"))}
		case resp.StatusCode == http.StatusUnauthorized || resp.StatusCode == http.StatusForbidden:
			return fmt.Errorf("%w: %w", ErrUnauthorized, serr)
		}
		return serr
	}

	sse := &sseReader{r: bufio.NewReaderSize(&stall.Reader{R: resp.Body, Timer: stallTimer, After: e.stall}, 64<<10)}
	for {
		data, err := sse.next()
		if err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			switch cause := context.Cause(actx); {
			case cause == errReleased:
				return &transient{err: cause, cut: true, released: true}
			case cause == errStall:
				err = errStall
			case err == io.EOF:
				if g.reason != "" { // llama.cpp ends its stream without [DONE]
					return nil
				}
				err = errors.New("the stream ended before the generation did")
			}
			return &transient{err: fmt.Errorf("%s: %w", endpoint, err), cut: true}
		}
		if string(data) == "[DONE]" {
			if g.reason == "" {
				g.reason = llm.StopEOS
			}
			return nil
		}
		c, err := e.parse(data, st)
		if err != nil {
			return fmt.Errorf("%s: %w", endpoint, err)
		}
		if c.failed {
			return &ServerError{URL: endpoint, Status: http.StatusOK, Message: e.errorMessage(data)}
		}
		done, err := g.consume(c)
		if err != nil || done {
			return err
		}
	}
}

// retryable reports a connection that failed before any answer in a way worth a second try.
func retryable(err error) bool {
	return errors.Is(err, syscall.ECONNREFUSED) || errors.Is(err, syscall.ECONNRESET) ||
		errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF)
}

func retryAfter(h string) time.Duration {
	if s, err := strconv.Atoi(strings.TrimSpace(h)); err == nil && s > 0 {
		return min(time.Duration(s)*time.Second, maxBackoff)
	}
	return 0
}

// chunk is one streamed event, whatever the server's format.
type chunk struct {
	ids    []int // generated ids, when the server gives them
	hasIDs bool
	text   string // the text delta (beside the ids where the server sends both)
	finish finish
	eosID  int  // the id the server says ended the generation, when it names one (-1: none)
	failed bool // the event reports an error; its message is read from the event
}

type finish int

const (
	notFinished  finish = iota
	finishEOS           // the model ended (or the server stopped for a reason it does not name)
	finishStop          // a requested stop matched
	finishLength        // the token budget ran out
)

// consume hands a chunk's tokens to the caller; done reports the end of the generation.
func (g *gen) consume(c chunk) (done bool, err error) {
	if !g.modeSet && (c.hasIDs || c.text != "") {
		g.byIDs, g.modeSet = c.hasIDs, true
	}
	if g.byIDs && !c.hasIDs && c.text != "" {
		return false, errors.New("the server stopped sending token ids")
	}
	if g.e.srv != nil {
		return g.consumeServerText(c)
	}
	if g.byIDs {
		for _, id := range c.ids {
			// The model's end is not part of the text (the embedded runtime does not emit it).
			if g.e.eos[id] || id == c.eosID {
				g.reason = llm.StopEOS
				return true, nil
			}
			if _, ok := g.e.tok.TokenBytes(id); !ok {
				return false, fmt.Errorf("token id %d is not in the local tokenizer: is it the served model's?", id)
			}
			if done, err := g.emit(id, g.dec.Push(id)); done || err != nil {
				return done, err
			}
		}
	} else if c.text != "" {
		id := -1
		if ids := g.e.tok.Encode(c.text); len(ids) == 1 {
			id = ids[0]
		}
		if done, err := g.emit(id, c.text); done || err != nil {
			return done, err
		}
	}
	return g.finished(c.finish), nil
}

// consumeServerText hands on a chunk's ids with the server's text, for an engine without a
// local tokenizer: the chunk's text goes with its last id.
func (g *gen) consumeServerText(c chunk) (done bool, err error) {
	if !c.hasIDs && c.text != "" {
		return false, errors.New("the server sent no token ids, which counting tokens without a local tokenizer needs")
	}
	ids := c.ids
	if c.finish == finishEOS && g.e.flavour == VLLM && len(ids) > 0 {
		// vLLM streams the model's end token, with its text since stops are kept; the
		// embedded runtime emits neither.
		ids, c.text = ids[:len(ids)-1], ""
	}
	for i, id := range ids {
		piece := ""
		if i == len(ids)-1 {
			piece = c.text
			if piece == "" {
				if piece, err = g.e.srv.piece(g.ctx, id); err != nil {
					return false, err
				}
			}
		}
		if done, err := g.emit(id, piece); done || err != nil {
			return done, err
		}
	}
	return g.finished(c.finish), nil
}

// finished records why the generation ended, if it did.
func (g *gen) finished(f finish) bool {
	switch f {
	case notFinished:
		return false
	case finishLength:
		g.reason = llm.StopBudget
	case finishStop:
		g.reason = llm.StopString
	default:
		g.reason = llm.StopEOS
	}
	return true
}

// emit yields one token, cutting its text just after a stop string it completes.
func (g *gen) emit(id int, piece string) (done bool, err error) {
	if g.ctx.Err() != nil { // tokens already read do not outlive a cancellation
		return true, nil
	}
	stopped := false
	if piece != "" && len(g.req.StopStrings) > 0 {
		before := g.text.Len()
		g.text.WriteString(piece)
		if end := llm.StopEnd(g.text.String(), g.req.StopStrings, before); end >= 0 {
			piece = piece[:end-before]
			kept := g.text.String()[:end]
			g.text.Reset()
			g.text.WriteString(kept)
			stopped = true
		}
	} else {
		g.text.WriteString(piece)
	}
	if g.first.IsZero() {
		g.first = time.Now()
	}
	if g.byIDs {
		g.ids = append(g.ids, id)
	}
	index := g.req.Offset + g.n
	g.n++
	g.inYield.Store(true)
	err = g.yield(llm.Token{ID: id, Index: index, Text: piece})
	g.inYield.Store(false)
	g.stall.Reset(g.e.stall) // the caller's time is not the server's silence
	if err != nil {
		g.yieldErr = err
		return true, err
	}
	switch {
	case stopped:
		g.reason = llm.StopString
	case g.n >= g.req.MaxTokens:
		g.reason = llm.StopBudget
	default:
		return false, nil
	}
	return true, nil
}

// sseReader yields the data of each server-sent event (data lines joined by newlines); other
// fields and comments are skipped. An event not ended by a blank line is dropped, as the SSE
// specification says, so a stream cut mid-event reads as io.EOF.
type sseReader struct {
	r    *bufio.Reader
	data []byte
}

func (s *sseReader) next() ([]byte, error) {
	s.data = s.data[:0]
	have := false
	for {
		line, err := s.r.ReadBytes('\n')
		if err != nil {
			if err == io.EOF && len(line) > 0 {
				err = io.ErrUnexpectedEOF
			}
			return nil, err
		}
		line = bytes.TrimRight(line, "\r\n")
		if len(line) == 0 {
			if have {
				return s.data, nil
			}
			continue
		}
		field, value, _ := bytes.Cut(line, []byte(":"))
		if string(field) != "data" {
			continue
		}
		if have {
			s.data = append(s.data, '\n')
		}
		s.data = append(s.data, bytes.TrimPrefix(value, []byte(" "))...)
		have = true
	}
}

// attemptState is what parsing one response needs to know: the stop token ids it asked for
// (SGLang names a matched stop or EOS alike by its id), and, as SGLang streams cumulative text
// and ids, how much of them came before.
type attemptState struct {
	stopIDs map[int]bool
	ids     int
	text    string
}

func (e *Engine) parse(data []byte, st *attemptState) (chunk, error) {
	var c chunk
	var err error
	switch e.flavour {
	case SGLang:
		c, err = parseSGLang(data, st)
	case LlamaCpp:
		c, err = parseLlamaCpp(data)
	default:
		c, err = parseOpenAI(data)
	}
	if err != nil {
		return c, fmt.Errorf("unexpected stream event %.200q: %w", data, err)
	}
	return c, nil
}
