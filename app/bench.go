package app

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/infty-dev/infty/internal/problems"
	"github.com/infty-dev/infty/llm"
	"github.com/infty-dev/infty/runtime"
	"github.com/infty-dev/infty/session"
	"github.com/infty-dev/infty/session/answer"
	"github.com/infty-dev/infty/session/synth"
)

// BenchProblem is one question with its reference answer.
type BenchProblem = problems.Problem

// BenchRow is one line of the InftyThink+ results table.
type BenchRow struct {
	Mode  string  `json:"mode"`
	Acc   float64 `json:"acc"`   // accuracy, percent
	Tok   float64 `json:"tok"`   // generated tokens per problem, all iterations
	Lat   float64 `json:"lat"`   // seconds per problem
	Iters float64 `json:"iters"` // iterations per problem
	// Broke is the percent of runs that left the format, right or wrong: the engine had to step
	// in (session.FormatBreak) or could not go on (iterative), or the window cut the chain before
	// the model ended its turn (vanilla).
	Broke float64 `json:"broke"`
	N     int     `json:"n"`
	Model string  `json:"model"`
	TPS   float64 `json:"tok_per_s"` // generated tokens per second of wall time
}

// BenchOptions are bench's flags past the problem set.
type BenchOptions struct {
	Model        string // iterative mode; "" is DefaultModel
	VanillaModel string // vanilla mode; "" is VanillaBaseline, "same" is Model
	Modes        string // comma-separated: iterative, vanilla
	Backend      string
	Batch        runtime.BatchLimits // the embedded runtime's batching limits
	Eta, Phi     int
	Temperature  float64
	Seed         uint64 // of sampling when Temperature > 0
	// Engine serves the iterative model (and the vanilla one when VanillaModel names one).
	Engine   EngineSpec
	Parallel int          // problems in flight at once (0: 1)
	Warn     func(string) // told what a remote engine cannot do as asked
}

// BenchProblems is bench's problem set: the first n of the JSON Lines file dataset (n 0: all) or,
// without one, n problems of the embedded models' task drawn from seed, of length steps ("L" or
// "MIN-MAX").
func BenchProblems(dataset string, seed uint64, n int, length string) ([]BenchProblem, error) {
	if dataset != "" {
		return problems.Read(dataset, n)
	}
	lo, hi, err := ParseLength(length)
	if err != nil {
		return nil, err
	}
	ps, err := synth.Set(seed, n, lo, hi)
	if err != nil {
		return nil, err
	}
	out := make([]BenchProblem, 0, len(ps))
	for _, p := range ps {
		out = append(out, BenchProblem{Question: p.Question(), Answer: p.Answer()})
	}
	return out, nil
}

// Bench solves problems in each mode of o.Modes, showing progress on a terminal, and writes the
// rows to out as a table or as JSON (format "json").
func Bench(ctx context.Context, o BenchOptions, problems []BenchProblem, format string, out, progress io.Writer) error {
	if err := checkParallel(o.Parallel); err != nil {
		return err
	}
	var rows []BenchRow
	for _, mode := range strings.Split(o.Modes, ",") {
		var row BenchRow
		var err error
		switch strings.TrimSpace(mode) {
		case "iterative":
			row, err = benchIterative(ctx, o, problems, progress)
		case "vanilla":
			row, err = benchVanilla(ctx, o, problems, progress)
		default:
			return fmt.Errorf("invalid mode %q in --modes: want iterative and/or vanilla", mode)
		}
		if err != nil {
			return err
		}
		rows = append(rows, row)
	}
	if format == "json" {
		enc := json.NewEncoder(out)
		enc.SetIndent("", "  ")
		return enc.Encode(map[string]any{"rows": rows})
	}
	return printBenchTable(out, rows)
}

// ParseLength reads "L" or "MIN-MAX".
func ParseLength(s string) (int, int, error) {
	lo, hi, found := strings.Cut(s, "-")
	a, err := strconv.Atoi(strings.TrimSpace(lo))
	if err != nil {
		return 0, 0, fmt.Errorf("invalid --length %q: want L or MIN-MAX", s)
	}
	if !found {
		return a, a, nil
	}
	b, err := strconv.Atoi(strings.TrimSpace(hi))
	if err != nil {
		return 0, 0, fmt.Errorf("invalid --length %q: want L or MIN-MAX", s)
	}
	return a, b, nil
}

// benchResult is one problem's outcome.
type benchResult struct {
	correct       bool
	broke         bool // left the format (BenchRow.Broke)
	tokens, iters int
	seconds       float64
	err           error
}

// benchRun solves every problem with solve, o.Parallel at a time, showing progress, and sums the
// results in the problems' order, so that the row does not depend on the parallelism (at
// temperature 0). Its tok/s is over the wall time: what running many at once buys.
func benchRun(ctx context.Context, o BenchOptions, row BenchRow, problems []BenchProblem, progressW io.Writer, solve func(ctx context.Context, i int, p BenchProblem) benchResult) (BenchRow, error) {
	pb := newProgress(progressW, row.Mode, len(problems))
	defer pb.finish()
	start := time.Now()
	i, finished, correct, tokens, iters, broke := 0, 0, 0, 0, 0, 0
	var seconds float64
	next := func() (int, bool, error) {
		i++
		return i - 1, i <= len(problems), nil
	}
	err := inOrder(ctx, o.Parallel, next, func(ctx context.Context, i int) benchResult {
		t := time.Now()
		r := solve(ctx, i, problems[i])
		r.seconds = time.Since(t).Seconds()
		return r
	}, func(i int, r benchResult) error {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if r.err != nil {
			return r.err
		}
		finished++
		if r.correct {
			correct++
		}
		if r.broke {
			broke++
		}
		tokens, iters, seconds = tokens+r.tokens, iters+r.iters, seconds+r.seconds
		pb.update(finished, fmt.Sprintf("correct %d", correct))
		return nil
	})
	if err == nil && ctx.Err() != nil {
		err = ctx.Err()
	}
	if err != nil {
		if ctx.Err() != nil {
			// Not wrapping ctx.Err(): the command line says nothing of a plain cancellation, and
			// this says what finished.
			return row, fmt.Errorf("%s: interrupted after %d of %d problems (%d correct)", row.Mode, finished, len(problems), correct)
		}
		return row, err
	}
	row = finishRow(row, correct, tokens, iters, broke, seconds)
	if wall := time.Since(start).Seconds(); wall > 0 {
		row.TPS = float64(tokens) / wall
	}
	return row, nil
}

