package app

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/infty-dev/infty/session/trajlog"
)

// A corrupted iteration line in the middle of one run and a {} line do not stop the export:
// the other run is exported whole, and the messages name the lines and say what was left out.
func TestExportSkipsWhatCannotBeRead(t *testing.T) {
	path := filepath.Join(t.TempDir(), "log.jsonl")
	w, err := trajlog.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	rec := func(run string, kind trajlog.Kind, it int, final bool) trajlog.Record {
		r := trajlog.Record{V: trajlog.Version, Kind: kind, Run: run, Time: time.Unix(0, 0).UTC(), Model: "m", Mode: "native", Eta: 8, Phi: 3, Branch: 1, Question: "q-" + run}
		if kind == trajlog.KindIteration {
			r.Iteration = &trajlog.Iteration{Index: it, Reasoning: "r", Summary: "s", Final: final, Conclusion: "c"}
		}
		return r
	}
	for _, r := range []trajlog.Record{
		rec("a", trajlog.KindRun, 0, false), rec("b", trajlog.KindRun, 0, false),
		rec("a", trajlog.KindIteration, 1, false), rec("a", trajlog.KindIteration, 2, false), rec("a", trajlog.KindIteration, 3, true),
		rec("b", trajlog.KindIteration, 1, false), rec("b", trajlog.KindIteration, 2, true),
		rec("a", trajlog.KindAnswer, 0, false), rec("b", trajlog.KindAnswer, 0, false),
	} {
		if err := w.Append(r); err != nil {
			t.Fatal(err)
		}
	}
	w.Close()
	raw, _ := os.ReadFile(path)
	lines := strings.Split(string(raw), "\n")
	lines[3] = "{\"v\":1,\"kind\":\"iteration\",\"run\":\"a\",\"iter" // run a loses iteration 2
	lines = append(lines[:6], append([]string{"{}"}, lines[6:]...)...)
	os.WriteFile(path, []byte(strings.Join(lines, "\n")), 0o644)

	var out, errOut bytes.Buffer
	if err := Export([]string{path}, ExportOptions{Branches: "current"}, &out, &errOut); err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(out.String(), "\n"); n != 2 || !strings.Contains(out.String(), "q-b") {
		t.Errorf("exported %d examples, want run b's 2:\n%s", n, out.String())
	}
	msg := errOut.String()
	for _, want := range []string{"log.jsonl:4: unreadable line skipped", "log.jsonl:7: record without run id", "log.jsonl:5: run a branch 1 left out", "left out: what the 3 warning(s) above name"} {
		if !strings.Contains(msg, want) {
			t.Errorf("no %q in:\n%s", want, msg)
		}
	}
}
