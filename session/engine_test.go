package session_test

import (
	"context"
	"path/filepath"
	"reflect"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/infty-dev/infty/llm"
	"github.com/infty-dev/infty/session"
	"github.com/infty-dev/infty/session/format"
	"github.com/infty-dev/infty/session/sessiontest"
	"github.com/infty-dev/infty/session/trajlog"
)

const question = "What is 6 times 7?"

func words(n int) func(int) int { return func(int) int { return n } }

func newEngine(t *testing.T, m llm.Model, cfg session.Config) *session.Engine {
	t.Helper()
	if cfg.LogPath == "" {
		cfg.LogPath = filepath.Join(t.TempDir(), "log.jsonl")
	}
	e, err := session.New(m, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.Close() })
	return e
}

// collect reads events until done or error.
func collect(t *testing.T, ch <-chan session.Event) []session.Event {
	t.Helper()
	var evs []session.Event
	timeout := time.After(20 * time.Second)
	for {
		select {
		case ev, ok := <-ch:
			if !ok {
				return evs
			}
			evs = append(evs, ev)
			if ev.Type == session.EventDone || ev.Type == session.EventError {
				return evs
			}
		case <-timeout:
			t.Fatalf("no done event after 20s; got %d events", len(evs))
		}
	}
}

func solve(t *testing.T, m llm.Model, cfg session.Config) (*session.Engine, []session.Event) {
	t.Helper()
	e := newEngine(t, m, cfg)
	ch, err := e.Start(context.Background(), question)
	if err != nil {
		t.Fatal(err)
	}
	evs := collect(t, ch)
	if err := e.Wait(); err != nil {
		t.Fatal(err)
	}
	return e, evs
}

// stripTimes zeroes the fields that depend on the clock.
func stripTimes(its []session.Iteration) []session.Iteration {
	out := append([]session.Iteration(nil), its...)
	for i := range out {
		out[i].Seconds, out[i].WallSeconds = 0, 0
	}
	return out
}

func TestNativeSummaryEarlyThenConclusion(t *testing.T) {
	m := sessiontest.New("scripted", sessiontest.Script{Reason: words(5), ConcludeAt: 3, SummaryWords: 3, Answer: "42"}.Policy())
	e, evs := solve(t, m, session.Config{Eta: 100, Phi: 5, Reference: "42", Sampling: llm.Sampling{Seed: 7}})
	snap := e.Snapshot()
	if len(snap.Iterations) != 3 || !snap.Done || snap.Answer != "42" || snap.Correct == nil || !*snap.Correct {
		t.Fatalf("snapshot: %d iterations, done %v, answer %q correct %v", len(snap.Iterations), snap.Done, snap.Answer, snap.Correct)
	}
	for i, it := range snap.Iterations {
		if it.Malformed || it.ForcedBoundary || it.ForcedConclusion || it.SummaryTruncated {
			t.Errorf("iteration %d flags: %+v", i+1, it)
		}
		want := format.Iteration{Index: it.Index, History: it.History, Reasoning: it.Reasoning, Summary: it.Summary, Conclusion: it.Conclusion, Final: it.Final}.Render()
		if it.Raw != want {
			t.Errorf("iteration %d raw\n%q\nwant canonical\n%q", i+1, it.Raw, want)
		}
		if i > 0 && it.History != snap.Iterations[i-1].Summary {
			t.Errorf("iteration %d history %q, previous summary %q", i+1, it.History, snap.Iterations[i-1].Summary)
		}
		if len(strings.Fields(it.Reasoning)) != 5 {
			t.Errorf("iteration %d reasoning %q: want 5 words", i+1, it.Reasoning)
		}
	}
	if got := snap.Iterations[1].Summary; got != "[it=2] y0 y1 y2" {
		t.Errorf("summary 2 = %q", got)
	}
	if !snap.Iterations[2].Final || snap.Iterations[2].Conclusion != `The answer is \boxed{42}.` {
		t.Errorf("final iteration %+v", snap.Iterations[2])
	}
	// The deltas rebuild the parts exactly.
	rebuilt := map[[2]int]string{}
	types := map[session.EventType]int{}
	for _, ev := range evs {
		types[ev.Type]++
		if ev.Type == session.EventDelta {
			k := 0
			switch ev.Part {
			case session.PartSummary:
				k = 1
			case session.PartConclusion:
				k = 2
			}
			rebuilt[[2]int{ev.Iteration, k}] += ev.Text
		}
	}
	for _, it := range snap.Iterations {
		if rebuilt[[2]int{it.Index, 0}] != it.Reasoning || rebuilt[[2]int{it.Index, 1}] != it.Summary || rebuilt[[2]int{it.Index, 2}] != it.Conclusion {
			t.Errorf("iteration %d: deltas %q / %q / %q do not rebuild %+v", it.Index, rebuilt[[2]int{it.Index, 0}], rebuilt[[2]int{it.Index, 1}], rebuilt[[2]int{it.Index, 2}], it)
		}
	}
	if types[session.EventIterationStart] != 3 || types[session.EventSummary] != 2 || types[session.EventAnswer] != 1 || types[session.EventDone] != 1 {
		t.Errorf("event counts %v", types)
	}
	last := evs[len(evs)-1]
	if last.Type != session.EventDone || last.Iterations != 3 || last.Tokens <= 0 {
		t.Errorf("last event %+v", last)
	}
	// The model saw exactly the chat prompt plus each iteration's raw turn.
	user, _ := m.RenderChat([]llm.Message{{Role: "user", Content: question}}, true)
	seen := m.Seen()
	for _, it := range snap.Iterations {
		found := false
		for _, s := range seen {
			if s == user+it.Raw {
				found = true
			}
		}
		if !found {
			t.Errorf("iteration %d: no generation saw %q", it.Index, user+it.Raw)
		}
	}
}

