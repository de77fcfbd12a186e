package trajlog

import (
	"bytes"
	"encoding/json"
	"testing"
)

// FuzzRead: no log, however damaged, makes the reader panic or hang, and what it returns is
// consistent — every run kept has its question record and at least one branch, and every
// branch's iterations are numbered 1..n.
func FuzzRead(f *testing.F) {
	run := rec("a", KindRun, 1)
	run.Question = "q"
	br := rec("a", KindBranch, 2)
	br.Parent, br.Fork = 1, 2
	ed := rec("a", KindEdit, 2)
	ed.Edit = &Edit{Iteration: 2, Part: "summary", Old: "s", New: "t"}
	ans := rec("a", KindAnswer, 2)
	ans.Answer = "4"
	sw := rec("a", KindSwitch, 1)
	var log bytes.Buffer
	for _, r := range []Record{run, iter("a", 1, 1, false), iter("a", 1, 2, false), br, ed, iter("a", 2, 2, false), iter("a", 2, 3, true), ans, sw} {
		b, _ := json.Marshal(r)
		log.Write(append(b, '\n'))
	}
	f.Add(log.Bytes())
	f.Add([]byte("{}\n{\"v\":99,\"kind\":\"run\",\"run\":\"x\"}\n"))
	f.Add([]byte(`{"v":1,"kind":"branch","run":"a","branch":3,"parent":3,"fork":1}` + "\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		runs, _, err := Read(bytes.NewReader(data), "fuzz")
		if err != nil && runs != nil {
			t.Fatalf("runs returned with an error: %v", err)
		}
		for _, r := range runs {
			if !r.started || len(r.Branches) == 0 || r.Branch(r.Current) == nil {
				t.Fatalf("run %q: started %v, %d branches, current %d", r.ID, r.started, len(r.Branches), r.Current)
			}
			for _, b := range r.Branches {
				for i, it := range b.Iterations {
					if it.Index != i+1 {
						t.Fatalf("run %q branch %d: iteration %d at position %d", r.ID, b.ID, it.Index, i+1)
					}
				}
			}
		}
	})
}