// benchModel opens a mode's model: on o.Engine when it has a URL and engine says so.
func benchModel(ctx context.Context, o BenchOptions, ref string, def Embedded, engine bool, tokenizer string) (Model, error) {
	mo := ModelOptions{Backend: o.Backend, Batch: o.Batch, Default: def, Warn: o.Warn}
	if engine {
		mo.Engine = o.Engine
		mo.Engine.Tokenizer = tokenizer
	}
	return OpenModel(ctx, ref, mo)
}

func benchIterative(ctx context.Context, o BenchOptions, problems []BenchProblem, progress io.Writer) (BenchRow, error) {
	m, err := benchModel(ctx, o, o.Model, DefaultModel, o.Engine.URL != "", o.Engine.Tokenizer)
	if err != nil {
		return BenchRow{}, err
	}
	defer m.Close()
	cfg := session.Config{Mode: session.ModeNative, Eta: o.Eta, Phi: o.Phi,
		Sampling: llm.Sampling{Temperature: o.Temperature, Seed: o.Seed}}
	cfg.FitWindow(llm.ContextLength(m))
	row := BenchRow{Mode: "iterative", N: len(problems), Model: benchModelName(o.Model, DefaultModel.Name)}
	return benchRun(ctx, o, row, problems, progress, func(ctx context.Context, _ int, p BenchProblem) benchResult {
		c := cfg
		c.Reference = p.Answer
		e, err := session.New(m, c)
		if err != nil {
			return benchResult{err: err}
		}
		defer e.Close()
		snap, err := e.Solve(ctx, p.Question, nil)
		// A failed run (the model wrote something the engine cannot continue from) counts as
		// wrong; an interrupted one is not counted at all.
		return benchResult{correct: snap.Correct != nil && *snap.Correct, tokens: snap.Tokens, iters: len(snap.Iterations),
			broke: err != nil || session.FormatBreak(snap.Iterations) != ""}
	})
}

func benchModelName(name, def string) string {
	if name == "" {
		return def
	}
	return name
}

func finishRow(row BenchRow, correct, tokens, iters, broke int, seconds float64) BenchRow {
	n := float64(max(1, row.N))
	row.Acc = 100 * float64(correct) / n
	row.Broke = 100 * float64(broke) / n
	row.Tok = float64(tokens) / n
	row.Lat = seconds / n
	row.Iters = float64(iters) / n
	return row
}

// benchVanilla lets the model think in one chain until it ends its turn or fills its window,
// then takes the last \boxed{} of what it wrote. With an engine, the vanilla model is served
// there when named (its tokenizer looked up by its name; "same" is --model with --tokenizer),
// and the embedded baseline runs here otherwise.
func benchVanilla(ctx context.Context, o BenchOptions, problems []BenchProblem, progress io.Writer) (BenchRow, error) {
	name, tokenizer := o.VanillaModel, ""
	if name == "same" {
		name, tokenizer = o.Model, o.Engine.Tokenizer
	}
	m, err := benchModel(ctx, o, name, VanillaBaseline, o.Engine.URL != "" && o.VanillaModel != "", tokenizer)
	if err != nil {
		return BenchRow{}, err
	}
	defer m.Close()
	window := llm.ContextLength(m)
	if window <= 0 {
		window = 32768
	}
	row := BenchRow{Mode: "vanilla", N: len(problems), Model: benchModelName(name, VanillaBaseline.Name)}
	return benchRun(ctx, o, row, problems, progress, func(ctx context.Context, i int, p BenchProblem) benchResult {
		prompt, err := m.RenderChat([]llm.Message{{Role: "user", Content: p.Question}}, true)
		if err != nil {
			return benchResult{err: err}
		}
		ids, err := m.Encode(prompt)
		if err != nil {
			return benchResult{err: err}
		}
		budget := window - len(ids)
		if budget <= 0 {
			return benchResult{iters: 1}
		}
		res, err := m.Generate(ctx, llm.Request{Prompt: ids, MaxTokens: budget,
			Sampling: llm.Sampling{Temperature: o.Temperature, Seed: o.Seed + uint64(i)}}, func(llm.Token) error { return nil })
		if err != nil {
			return benchResult{err: err}
		}
		got, ok := answer.Extract(res.Text)
		return benchResult{correct: ok && answer.Equal(got, p.Answer), tokens: len(res.IDs), iters: 1, broke: res.Reason == llm.StopBudget}
	})
}

func printBenchTable(w io.Writer, rows []BenchRow) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "mode\tacc %\ttok\tlat s\titers\tbroke %\tn\ttok/s\tmodel\t")
	for _, r := range rows {
		fmt.Fprintf(tw, "%s\t%.1f\t%.1f\t%.2f\t%.2f\t%.1f\t%d\t%.1f\t%s\t\n", r.Mode, r.Acc, r.Tok, r.Lat, r.Iters, r.Broke, r.N, r.TPS, r.Model)
	}
	return tw.Flush()
}