// A template that opens <think> in the generation prompt still yields the exact layout: the
// "<think>\n" moves after the <history> pre-fill.
func TestNativeTemplateOpensThink(t *testing.T) {
	m := sessiontest.New("scripted", sessiontest.Script{Reason: words(4), SummaryWords: 2, ConcludeAt: 2, Answer: "3"}.Policy())
	m.ThinkPrompt = true
	e, _ := solve(t, m, session.Config{Eta: 50, Phi: 4})
	snap := e.Snapshot()
	if len(snap.Iterations) != 2 {
		t.Fatalf("%d iterations", len(snap.Iterations))
	}
	for _, it := range snap.Iterations {
		want := format.Iteration{Index: it.Index, History: it.History, Reasoning: it.Reasoning, Summary: it.Summary, Conclusion: it.Conclusion, Final: it.Final}.Render()
		if it.Malformed || it.Raw != want {
			t.Errorf("iteration %d: raw %q, want %q", it.Index, it.Raw, want)
		}
	}
	seen := strings.Join(m.Seen(), "\n---\n")
	if !strings.Contains(seen, "<|im_start|>assistant\n<history>\n[it=1] y0 y1\n</history><think>\n") {
		t.Errorf("iteration 2 prompt does not pre-fill history then <think>: %s", seen)
	}
}

// A summarizer whose template opens <think> thinks first; only what follows </think> is the
// summary.
func TestSummarizerThinksFirst(t *testing.T) {
	reasoner := sessiontest.New("reasoner", func(st sessiontest.State) (string, bool) {
		if strings.Contains(st.Assistant(), "</think>") {
			if strings.HasSuffix(st.Assistant(), "}") {
				return "", true
			}
			return "\\boxed{1}", false
		}
		return "w\n\n", false
	})
	summarizer := sessiontest.New("summarizer", func(st sessiontest.State) (string, bool) {
		switch st.Assistant() {
		case "<think>\n":
			return "let me think", false
		case "<think>\nlet me think":
			return "</think>", false
		case "<think>\nlet me think</think>":
			return "\n\n* the summary", false
		}
		return "", true
	})
	summarizer.ThinkPrompt = true
	e, err := session.New(reasoner, session.Config{Mode: session.ModeScaffold, Eta: 6, Phi: 2}, session.WithSummarizer(summarizer))
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	snap, err := e.Solve(context.Background(), question, nil)
	if err != nil {
		t.Fatal(err)
	}
	if s := snap.Iterations[0].Summary; s != "* the summary" {
		t.Errorf("summary %q", s)
	}
}

