package trajlog

import (
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/infty-dev/infty/llm"
)

func rec(run string, kind Kind, branch int) Record {
	return Record{V: Version, Kind: kind, Run: run, Time: time.Unix(0, 0).UTC(), Model: "m", Mode: "native", Eta: 8, Phi: 3, Branch: branch}
}

func iter(run string, branch, index int, final bool) Record {
	r := rec(run, KindIteration, branch)
	r.Iteration = &Iteration{Index: index, Reasoning: "r", Summary: "s", Final: final}
	return r
}

func writeAll(t *testing.T, path string, recs ...Record) {
	t.Helper()
	w, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	for _, r := range recs {
		if err := w.Append(r); err != nil {
			t.Fatal(err)
		}
	}
}

func TestRebuildBranches(t *testing.T) {
	path := filepath.Join(t.TempDir(), "sub", "log.jsonl")
	run := rec("a", KindRun, 1)
	run.Question = "q"
	br := rec("a", KindBranch, 2)
	br.Parent, br.Fork = 1, 2
	ans := rec("a", KindAnswer, 2)
	ans.Answer = "4"
	other := rec("b", KindRun, 1)
	other.Question = "q2"
	writeAll(t, path, run, other, iter("a", 1, 1, false), iter("b", 1, 1, true), iter("a", 1, 2, false), iter("a", 1, 3, false),
		br, iter("a", 2, 2, false), iter("a", 2, 3, true), ans)
	runs, warns, err := ReadFile(path)
	if err != nil || len(warns) != 0 {
		t.Fatal(err, warns)
	}
	if len(runs) != 2 || runs[0].ID != "a" || runs[1].ID != "b" || runs[1].Question != "q2" {
		t.Fatalf("runs %+v", runs)
	}
	a := runs[0]
	if a.Current != 2 || len(a.Branch(1).Iterations) != 3 || a.Branch(1).Done {
		t.Errorf("branch 1: %+v", a.Branch(1))
	}
	b2 := a.Branch(2)
	if len(b2.Iterations) != 3 || !b2.Done || b2.Answer != "4" || !b2.Iterations[2].Final || b2.Iterations[0].Index != 1 {
		t.Errorf("branch 2: %+v", b2)
	}
}

// A log written before iterations carried the summary an edit replaced still shows it: the
// reader takes it from the edit record.
func TestOldLogEditKeepsOriginal(t *testing.T) {
	const head = `"run":"a","time":"2026-01-02T03:04:05Z","model":"m","mode":"native","eta":8,"phi":3,"sampling":{}`
	log := strings.Join([]string{
		`{"v":1,"kind":"run",` + head + `,"branch":1,"question":"q"}`,
		`{"v":1,"kind":"iteration",` + head + `,"branch":1,"iteration":{"index":1,"reasoning":"r","summary":"model's","tokens":3,"seconds":1,"seed":1}}`,
		`{"v":1,"kind":"branch",` + head + `,"branch":2,"parent":1,"fork":1}`,
		`{"v":1,"kind":"edit",` + head + `,"branch":2,"parent":1,"fork":1,"edit":{"iteration":1,"part":"summary","old":"model's","new":"person's"}}`,
		`{"v":1,"kind":"iteration",` + head + `,"branch":2,"iteration":{"index":1,"reasoning":"r","summary":"person's","edited":true,"tokens":3,"seconds":1,"seed":1}}`,
	}, "\n") + "\n"
	runs, warns, err := Read(strings.NewReader(log), "old.jsonl")
	if err != nil || len(warns) != 0 || len(runs) != 1 {
		t.Fatal(err, warns)
	}
	if it := runs[0].Branch(2).Iterations[0]; it.Summary != "person's" || it.Original != "model's" {
		t.Errorf("edited iteration %+v", it)
	}
	if it := runs[0].Branch(1).Iterations[0]; it.Original != "" {
		t.Errorf("unedited iteration has an original: %+v", it)
	}
}

