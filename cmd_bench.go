package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/charmbracelet/x/term"
	"github.com/infty-dev/infty/llm"
	"github.com/infty-dev/infty/runtime"
	"github.com/infty-dev/infty/runtime/tinymodel"
	"github.com/infty-dev/infty/session"
	"github.com/infty-dev/infty/session/answer"
	"github.com/infty-dev/infty/session/synth"
	"github.com/spf13/cobra"
)

func init() { addCommand(newBenchCmd) }

// benchProblem is one question with its reference answer.
type benchProblem struct {
	Question string `json:"question"`
	Answer   string `json:"answer"`
}

// benchRow is one line of the InftyThink+ results table.
type benchRow struct {
	Mode  string  `json:"mode"`
	Acc   float64 `json:"acc"`   // accuracy, percent
	Tok   float64 `json:"tok"`   // generated tokens per problem, all iterations
	Lat   float64 `json:"lat"`   // seconds per problem
	Iters float64 `json:"iters"` // iterations per problem
	N     int     `json:"n"`
	Model string  `json:"model"`
	TPS   float64 `json:"tok_per_s"` // generated tokens per second of wall time
}

func newBenchCmd() *cobra.Command {
	var (
		synthetic                  bool
		seed                       uint64
		n                          int
		length, dataset, format    string
		model, vanillaModel, modes string
		backendSpec                string
		eta, phi                   int
		temperature                float64
	)
	cmd := &cobra.Command{
		Use:   "bench (--synthetic [--seed S] [--n N] [--length L|MIN-MAX] | --dataset FILE.jsonl)",
		Short: "Accuracy, tokens, latency and iterations of iterative vs vanilla reasoning",
		Long: "bench solves a problem set twice — iteratively (the InftyThink+ engine, native mode) and " +
			"as one plain chain of thought in the model's window (vanilla) — and prints the columns of " +
			"the InftyThink+ results table: accuracy (percent), average generated tokens, average " +
			"latency (seconds) and average iterations.\n\n" +
			"--synthetic draws problems of the task the embedded models were trained on (\"a=4 d=3 x=5 n=34. " +
			"Do n steps: d=d+a, x=x+d (mod 10). x=?\") from a seed never used in training; --length sets their " +
			"steps. x after n steps repeats with period 20 in n, so a problem of n steps is one of n mod 20 " +
			"in disguise; the default lengths, 28-39, keep even that shorter chain (8-19 steps) beyond " +
			"the plain chain of thought that fits the 256-token window (7 steps). --dataset " +
			"reads {\"question\", \"answer\"} lines (e.g. AIME-style). By default the iterative mode runs " +
			"the embedded default model and the vanilla mode the embedded baseline trained with the " +
			"same size, window and budget on plain chains of thought.",
		Example: "  infty bench --synthetic --seed 777 --n 40\n  infty bench --dataset aime24.jsonl --model deepseek-ai/DeepSeek-R1-Distill-Qwen-1.5B --vanilla-model same --format json",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if synthetic == (dataset != "") {
				return errors.New("give exactly one of --synthetic and --dataset FILE")
			}
			if format != "table" && format != "json" {
				return fmt.Errorf("invalid --format %q: want table or json", format)
			}
			var problems []benchProblem
			if synthetic {
				lo, hi, err := parseLength(length)
				if err != nil {
					return err
				}
				ps, err := synth.Set(seed, n, lo, hi)
				if err != nil {
					return err
				}
				for _, p := range ps {
					problems = append(problems, benchProblem{p.Question(), p.Answer()})
				}
			} else {
				var err error
				if problems, err = readBenchDataset(dataset, n); err != nil {
					return err
				}
			}
			ctx, stop := signalContext(cmd)
			defer stop()
			var rows []benchRow
			for _, mode := range strings.Split(modes, ",") {
				var row benchRow
				var err error
				switch strings.TrimSpace(mode) {
				case "iterative":
					row, err = benchIterative(ctx, cmd, model, backendSpec, problems, eta, phi, temperature, seed)
				case "vanilla":
					name := vanillaModel
					if name == "same" {
						name = model
					}
					row, err = benchVanilla(ctx, cmd, name, backendSpec, problems, temperature, seed)
				default:
					return fmt.Errorf("invalid mode %q in --modes: want iterative and/or vanilla", mode)
				}
				if err != nil {
					return err
				}
				rows = append(rows, row)
			}
			out := cmd.OutOrStdout()
			if format == "json" {
				enc := json.NewEncoder(out)
				enc.SetIndent("", "  ")
				return enc.Encode(map[string]any{"rows": rows})
			}
			return printBenchTable(out, rows)
		},
	}
	f := cmd.Flags()
	f.BoolVar(&synthetic, "synthetic", false, "benchmark on synthetic problems")
	f.Uint64Var(&seed, "seed", 777, "seed of the synthetic problems (and of sampling when --temperature > 0)")
	f.IntVar(&n, "n", 40, "number of problems (with --dataset: the first N; 0 for all)")
	f.StringVar(&length, "length", "28-39", "steps of each synthetic problem: L or MIN-MAX")
	f.StringVar(&dataset, "dataset", "", "JSON Lines of {\"question\": ..., \"answer\": ...}")
	f.StringVar(&format, "format", "table", "table or json ({\"rows\": [{\"mode\", \"acc\", \"tok\", \"lat\", \"iters\"}, ...]})")
	f.StringVar(&model, "model", "", "model of the iterative mode (default: the embedded model)")
	f.StringVar(&vanillaModel, "vanilla-model", "", "model of the vanilla mode (default: the embedded baseline; \"same\": --model)")
	f.StringVar(&modes, "modes", "iterative,vanilla", "modes to run, comma-separated")
	f.StringVar(&backendSpec, "backend", "", "compute backend: go (default), cuda, xla:PLUGIN")
	f.IntVar(&eta, "eta", 0, "η: reasoning budget of one iteration (default: half the window, at most 6144)")
	f.IntVar(&phi, "phi", 16, "φ: maximum iterations")
	f.Float64Var(&temperature, "temperature", 0, "sampling temperature (0: greedy)")
	return cmd
}