func TestNativeBudgetForced(t *testing.T) {
	// The model never closes its reasoning: η forces the boundary every iteration, φ the conclusion.
	m := sessiontest.New("scripted", sessiontest.Script{Reason: words(-1), SummaryWords: 2, Answer: "7"}.Policy())
	e, _ := solve(t, m, session.Config{Eta: 12, Phi: 3, Sampling: llm.Sampling{Seed: 1}})
	snap := e.Snapshot()
	if len(snap.Iterations) != 3 {
		t.Fatalf("%d iterations, want φ = 3", len(snap.Iterations))
	}
	for _, it := range snap.Iterations[:2] {
		if !it.ForcedBoundary || it.Final || !strings.Contains(it.Raw, format.ForcedBoundary) {
			t.Errorf("iteration %d not forced: %+v", it.Index, it)
		}
		if n := len(strings.Fields(it.Reasoning)); n != 10 { // η = 12 tokens: "<think>", "\n", 10 words
			t.Errorf("iteration %d: %d reasoning words, want 10 (%q)", it.Index, n, it.Reasoning)
		}
		if it.Tokens < 12 {
			t.Errorf("iteration %d: %d tokens", it.Index, it.Tokens)
		}
	}
	last := snap.Iterations[2]
	if !last.Final || !last.ForcedConclusion || !strings.Contains(last.Raw, format.ForcedConclusion) || snap.Answer != "7" {
		t.Errorf("last iteration %+v answer %q", last, snap.Answer)
	}
	if last.Malformed {
		t.Errorf("forced conclusion marked malformed: %q", last.Raw)
	}
}

func TestNativePhiReplacesSummaryWithConclusion(t *testing.T) {
	m := sessiontest.New("scripted", sessiontest.Script{Reason: words(3), SummaryWords: 2, Answer: "1/2"}.Policy())
	e, _ := solve(t, m, session.Config{Eta: 50, Phi: 2, Reference: "0.5"})
	snap := e.Snapshot()
	if len(snap.Iterations) != 2 {
		t.Fatalf("%d iterations", len(snap.Iterations))
	}
	last := snap.Iterations[1]
	if !last.Final || !last.ForcedConclusion || last.Summary != "" || !strings.Contains(last.Raw, "</think>\nThe answer") || strings.Contains(last.Raw, "<summary>") {
		t.Errorf("iteration φ: %+v", last)
	}
	if snap.Correct == nil || !*snap.Correct {
		t.Errorf("1/2 vs reference 0.5: correct = %v", snap.Correct)
	}
}

func TestNativeSummaryBound(t *testing.T) {
	m := sessiontest.New("scripted", sessiontest.Script{Reason: words(2), SummaryWords: -1, ConcludeAt: 2, Answer: "3"}.Policy())
	e, _ := solve(t, m, session.Config{Eta: 50, Phi: 4, SummaryMax: 6})
	it := e.Snapshot().Iterations[0]
	if !it.SummaryTruncated || !strings.HasSuffix(it.Raw, format.ForcedSummaryClose) || it.Summary == "" {
		t.Errorf("summary not bounded: %+v", it)
	}
}

// malformed policies: what a half-trained model does.
func TestNativeMalformedTags(t *testing.T) {
	cases := []struct {
		name  string
		turns map[int]string // iteration -> whole assistant text after the pre-fill, then EOS
		check func(t *testing.T, its []session.Iteration)
	}{
		{"no think tag", map[int]string{1: "plain reasoning\n</think><summary>\n[it=1] s\n</summary>", 2: "<think>\nr\n</think>\n\\boxed{5}\n"},
			func(t *testing.T, its []session.Iteration) {
				if !its[0].Malformed || its[0].Reasoning != "plain reasoning" || its[0].Summary != "[it=1] s" {
					t.Errorf("%+v", its[0])
				}
			}},
		{"summary without closing think", map[int]string{1: "<think>\nr1\n<summary>\n[it=1] s\n</summary>", 2: "<think>\nr\n</think>\n\\boxed{5}\n"},
			func(t *testing.T, its []session.Iteration) {
				if !its[0].Malformed || its[0].Reasoning != "r1" || its[0].Summary != "[it=1] s" || its[0].Final {
					t.Errorf("%+v", its[0])
				}
			}},
		{"unclosed summary", map[int]string{1: "<think>\nr1\n</think><summary>\n[it=1] s", 2: "<think>\nr\n</think>\n\\boxed{5}\n"},
			func(t *testing.T, its []session.Iteration) {
				if !its[0].Malformed || its[0].Summary != "[it=1] s" || its[0].Final {
					t.Errorf("%+v", its[0])
				}
			}},
		{"eos inside think", map[int]string{1: "<think>\nr1 stops", 2: "<think>\nr\n</think>\n\\boxed{5}\n"},
			func(t *testing.T, its []session.Iteration) {
				if !its[0].Malformed || !its[0].ForcedBoundary || its[0].Reasoning != "r1 stops" {
					t.Errorf("%+v", its[0])
				}
			}},
		{"think closed then eos", map[int]string{1: "<think>\nr1\n</think>"},
			func(t *testing.T, its []session.Iteration) {
				if len(its) != 1 || !its[0].Final || its[0].Conclusion != "" {
					t.Errorf("%+v", its)
				}
			}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			policy := func(st sessiontest.State) (string, bool) {
				asst := st.Assistant()
				iter := sessiontest.Iteration(asst)
				body := asst
				if i := strings.Index(asst, "</history>"); i >= 0 {
					body = asst[i+len("</history>"):]
				}
				if !strings.HasPrefix(body, format.Prefill(1, "")) {
					return "", true
				}
				want := c.turns[iter]
				if strings.Contains(body, "<summary>\n") && !strings.HasPrefix(want, body) {
					// after an engine insertion: write a short summary
					if !strings.HasSuffix(body, "</summary>") {
						return "[it=1] forced\n</summary>", false
					}
					return "", true
				}
				if !strings.HasPrefix(want, body) || len(body) == len(want) {
					return "", true
				}
				rest := []rune(want[len(body):])
				for _, sp := range sessiontest.Specials {
					if strings.HasPrefix(string(rest), sp) {
						return sp, false
					}
				}
				return string(rest[0]), false
			}
			m := sessiontest.New("scripted", policy)
			e, evs := solve(t, m, session.Config{Eta: 200, Phi: 4})
			if last := evs[len(evs)-1]; last.Type != session.EventDone {
				t.Fatalf("last event %+v", last)
			}
			c.check(t, e.Snapshot().Iterations)
		})
	}
}