func TestTornLastLine(t *testing.T) {
	path := filepath.Join(t.TempDir(), "log.jsonl")
	run := rec("a", KindRun, 1)
	writeAll(t, path, run, iter("a", 1, 1, false))
	f, _ := os.OpenFile(path, os.O_APPEND|os.O_WRONLY, 0)
	f.WriteString(`{"v":1,"kind":"iteration","run":"a","iter`)
	f.Close()
	runs, warns, err := ReadFile(path)
	if err != nil || len(warns) != 1 || !strings.Contains(warns[0], "log.jsonl:3: torn line") {
		t.Fatalf("err %v warnings %q", err, warns)
	}
	if len(runs[0].Branch(1).Iterations) != 1 {
		t.Errorf("iterations %+v", runs[0].Branch(1).Iterations)
	}
	// A new writer starts on a fresh line, so its records stay readable.
	writeAll(t, path, iter("a", 1, 2, false))
	runs, warns, err = ReadFile(path)
	if err != nil || len(warns) != 1 || len(runs[0].Branch(1).Iterations) != 2 {
		t.Fatalf("after append: err %v warnings %q runs %+v", err, warns, runs)
	}
}

func TestBadInput(t *testing.T) {
	dir := t.TempDir()
	notLog := filepath.Join(dir, "notes.txt")
	os.WriteFile(notLog, []byte("hello\nworld\n"), 0o644)
	if _, _, err := ReadFile(notLog); err == nil || !strings.Contains(err.Error(), "notes.txt") {
		t.Errorf("not a log: %v", err)
	}
	noRun := filepath.Join(dir, "norun.jsonl")
	os.WriteFile(noRun, []byte(`{"kind":"iteration"}`+"\n"), 0o644)
	if _, _, err := ReadFile(noRun); err == nil || !strings.Contains(err.Error(), "norun.jsonl: no readable record") {
		t.Errorf("record without run: %v", err)
	}
	if _, _, err := ReadFile(filepath.Join(dir, "missing.jsonl")); err == nil {
		t.Error("missing file accepted")
	}
}

func TestConcurrentWriters(t *testing.T) {
	path := filepath.Join(t.TempDir(), "log.jsonl")
	var wg sync.WaitGroup
	for _, id := range []string{"a", "b", "c", "d"} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			w, err := Open(path)
			if err != nil {
				t.Error(err)
				return
			}
			defer w.Close()
			w.Append(rec(id, KindRun, 1))
			for i := 1; i <= 50; i++ {
				if err := w.Append(iter(id, 1, i, false)); err != nil {
					t.Error(err)
				}
			}
		}()
	}
	wg.Wait()
	runs, warns, err := ReadFile(path)
	if err != nil || len(warns) != 0 || len(runs) != 4 {
		t.Fatal(err, warns, len(runs))
	}
	for _, r := range runs {
		if n := len(r.Branch(1).Iterations); n != 50 {
			t.Errorf("run %s: %d iterations", r.ID, n)
		}
	}
}

// The run record names the engines and the curated input when there are any; a log written
// before these fields existed reads as runs in this process.
func TestRunRecordEngine(t *testing.T) {
	path := filepath.Join(t.TempDir(), "log.jsonl")
	run := rec("a", KindRun, 1)
	run.Engine = &llm.Server{URL: "http://gpu1:8000", Kind: "vLLM", Model: "org/m"}
	run.SummarizerEngine = &llm.Server{URL: "http://gpu2:8000", Kind: "SGLang", Model: "org/s"}
	run.Source = "line 3 sha256 0011"
	writeAll(t, path, run, iter("a", 1, 1, true))
	old := `{"v":1,"kind":"run","run":"b","time":"2026-01-01T00:00:00Z","model":"m","mode":"native","eta":8,"phi":3,"sampling":{},"branch":1,"question":"q"}` + "\n"
	f, _ := os.OpenFile(path, os.O_APPEND|os.O_WRONLY, 0)
	f.WriteString(old)
	f.Close()
	runs, _, err := ReadFile(path)
	if err != nil || len(runs) != 2 {
		t.Fatal(err, runs)
	}
	if a := runs[0]; *a.Engine != *run.Engine || *a.SummarizerEngine != *run.SummarizerEngine || a.Source != run.Source {
		t.Errorf("run a: %+v %+v %q", a.Engine, a.SummarizerEngine, a.Source)
	}
	if b := runs[1]; b.Engine != nil || b.SummarizerEngine != nil || b.Source != "" {
		t.Errorf("an old run: %+v", b)
	}
}