// parseLength reads "L" or "MIN-MAX".
func parseLength(s string) (int, int, error) {
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

func readBenchDataset(path string, limit int) ([]benchProblem, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var out []benchProblem
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<26)
	for line := 1; sc.Scan(); line++ {
		b := bytes.TrimSpace(sc.Bytes())
		if len(b) == 0 {
			continue
		}
		var raw struct {
			Question *string         `json:"question"`
			Answer   json.RawMessage `json:"answer"`
		}
		if err := json.Unmarshal(b, &raw); err != nil {
			return nil, fmt.Errorf("%s:%d: not a JSON object: %w", path, line, err)
		}
		if raw.Question == nil || strings.TrimSpace(*raw.Question) == "" {
			return nil, fmt.Errorf("%s:%d: missing \"question\"", path, line)
		}
		ans, err := answerString(raw.Answer)
		if err != nil {
			return nil, fmt.Errorf("%s:%d: %w", path, line, err)
		}
		out = append(out, benchProblem{*raw.Question, ans})
		if limit > 0 && len(out) == limit {
			break
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("%s: no problems", path)
	}
	return out, nil
}

// answerString accepts a string or a number (datasets write AIME answers either way).
func answerString(raw json.RawMessage) (string, error) {
	var s string
	if err := json.Unmarshal(raw, &s); err == nil && strings.TrimSpace(s) != "" {
		return s, nil
	}
	var num json.Number
	if err := json.Unmarshal(raw, &num); err == nil {
		return num.String(), nil
	}
	return "", errors.New("missing \"answer\" (a string or a number)")
}

// benchProgress is a bar on a terminal, nothing otherwise.
type benchProgress struct {
	w     io.Writer
	on    bool
	label string
	total int
}

func newBenchProgress(w io.Writer, label string, total int) *benchProgress {
	p := &benchProgress{w: w, label: label, total: total}
	if f, ok := w.(interface{ Fd() uintptr }); ok && term.IsTerminal(f.Fd()) {
		p.on = true
	}
	p.update(0, 0)
	return p
}

func (p *benchProgress) update(done, correct int) {
	if !p.on {
		return
	}
	width := 30
	filled := width * done / max(1, p.total)
	fmt.Fprintf(p.w, "\r\x1b[2K%-9s %s%s %d/%d  correct %d", p.label,
		strings.Repeat("█", filled), strings.Repeat("░", width-filled), done, p.total, correct)
}

func (p *benchProgress) finish() {
	if p.on {
		fmt.Fprint(p.w, "\r\x1b[2K")
	}
}

func benchIterative(ctx context.Context, cmd *cobra.Command, name, backendSpec string, problems []benchProblem, eta, phi int, temp float64, seed uint64) (benchRow, error) {
	m, err := loadSessionModel(ctx, name, backendSpec, false)
	if err != nil {
		return benchRow{}, err
	}
	defer m.Close()
	window := m.ContextLength()
	cfg := session.Config{Mode: session.ModeNative, Eta: eta, Phi: phi,
		Sampling: llm.Sampling{Temperature: temp, Seed: seed}}
	if window > 0 && session.DefaultEta*2 > window {
		// A small window: the question, the history, η and the summary or conclusion must all fit
		// it (the engine checks). Bounds of a tenth of the window each leave η about half of it.
		cfg.SummaryMax = max(window/11, 1)
		cfg.ConclusionMax = max(window/11, 1)
		if cfg.Eta == 0 {
			cfg.Eta = max(window/2-4, 1)
		}
	}
	row := benchRow{Mode: "iterative", N: len(problems), Model: benchModelName(name, "infty-tiny")}
	pb := newBenchProgress(cmd.ErrOrStderr(), "iterative", len(problems))
	defer pb.finish()
	correct, tokens, iters := 0, 0, 0
	var seconds float64
	for i, p := range problems {
		c := cfg
		c.Reference = p.Answer
		e, err := session.New(m, c)
		if err != nil {
			return row, err
		}
		start := time.Now()
		snap, err := e.Solve(ctx, p.Question, nil)
		seconds += time.Since(start).Seconds()
		e.Close()
		if err != nil && ctx.Err() != nil {
			return row, ctx.Err()
		}
		// A failed run (the model wrote something the engine cannot continue from) counts as wrong.
		if snap.Correct != nil && *snap.Correct {
			correct++
		}
		tokens += snap.Tokens
		iters += len(snap.Iterations)
		pb.update(i+1, correct)
	}
	return finishRow(row, correct, tokens, iters, seconds), nil
}

func benchModelName(name, def string) string {
	if name == "" {
		return def
	}
	return name
}

func finishRow(row benchRow, correct, tokens, iters int, seconds float64) benchRow {
	n := float64(max(1, row.N))
	row.Acc = 100 * float64(correct) / n
	row.Tok = float64(tokens) / n
	row.Lat = seconds / n
	row.Iters = float64(iters) / n
	if seconds > 0 {
		row.TPS = float64(tokens) / seconds
	}
	return row
}

// loadVanillaModel loads the vanilla-mode model: name empty means the embedded baseline.
func loadVanillaModel(ctx context.Context, name, backendSpec string) (*runtime.Engine, error) {
	if name != "" {
		return loadSessionModel(ctx, name, backendSpec, false)
	}
	dir, err := tinymodel.Dir(tinymodel.Vanilla)
	if err != nil {
		if errors.Is(err, tinymodel.ErrNotBuilt) {
			return nil, errors.New("this binary carries no embedded vanilla baseline; pass --vanilla-model DIR (or same)")
		}
		return nil, err
	}
	return runtime.Open(dir, "infty-tiny-vanilla", runtime.WithBackend(backendSpec))
}

// benchVanilla lets the model think in one chain until it ends its turn or fills its window,
// then takes the last \boxed{} of what it wrote.
func benchVanilla(ctx context.Context, cmd *cobra.Command, name, backendSpec string, problems []benchProblem, temp float64, seed uint64) (benchRow, error) {
	m, err := loadVanillaModel(ctx, name, backendSpec)
	if err != nil {
		return benchRow{}, err
	}
	defer m.Close()
	window := m.ContextLength()
	if window <= 0 {
		window = 32768
	}
	row := benchRow{Mode: "vanilla", N: len(problems), Model: benchModelName(name, "infty-tiny-vanilla")}
	pb := newBenchProgress(cmd.ErrOrStderr(), "vanilla", len(problems))
	defer pb.finish()
	correct, tokens := 0, 0
	var seconds float64
	for i, p := range problems {
		prompt, err := m.RenderChat([]llm.Message{{Role: "user", Content: p.Question}}, true)
		if err != nil {
			return row, err
		}
		ids, err := m.Encode(prompt)
		if err != nil {
			return row, err
		}
		budget := window - len(ids)
		if budget > 0 {
			start := time.Now()
			res, err := m.Generate(ctx, llm.Request{Prompt: ids, MaxTokens: budget,
				Sampling: llm.Sampling{Temperature: temp, Seed: seed + uint64(i)}}, func(llm.Token) error { return nil })
			seconds += time.Since(start).Seconds()
			if err != nil {
				if ctx.Err() != nil {
					return row, ctx.Err()
				}
				return row, err
			}
			tokens += len(res.IDs)
			if got, ok := answer.Extract(res.Text); ok && answer.Equal(got, p.Answer) {
				correct++
			}
		}
		pb.update(i+1, correct)
	}
	return finishRow(row, correct, tokens, len(problems), seconds), nil
}

func printBenchTable(w io.Writer, rows []benchRow) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "mode\tacc %\ttok\tlat s\titers\tn\ttok/s\tmodel\t")
	for _, r := range rows {
		fmt.Fprintf(tw, "%s\t%.1f\t%.1f\t%.2f\t%.2f\t%d\t%.1f\t%s\t\n", r.Mode, r.Acc, r.Tok, r.Lat, r.Iters, r.N, r.TPS, r.Model)
	}
	return tw.Flush()
}