func TestCancellationMidIteration(t *testing.T) {
	m := sessiontest.New("scripted", sessiontest.Script{Reason: words(30), SummaryWords: 2, ConcludeAt: 5, Answer: "1"}.Policy())
	m.Delay = time.Millisecond
	logPath := filepath.Join(t.TempDir(), "log.jsonl")
	e := newEngine(t, m, session.Config{Eta: 100, Phi: 6, LogPath: logPath})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	ch, err := e.Start(ctx, question)
	if err != nil {
		t.Fatal(err)
	}
	var last session.Event
	for ev := range ch {
		if ev.Type == session.EventDelta && ev.Iteration == 2 && ev.Part == session.PartReasoning {
			cancel()
		}
		last = ev
	}
	if last.Type != session.EventError || !strings.Contains(last.Message, "canceled") {
		t.Fatalf("last event %+v, want a canceled error", last)
	}
	if err := e.Wait(); err == nil {
		t.Error("Wait after cancellation: nil error")
	}
	runs, warn, err := trajlog.ReadFile(logPath)
	if err != nil || len(warn) > 0 {
		t.Fatal(err, warn)
	}
	b := runs[0].Branch(1)
	if len(b.Iterations) != 1 || b.Done {
		t.Errorf("log after cancel: %d iterations, done %v (want the finished first one only)", len(b.Iterations), b.Done)
	}
}

// pauseAt pauses when the first reasoning delta of iteration `at` arrives, checks that nothing is
// generated while paused, optionally edits, then resumes.
func runWithPause(t *testing.T, m *sessiontest.Model, cfg session.Config, at int, whilePaused func(e *session.Engine)) (*session.Engine, []session.Event) {
	t.Helper()
	e := newEngine(t, m, cfg)
	ch, err := e.Start(context.Background(), question)
	if err != nil {
		t.Fatal(err)
	}
	var evs []session.Event
	paused := false
	for ev := range ch {
		evs = append(evs, ev)
		if !paused && ev.Type == session.EventDelta && ev.Iteration == at && ev.Part == session.PartReasoning {
			paused = true
			e.Pause()
			// A token already past the pause gate may still land; wait for the view to settle.
			before := e.Snapshot()
			for i := 0; i < 100; i++ {
				time.Sleep(10 * time.Millisecond)
				now := e.Snapshot()
				if reflect.DeepEqual(now.Partial, before.Partial) {
					break
				}
				before = now
			}
			time.Sleep(60 * time.Millisecond)
			after := e.Snapshot()
			if before.Partial == nil || after.Partial == nil || before.Partial.Reasoning != after.Partial.Reasoning || !after.Paused {
				t.Errorf("generation went on while paused: %+v -> %+v", before.Partial, after.Partial)
			}
			if whilePaused != nil {
				whilePaused(e)
			}
			e.Resume()
		}
		if ev.Type == session.EventDone || ev.Type == session.EventError {
			break
		}
	}
	if !paused {
		t.Fatal("never paused")
	}
	return e, evs
}

