package app

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/infty-dev/infty/llm"
	"github.com/infty-dev/infty/runtime"
	"github.com/infty-dev/infty/session"
	"github.com/infty-dev/infty/session/synth"
	"github.com/infty-dev/infty/session/trajlog"
)

// RunSpec is what the user asked of a session run: the flags of solve, curate and the workbench.
// Zero budgets mean the engine's defaults, fitted to the model's window.
type RunSpec struct {
	Model, Summarizer string // references for OpenModel; Model "" is the embedded default
	Backend           string
	Batch             runtime.BatchLimits // the embedded runtime's batching limits
	Pull              bool
	// Engine serves the model (and the summarizer, unless SummarizerEngine is set) when its URL
	// is set: Model and Summarizer are then served names.
	Engine EngineSpec
	// SummarizerEngine serves the summarizer instead; SummarizerTokenizer is its tokenizer
	// (default: Engine.Tokenizer on the same engine, else its served name in the cache).
	SummarizerEngine, SummarizerTokenizer string
	// Parallel is how many traces curate summarizes at once (0: 1).
	Parallel int
	// Warn is told what a remote engine cannot do as asked; nil keeps it unsaid.
	Warn   func(string)
	Mode   string // native or scaffold
	Format string // text or jsonl

	Eta, Phi, SummaryMax, ConclusionMax int

	Sampling llm.Sampling
	// SamplingGiven says a sampling flag was set, so the model's own defaults do not apply.
	SamplingGiven bool

	Answer  string // reference answer, "" for none (a synthetic question still gets its own)
	LogPath string // "" means trajlog.DefaultPath

	// Files replacing the summarizer's and the scaffold's prompts; "" keeps the built-in ones.
	Step1Prompt, Step2Prompt, ContinuePrompt string
}

// CheckMode refuses a mode the engine does not have, before any model is loaded.
func (s *RunSpec) CheckMode() error {
	if s.Mode != string(session.ModeNative) && s.Mode != string(session.ModeScaffold) {
		return fmt.Errorf("invalid --mode %q: want native or scaffold", s.Mode)
	}
	return nil
}

// CheckFormat refuses an output format that no printer writes.
func (s *RunSpec) CheckFormat() error {
	if s.Format != "text" && s.Format != "jsonl" {
		return fmt.Errorf("invalid --format %q: want text or jsonl", s.Format)
	}
	return nil
}

// Config is the session configuration of a run on m: the budgets fitted to m's window, and m's
// own sampling (its generation_config.json, as transformers reads it) unless a sampling flag
// was given, so that a model runs as its authors meant it to by default (DeepSeek-R1-Distill:
// T=0.6, top-p 0.95; the embedded model: greedy).
func (s *RunSpec) Config(m llm.Model) (session.Config, error) {
	cfg, err := s.config(llm.ContextLength(m))
	if err != nil || s.SamplingGiven {
		return cfg, err
	}
	var def llm.Sampling
	if d, ok := m.(llm.SamplingDefaults); ok {
		def = d.DefaultSampling()
	}
	def.Seed = cfg.Sampling.Seed
	cfg.Sampling = def
	return cfg, nil
}

// config is Config before the model's sampling, for a window of the given length (0: unknown).
func (s *RunSpec) config(window int) (session.Config, error) {
	if err := s.CheckFormat(); err != nil {
		return session.Config{}, err
	}
	cfg := session.Config{Mode: session.Mode(s.Mode), Eta: s.Eta, Phi: s.Phi, SummaryMax: s.SummaryMax,
		ConclusionMax: s.ConclusionMax, Sampling: s.Sampling, Reference: s.Answer}
	for _, v := range []struct {
		name string
		n    int
	}{{"--eta", s.Eta}, {"--phi", s.Phi}, {"--summary-max", s.SummaryMax}, {"--conclusion-max", s.ConclusionMax}} {
		if v.n < 0 {
			return cfg, fmt.Errorf("invalid %s %d: must be positive", v.name, v.n)
		}
	}
	cfg.FitWindow(window)
	for _, p := range []struct {
		path string
		dst  *string
		flag string
	}{{s.Step1Prompt, &cfg.Step1Prompt, "--step1-prompt"}, {s.Step2Prompt, &cfg.Step2Prompt, "--step2-prompt"}, {s.ContinuePrompt, &cfg.ContinuePrompt, "--continue-prompt"}} {
		if p.path == "" {
			continue
		}
		text, err := session.ReadPrompt(p.path)
		if err != nil {
			return cfg, fmt.Errorf("invalid %s: %w", p.flag, err)
		}
		*p.dst = text
	}
	cfg.LogPath = s.LogPath
	if cfg.LogPath == "" {
		var err error
		if cfg.LogPath, err = trajlog.DefaultPath(time.Now()); err != nil {
			return cfg, err
		}
	}
	return cfg, nil
}

