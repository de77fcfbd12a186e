package app

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/infty-dev/infty/runtime/hub"
)

func TestPullViewOnTerminal(t *testing.T) {
	var buf bytes.Buffer
	pv := &PullView{w: &buf, tty: true, width: 100}
	f := "model-00001-of-00002.safetensors"
	pv.Update(hub.Progress{File: f, FileTotal: 1000, Total: 4000, Done: 0, Phase: hub.PhaseDownload})
	pv.Update(hub.Progress{File: f, FileTotal: 1000, FileDone: 500, Total: 4000, Done: 500, Phase: hub.PhaseDownload})
	pv.start = pv.start.Add(-time.Second) // 500 bytes in one second
	pv.lastDraw = time.Time{}
	pv.Update(hub.Progress{File: f, FileTotal: 1000, FileDone: 1000, Total: 4000, Done: 1000, Phase: hub.PhaseDownload})
	pv.Finish()
	last := buf.String()[strings.LastIndex(buf.String(), "\r"):]
	for _, want := range []string{"\r\x1b[2K", f, " 25%", "1000 B / 3.9 KiB", "B/s", "ETA ", "━"} {
		if !strings.Contains(last, want) {
			t.Errorf("last redraw %q lacks %q", last, want)
		}
	}
	if !strings.HasSuffix(buf.String(), "\n") {
		t.Error("finish leaves the cursor on the progress line")
	}
}