func TestPauseResumeSameAsUninterrupted(t *testing.T) {
	script := sessiontest.Script{Reason: words(25), SummaryWords: 3, ConcludeAt: 3, Answer: "9"}
	cfg := session.Config{Eta: 100, Phi: 5, Sampling: llm.Sampling{Temperature: 0.7, Seed: 42}}
	ref, _ := solve(t, sessiontest.New("scripted", script.Policy()), cfg)

	m := sessiontest.New("scripted", script.Policy())
	m.Delay = 200 * time.Microsecond
	e, evs := runWithPause(t, m, cfg, 2, nil)
	got, want := stripTimes(e.Snapshot().Iterations), stripTimes(ref.Snapshot().Iterations)
	if !reflect.DeepEqual(got, want) {
		t.Errorf("paused run differs from the uninterrupted one:\n%+v\n%+v", got, want)
	}
	var sawPaused, sawResumed bool
	for _, ev := range evs {
		sawPaused = sawPaused || ev.Type == session.EventPaused
		sawResumed = sawResumed || ev.Type == session.EventResumed
	}
	if !sawPaused || !sawResumed {
		t.Error("no paused/resumed events")
	}
	// Pausing keeps the generation in flight: no extra Generate call.
	if m.Calls() != 3 {
		t.Errorf("%d Generate calls, want 3 (pause must not restart the generation)", m.Calls())
	}
}

// A pause is not generation time: the iteration's seconds, the answer's seconds and the rates
// leave it out; the wall time beside them keeps it.
func TestPauseTimeNotGenerationTime(t *testing.T) {
	var clock atomic.Int64 // nanoseconds; every reading advances it by a millisecond
	now := func() time.Time { return time.Unix(0, clock.Add(int64(time.Millisecond))) }
	script := sessiontest.Script{Reason: words(25), SummaryWords: 3, ConcludeAt: 3, Answer: "9"}
	cfg := session.Config{Eta: 100, Phi: 5, LogPath: filepath.Join(t.TempDir(), "log.jsonl")}
	m := sessiontest.New("scripted", script.Policy())
	m.Delay = 200 * time.Microsecond
	e, err := session.New(m, cfg, session.WithClock(now))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.Close() })
	ch, err := e.Start(context.Background(), question)
	if err != nil {
		t.Fatal(err)
	}
	paused := false
	var evs []session.Event
	for ev := range ch {
		evs = append(evs, ev)
		if !paused && ev.Type == session.EventDelta && ev.Iteration == 2 {
			paused = true
			e.Pause()
			clock.Add(int64(time.Hour))
			e.Resume()
		}
		if ev.Type == session.EventDone || ev.Type == session.EventError {
			break
		}
	}
	if err := e.Wait(); err != nil {
		t.Fatal(err)
	}
	it := e.Snapshot().Iterations[1]
	if it.Seconds > 60 || it.WallSeconds < 3600 {
		t.Errorf("iteration 2: seconds %.1f (want the active time, under a minute), wall %.1f (want the hour of pause in it)", it.Seconds, it.WallSeconds)
	}
	for _, ev := range evs {
		if (ev.Type == session.EventStats || ev.Type == session.EventDone || ev.Type == session.EventIterationEnd) && ev.Seconds > 60 {
			t.Errorf("%s event counts the pause: %.1f s", ev.Type, ev.Seconds)
		}
		if ev.Type == session.EventStats && ev.Tokens > 0 && ev.TokensPerSecond < float64(ev.Tokens)/60 {
			t.Errorf("stats rate %.2f tok/s counts the pause", ev.TokensPerSecond)
		}
	}
	runs, _, err := trajlog.ReadFile(cfg.LogPath)
	if err != nil {
		t.Fatal(err)
	}
	if b := runs[0].Branch(1); b.Seconds > 60 {
		t.Errorf("the logged answer counts the pause: %.1f s", b.Seconds)
	}
}

