package app

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"text/tabwriter"
	"time"

	tea "charm.land/bubbletea/v2"
	"charm.land/lipgloss/v2"
	"github.com/infty-dev/infty/session/synth"
	"github.com/infty-dev/infty/session/trajlog"
	"github.com/infty-dev/infty/themes"
	"github.com/infty-dev/infty/ui"
)

// PickTheme resolves a --theme value; only "auto" asks the terminal for its background color.
func PickTheme(name string) (themes.Theme, error) {
	noColor := os.Getenv("NO_COLOR") != ""
	dark := true
	if n := strings.ToLower(strings.TrimSpace(name)); (n == "" || n == themes.Auto) && !noColor {
		dark = lipgloss.HasDarkBackground(os.Stdin, os.Stdout)
	}
	return themes.Resolve(name, noColor, dark)
}

// workbenchRuns holds the runs the workbench started, to release when the program ends.
type workbenchRuns struct {
	mu       sync.Mutex
	sessions []*Session
}

func (w *workbenchRuns) add(s *Session) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.sessions = append(w.sessions, s)
}

// last is the latest run, nil when none started.
func (w *workbenchRuns) last() *Session {
	w.mu.Lock()
	defer w.mu.Unlock()
	if len(w.sessions) == 0 {
		return nil
	}
	return w.sessions[len(w.sessions)-1]
}

func (w *workbenchRuns) close() {
	w.mu.Lock()
	defer w.mu.Unlock()
	for _, s := range w.sessions {
		s.Close()
	}
}

// Workbench runs the terminal workbench on question (empty: it asks for one) and, once the
// program ends and the terminal is restored, states the last run's answer and log on errOut.
func Workbench(ctx context.Context, spec *RunSpec, th themes.Theme, question string, errOut io.Writer) error {
	if err := spec.CheckMode(); err != nil {
		return err
	}
	modelName, suggestion, backend := spec.Model, "", spec.Backend
	if spec.Engine.URL != "" {
		// Until the first run opens it, the status bar says where the model will be served.
		backend = spec.Engine.URL
		modelName = cmp.Or(modelName, "(the one served)")
	} else if modelName == "" {
		// Say it before taking the terminal, not after the person typed a question.
		if err := DefaultModel.Available(); err != nil {
			return err
		}
		modelName = "infty-tiny (embedded)"
		suggestion = suggestedProblem(spec.Sampling.Seed, time.Now())
	}
	runs := &workbenchRuns{}
	defer runs.close()
	start := func(q string) (ui.Started, error) {
		s, err := NewSession(ctx, spec, q)
		if err != nil {
			return ui.Started{}, err
		}
		ch, err := s.Engine.Start(ctx, q)
		if err != nil {
			s.Close()
			return ui.Started{}, err
		}
		runs.add(s)
		pl := placement(s.Model)
		info := ui.Info{Model: s.Model.Name(), Backend: pl.Backend, Device: pl.Device, Eta: s.Engine.Config().Eta, Phi: s.Engine.Config().Phi}
		return ui.Started{Run: s.Engine, Events: ch, Info: info}, nil
	}
	wb := ui.New(ui.Options{Theme: th, Question: question, Suggestion: suggestion, Start: start,
		Info: ui.Info{Model: modelName, Backend: backend, Eta: spec.Eta, Phi: spec.Phi}})
	// Bubble Tea restores the terminal after a panic in Update, View or a command and returns
	// an error; the run's log is fsynced per iteration, so nothing finished is lost.
	_, err := tea.NewProgram(wb, tea.WithContext(ctx)).Run()
	if s := runs.last(); s != nil {
		snap := s.Engine.Snapshot()
		if snap.Done {
			fmt.Fprintln(errOut, AnswerLine(snap.Answer, "(none found)", snap.Correct))
		}
		fmt.Fprintf(errOut, "run %s · branch %d of %d · log %s\n", snap.RunID, snap.Branch, len(snap.Branches), s.Config.LogPath)
		// Said now rather than as they arose, which would have scrawled over the workbench.
		if r, ok := s.Model.(interface{ Warnings() []string }); ok {
			for _, w := range r.Warnings() {
				warnTo(errOut)(w)
			}
		}
		ReportPanic(errOut, s.Engine.Err()) // the terminal is restored by now
	}
	if err != nil && !errors.Is(err, tea.ErrProgramKilled) && !errors.Is(err, context.Canceled) {
		return err
	}
	return wb.Err()
}

// Inspect browses the trajectories of the log at path in the terminal;
// export is the file x offers to write ("": beside the log).
func Inspect(ctx context.Context, th themes.Theme, path, export string, runs []*trajlog.Run, warnings []string) error {
	in := ui.NewInspector(ui.InspectOptions{Theme: th, Path: path, Export: export, Runs: runs, Warnings: warnings})
	_, err := tea.NewProgram(in, tea.WithContext(ctx)).Run()
	if errors.Is(err, tea.ErrProgramKilled) {
		return nil
	}
	if err != nil {
		return err
	}
	return in.Err()
}

// DefaultLogs are the logs export and inspect read when given none: every *.jsonl of the
// per-user log folder, oldest first.
func DefaultLogs() ([]string, error) {
	dir, err := trajlog.DefaultDir()
	if err != nil {
		return nil, err
	}
	logs, err := filepath.Glob(filepath.Join(dir, "*.jsonl"))
	if err != nil {
		return nil, err
	}
	if len(logs) == 0 {
		return nil, fmt.Errorf("no logs in %s; pass a log file", dir)
	}
	sort.Strings(logs)
	return logs, nil
}

// ReadLogs reads the runs of every log in paths, with the warnings of the lines skipped.
func ReadLogs(paths []string) ([]*trajlog.Run, []string, error) {
	var runs []*trajlog.Run
	var warnings []string
	for _, p := range paths {
		rs, ws, err := trajlog.ReadFile(p)
		warnings = append(warnings, ws...)
		if err != nil {
			return nil, warnings, err
		}
		runs = append(runs, rs...)
	}
	return runs, warnings, nil
}

// PrintRuns is inspect's headless form: one line per run.
func PrintRuns(w io.Writer, runs []*trajlog.Run) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "RUN\tQUESTION\tANSWER\tCORRECT\tITERATIONS\tEDITED\tBRANCHES")
	for _, r := range runs {
		b := r.Branch(r.Current)
		ans, correct, iters := "", "-", 0
		if b != nil {
			ans, iters = b.Answer, len(b.Iterations)
			if !b.Done {
				ans = "(unfinished)"
			}
		}
		if v := ui.Verdicts(r, "yes", "no"); len(v) > 0 {
			correct = strings.Join(v, "/") // each branch's verdict, in branch order
		}
		edited := "no"
		if len(r.Edits) > 0 {
			edited = "yes"
		}
		q := strings.ReplaceAll(r.Question, "\n", " ")
		if len([]rune(q)) > 60 {
			q = string([]rune(q)[:59]) + "…"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%d\t%s\t%d\n", r.ID, q, ans, correct, iters, edited, len(r.Branches))
	}
	return tw.Flush()
}

// suggestedProblem is the question the workbench offers on the embedded model, which knows one
// task: a fresh problem of it, long enough that its plain chain of thought could not fit the
// window. A nonzero --seed makes it repeatable (scripts, demos); otherwise the clock picks it.
func suggestedProblem(seed uint64, now time.Time) string {
	if seed == 0 {
		seed = uint64(now.UnixNano())
	}
	p, err := synth.New(seed, 24)
	if err != nil {
		return ""
	}
	return p.Question()
}