// One bad record hides nothing else: a torn iteration line in the middle of a run, a {} line,
// a record from a newer version, a record that contradicts the log are each skipped with a
// warning naming the line; the branch a lost iteration broke is left out, and every other run
// and branch is read whole.
func TestBadRecordsAreSkipped(t *testing.T) {
	path := filepath.Join(t.TempDir(), "log.jsonl")
	runA, runB, runC := rec("a", KindRun, 1), rec("b", KindRun, 1), rec("c", KindRun, 1)
	runA.Question, runB.Question, runC.Question = "qa", "qb", "qc"
	br := rec("a", KindBranch, 2)
	br.Parent, br.Fork = 1, 2
	br3 := rec("a", KindBranch, 3)
	br3.Parent, br3.Fork = 2, 3
	newer := iter("b", 1, 2, false)
	newer.V = 99
	writeAll(t, path,
		runA, runB, // lines 1, 2
		iter("a", 1, 1, false), iter("a", 1, 2, false), // 3, 4
		br, iter("a", 2, 2, false), // 5, 6
		iter("a", 2, 3, false), iter("a", 2, 4, true), // 7 (to be torn), 8
		br3, iter("a", 3, 3, true), // 9, 10: branch 3 forks from the broken branch 2
		iter("b", 1, 1, false), newer, iter("b", 1, 2, true), // 11, 12, 13
		rec("b", KindAnswer, 0), // 14: no such branch
		iter("c", 1, 1, true),   // 15: run c's run record (16) is written after: torn below
		runC,
	)
	raw, _ := os.ReadFile(path)
	lines := strings.Split(string(raw), "\n")
	lines[6] = lines[6][:40]                                             // a torn iteration in the middle
	lines = append(lines[:13], append([]string{"{}"}, lines[13:]...)...) // line 14 now {}
	lines[16] = `{"v":1,"kind":"run","run":"c","question":`              // c's run record torn
	os.WriteFile(path, []byte(strings.Join(lines, "\n")), 0o644)

	runs, warns, err := ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	joined := strings.Join(warns, "\n")
	for _, want := range []string{
		"log.jsonl:7: unreadable line skipped",
		"log.jsonl:8: run a branch 2 left out: iteration 4 follows iteration 2",
		"run a branch 3 left out: its parent 2 is left out",
		"log.jsonl:12: record version 99 is newer",
		"log.jsonl:14: record without run id or kind skipped",
		"log.jsonl:15: answer record on branch 0; skipped",
		"log.jsonl:17: unreadable line skipped",
		"run c left out: its run record (the question) is missing",
	} {
		if !strings.Contains(joined, want) {
			t.Errorf("no warning %q in:\n%s", want, joined)
		}
	}
	if len(runs) != 2 || runs[0].ID != "a" || runs[1].ID != "b" {
		t.Fatalf("runs %+v", runs)
	}
	if a := runs[0]; len(a.Branches) != 1 || len(a.Branch(1).Iterations) != 2 || a.Current != 1 {
		t.Errorf("run a: branches %+v current %d", a.Branches, a.Current)
	}
	if b := runs[1].Branch(1); b == nil || len(b.Iterations) != 2 || !b.Iterations[1].Final {
		t.Errorf("run b: %+v", b)
	}
}