func TestEditReasoningWhilePaused(t *testing.T) {
	script := sessiontest.Script{Reason: words(20), SummaryWords: 2, ConcludeAt: 3, Answer: "9"}
	m := sessiontest.New("scripted", script.Policy())
	m.Delay = 200 * time.Microsecond
	cfg := session.Config{Eta: 100, Phi: 5, Sampling: llm.Sampling{Seed: 3}}
	if err := newEngine(t, m, cfg).EditReasoning("a"); err == nil {
		t.Error("edit before start accepted")
	}
	e, evs := runWithPause(t, m, cfg, 2, func(e *session.Engine) {
		if err := e.EditSummary(7, "nope"); err == nil {
			t.Error("edit of a missing iteration accepted")
		}
		if err := e.EditReasoning("my own start\n\n"); err != nil {
			t.Fatalf("EditReasoning: %v", err)
		}
		snap := e.Snapshot()
		if snap.Branch != 2 || snap.Partial == nil || !strings.HasPrefix(snap.Partial.Reasoning, "my own start") || !snap.Paused {
			t.Errorf("after edit: branch %d partial %+v paused %v", snap.Branch, snap.Partial, snap.Paused)
		}
	})
	snap := e.Snapshot()
	if snap.Branch != 2 || !snap.Done {
		t.Fatalf("branch %d done %v", snap.Branch, snap.Done)
	}
	it := snap.Iterations[1]
	if !strings.HasPrefix(it.Reasoning, "my own start\n\n") || !it.Edited || len(strings.Fields(it.Reasoning)) != 3+20 {
		t.Errorf("edited iteration: %+v", it)
	}
	bs := e.Branches()
	if len(bs) != 2 || bs[1].Parent != 1 || bs[1].Fork != 2 || bs[0].Iterations != 1 || bs[0].Done {
		t.Errorf("branches %+v", bs)
	}
	// A front end rebuilds the edited iteration from the edit event and the deltas after it.
	view := ""
	for _, ev := range evs {
		switch {
		case ev.Type == session.EventEdit && ev.Part == session.PartReasoning:
			view = ev.Text
		case ev.Type == session.EventDelta && ev.Branch == 2 && ev.Iteration == 2 && ev.Part == session.PartReasoning:
			view += ev.Text
		}
	}
	if view != it.Reasoning {
		t.Errorf("view rebuilt from events %q, iteration holds %q", view, it.Reasoning)
	}
	// The edited iteration goes on: it does not start again (a front end would drop its text).
	starts := 0
	for _, ev := range evs {
		if ev.Type == session.EventIterationStart && ev.Iteration == 2 {
			starts++
		}
	}
	if starts != 1 {
		t.Errorf("iteration 2 started %d times, want once", starts)
	}
}

// boxed12After is a scaffolded reasoner: reason picks its reasoning pieces until it writes
// "</think>"; then it answers \boxed{12} and ends.
func boxed12After(reason func(assistant string) string) sessiontest.Policy {
	return func(st sessiontest.State) (string, bool) {
		asst := st.Assistant()
		if strings.Contains(asst, "</think>") {
			if strings.HasSuffix(asst, "}") {
				return "", true
			}
			return "\\boxed{12}", false
		}
		return reason(asst), false
	}
}

func TestScaffoldEditReasoning(t *testing.T) {
	reasoner := sessiontest.New("reasoner", boxed12After(func(asst string) string {
		if strings.Count(asst, "w") >= 30 {
			return "</think>"
		}
		return "w "
	}))
	reasoner.Delay = 200 * time.Microsecond
	e, _ := runWithPause(t, reasoner, session.Config{Mode: session.ModeScaffold, Eta: 100, Phi: 2}, 1, func(e *session.Engine) {
		if err := e.EditReasoning("Let me think again. "); err != nil {
			t.Fatal(err)
		}
	})
	snap := e.Snapshot()
	if !snap.Done || snap.Branch != 2 || len(snap.Iterations) != 1 {
		t.Fatalf("%+v", snap)
	}
	it := snap.Iterations[0]
	if !strings.HasPrefix(it.Reasoning, "Let me think again. w ") || !it.Edited || !it.Final || snap.Answer != "12" {
		t.Errorf("%+v", it)
	}
}

// Switching to an abandoned (unfinished) branch does not start generating on it: the run waits
// paused until Resume.
func TestSwitchToUnfinishedBranchWaitsPaused(t *testing.T) {
	script := sessiontest.Script{Reason: words(30), SummaryWords: 2, ConcludeAt: 4, Answer: "9"}
	m := sessiontest.New("scripted", script.Policy())
	m.Delay = 200 * time.Microsecond
	e := newEngine(t, m, session.Config{Eta: 100, Phi: 5})
	ch, err := e.Start(context.Background(), question)
	if err != nil {
		t.Fatal(err)
	}
	edited := false
	for ev := range ch {
		if !edited && ev.Type == session.EventIterationStart && ev.Iteration == 2 {
			edited = true
			if err := e.EditSummary(1, "[it=1] by hand"); err != nil { // branch 1 is left unfinished
				t.Fatal(err)
			}
		}
		if ev.Type == session.EventDone {
			break
		}
	}
	if err := e.SwitchBranch(1); err != nil {
		t.Fatal(err)
	}
	if !e.Paused() {
		t.Fatal("switching to an unfinished branch did not pause the run")
	}
	time.Sleep(50 * time.Millisecond)
	before := e.Snapshot()
	time.Sleep(50 * time.Millisecond)
	if after := e.Snapshot(); len(after.Iterations) != len(before.Iterations) || after.Done ||
		after.Partial != nil && before.Partial != nil && after.Partial.Reasoning != before.Partial.Reasoning {
		t.Fatal("the abandoned branch generated before Resume")
	}
	e.Resume()
	for ev := range ch {
		if ev.Type == session.EventDone && ev.Branch == 1 {
			return
		}
	}
	t.Fatal("branch 1 did not conclude after Resume")
}