// syntheticReference checks a question of the synthetic task (the embedded model's) against its
// computed answer when no reference was given.
func syntheticReference(cfg *session.Config, question string) {
	if cfg.Reference != "" {
		return
	}
	if p, ok := synth.Parse(question); ok {
		cfg.Reference = p.Answer()
	}
}

// Session is a run made ready for one question: the session engine over the models it opened.
type Session struct {
	Engine *session.Engine
	Model  Model
	Config session.Config // as the run was asked for; Engine.Config() has the budgets it settled
	models []Model
}

// NewSession opens the run's model (and summarizer) and builds the engine for question.
func NewSession(ctx context.Context, spec *RunSpec, question string) (*Session, error) {
	s := &Session{}
	m, err := s.open(ctx, spec.Model, spec.modelOptions(false))
	if err != nil {
		return nil, err
	}
	s.Model = m
	if s.Config, err = spec.Config(m); err != nil {
		s.Close()
		return nil, err
	}
	syntheticReference(&s.Config, question)
	var opts []session.Option
	if spec.Summarizer != "" || spec.SummarizerEngine != "" {
		sm, err := s.open(ctx, spec.Summarizer, spec.modelOptions(true))
		if err != nil {
			s.Close()
			return nil, fmt.Errorf("summarizer: %w", err)
		}
		opts = append(opts, session.WithSummarizer(sm))
	}
	if s.Engine, err = session.New(m, s.Config, opts...); err != nil {
		s.Close()
		return nil, err
	}
	return s, nil
}

func (s *Session) open(ctx context.Context, ref string, o ModelOptions) (Model, error) {
	m, err := OpenModel(ctx, ref, o)
	if err == nil {
		s.models = append(s.models, m)
	}
	return m, err
}

// modelOptions is how the run's model, or its summarizer, opens.
func (s *RunSpec) modelOptions(summarizer bool) ModelOptions {
	o := ModelOptions{Backend: s.Backend, Pull: s.Pull, Batch: s.Batch, Engine: s.Engine, Warn: s.Warn}
	if !summarizer {
		return o
	}
	if s.SummarizerEngine != "" {
		o.Engine = EngineSpec{URL: s.SummarizerEngine, KeyEnv: s.Engine.KeyEnv}
	}
	if s.SummarizerTokenizer != "" || s.SummarizerEngine != "" {
		o.Engine.Tokenizer, o.Engine.TokenizerFlag = s.SummarizerTokenizer, "--summarizer-tokenizer"
	}
	return o
}

// Close stops the engine and releases the models.
func (s *Session) Close() {
	if s.Engine != nil {
		s.Engine.Close()
	}
	for _, m := range s.models {
		m.Close()
	}
}

// ReportPanic writes the stack of a panic the engine recovered (a bug: the run ended with an
// error event, the log is intact) so that it can be reported.
func ReportPanic(errOut io.Writer, err error) {
	var pe *session.PanicError
	if errors.As(err, &pe) {
		fmt.Fprintf(errOut, "infty: %v — this is a bug; please report it with this stack:\n%s\n", pe, pe.Stack)
	}
}

// AnswerLine is how every front end states a run's final answer and, when there was a reference,
// whether it was right; none stands in for a missing answer.
func AnswerLine(answer, none string, correct *bool) string {
	if answer == "" {
		answer = none
	}
	verdict := ""
	if correct != nil {
		verdict = map[bool]string{true: " ✓ correct", false: " ✗ incorrect"}[*correct]
	}
	return "answer: " + answer + verdict
}