func TestEditSummaryBranchesAndSwitch(t *testing.T) {
	script := sessiontest.Script{Reason: words(4), SummaryWords: 2, ConcludeAt: 3, Answer: "9"}
	m := sessiontest.New("scripted", script.Policy())
	logPath := filepath.Join(t.TempDir(), "log.jsonl")
	e := newEngine(t, m, session.Config{Eta: 100, Phi: 5, LogPath: logPath, Reference: "9"})
	ch, err := e.Start(context.Background(), question)
	if err != nil {
		t.Fatal(err)
	}
	collect(t, ch)
	orig := e.Snapshot()
	if len(orig.Iterations) != 3 {
		t.Fatalf("%d iterations", len(orig.Iterations))
	}
	if err := e.EditSummary(3, "x"); err == nil {
		t.Error("editing the final iteration's summary accepted")
	}
	if err := e.EditSummary(1, "[it=1] edited by hand"); err != nil {
		t.Fatal(err)
	}
	evs := collect(t, ch)
	snap := e.Snapshot()
	if snap.Branch != 2 || !snap.Done || len(snap.Iterations) != 3 {
		t.Fatalf("after edit: branch %d done %v iterations %d", snap.Branch, snap.Done, len(snap.Iterations))
	}
	if s := snap.Iterations[0]; s.Summary != "[it=1] edited by hand" || !s.Edited || s.Reasoning != orig.Iterations[0].Reasoning ||
		s.Original != orig.Iterations[0].Summary {
		t.Errorf("edited iteration %+v", s)
	}
	if h := snap.Iterations[1]; h.History != "[it=1] edited by hand" || !strings.HasPrefix(h.Raw, "<history>\n[it=1] edited by hand\n</history><think>\n") {
		t.Errorf("next iteration did not continue from the edit: %+v", h)
	}
	var sawEdit, sawBranch bool
	for _, ev := range evs {
		sawEdit = sawEdit || (ev.Type == session.EventEdit && ev.Iteration == 1 && ev.Branch == 2 && ev.Original == orig.Iterations[0].Summary)
		sawBranch = sawBranch || (ev.Type == session.EventBranch && ev.Branch == 2 && ev.Parent == 1)
	}
	if !sawEdit || !sawBranch {
		t.Errorf("edit/branch events missing")
	}
	// The old branch is kept, and can be switched back to.
	if err := e.SwitchBranch(9); err == nil {
		t.Error("switch to a missing branch accepted")
	}
	if err := e.SwitchBranch(1); err != nil {
		t.Fatal(err)
	}
	back := e.Snapshot()
	if back.Branch != 1 || !reflect.DeepEqual(stripTimes(back.Iterations), stripTimes(orig.Iterations)) {
		t.Errorf("branch 1 changed: %+v", back.Iterations)
	}
	if e.Paused() {
		t.Error("switching to a concluded branch paused the run")
	}
	// The log rebuilds both branches.
	e.Close()
	runs, warns, err := trajlog.ReadFile(logPath)
	if err != nil || len(warns) != 0 || len(runs) != 1 {
		t.Fatal(err, warns, len(runs))
	}
	run := runs[0]
	if run.Current != 1 || len(run.Branches) != 2 || run.Question != question || run.Mode != "native" || run.Eta != 100 {
		t.Fatalf("run %+v", run)
	}
	b1, b2 := run.Branch(1), run.Branch(2)
	if !reflect.DeepEqual(stripTimes(b1.Iterations), stripTimes(orig.Iterations)) || !reflect.DeepEqual(stripTimes(b2.Iterations), stripTimes(snap.Iterations)) {
		t.Errorf("log branches differ from the engine's")
	}
	if !b2.Edited() || b1.Edited() || b2.Parent != 1 || b2.Fork != 1 || !b1.Done || !b2.Done || b2.Correct == nil || !*b2.Correct {
		t.Errorf("log branches: %+v %+v", b1, b2)
	}
	if len(run.Edits) != 1 || run.Edits[0].Old != orig.Iterations[0].Summary {
		t.Errorf("edits %+v", run.Edits)
	}
}

func TestSlowConsumerLosesNothing(t *testing.T) {
	m := sessiontest.New("scripted", sessiontest.Script{Reason: words(40), SummaryWords: 5, ConcludeAt: 4, Answer: "2"}.Policy())
	e := newEngine(t, m, session.Config{Eta: 200, Phi: 5})
	ch, err := e.Start(context.Background(), question)
	if err != nil {
		t.Fatal(err)
	}
	if err := e.Wait(); err != nil { // the whole run finishes before anything is read
		t.Fatal(err)
	}
	text := ""
	for _, ev := range collect(t, ch) {
		if ev.Type == session.EventDelta && ev.Part == session.PartReasoning {
			text += ev.Text
		}
	}
	want := ""
	for _, it := range e.Snapshot().Iterations {
		want += it.Reasoning
	}
	if text != want {
		t.Errorf("deltas lost: %d bytes of %d", len(text), len(want))
	}
}

func TestScaffold(t *testing.T) {
	// A model that reasons in paragraphs and never concludes: the engine cuts at the last
	// paragraph break before η and the summarizer (another scripted model) writes the summary.
	reasoner := sessiontest.New("reasoner", boxed12After(func(asst string) string {
		if strings.Count(asst, "w")%3 == 2 {
			return "w.\n\n"
		}
		return "w "
	}))
	var summarizerPrompts []string
	summarizer := sessiontest.New("summarizer", func(st sessiontest.State) (string, bool) {
		asst := st.Assistant()
		if asst == "" {
			summarizerPrompts = append(summarizerPrompts, st.Context)
			return "* summary", false
		}
		return "", true
	})
	logPath := filepath.Join(t.TempDir(), "log.jsonl")
	e, err := session.New(reasoner, session.Config{Mode: session.ModeScaffold, Eta: 10, Phi: 3, LogPath: logPath, Step1Prompt: "STEP1", Step2Prompt: "STEP2", ContinuePrompt: "GO ON"},
		session.WithSummarizer(summarizer))
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	reasoningEvents := map[int]int{}
	snap, err := e.Solve(context.Background(), question, func(ev session.Event) {
		if ev.Type == session.EventReasoning {
			reasoningEvents[ev.Iteration]++
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(reasoningEvents, map[int]int{1: 1, 2: 1, 3: 1}) {
		t.Errorf("reasoning events per iteration: %v", reasoningEvents)
	}
	if len(snap.Iterations) != 3 || snap.Answer != "12" {
		t.Fatalf("%d iterations, answer %q", len(snap.Iterations), snap.Answer)
	}
	for _, it := range snap.Iterations[:2] {
		if !it.ForcedBoundary || it.Summary != "* summary" || strings.HasSuffix(it.Reasoning, "w ") || !strings.HasSuffix(it.Reasoning, "w.") {
			t.Errorf("iteration %d: %+v", it.Index, it)
		}
	}
	if !snap.Iterations[2].ForcedConclusion || !snap.Iterations[2].Final {
		t.Errorf("iteration φ: %+v", snap.Iterations[2])
	}
	if len(summarizerPrompts) != 2 {
		t.Fatalf("%d summarizer calls", len(summarizerPrompts))
	}
	r1 := snap.Iterations[0].Reasoning
	want1 := "<|im_start|>user\n" + question + "<|im_end|>\n<|im_start|>assistant\n" + r1 + "<|im_end|>\n<|im_start|>user\nSTEP1<|im_end|>\n<|im_start|>assistant\n"
	if summarizerPrompts[0] != want1 {
		t.Errorf("step 1 prompt\n%q\nwant\n%q", summarizerPrompts[0], want1)
	}
	r2 := snap.Iterations[1].Reasoning
	want2 := "<|im_start|>user\n" + question + "<|im_end|>\n<|im_start|>assistant\n* summary<|im_end|>\n<|im_start|>user\nGO ON<|im_end|>\n" +
		"<|im_start|>assistant\n" + r2 + "<|im_end|>\n<|im_start|>user\nSTEP2<|im_end|>\n<|im_start|>assistant\n"
	if summarizerPrompts[1] != want2 {
		t.Errorf("step 2 prompt\n%q\nwant\n%q", summarizerPrompts[1], want2)
	}
	runs, _, err := trajlog.ReadFile(logPath)
	if err != nil || runs[0].Summarizer != "summarizer" || runs[0].Mode != "scaffold" {
		t.Fatalf("log: %v %+v", err, runs)
	}
}
