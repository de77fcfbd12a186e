package stall

import (
	"io"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// slow hands out one byte per read, pausing before each.
type slow struct {
	r     io.Reader
	pause time.Duration
}

func (s slow) Read(p []byte) (int, error) {
	time.Sleep(s.pause)
	return s.r.Read(p[:1])
}

// A timer shorter than the whole transfer but longer than any pause between bytes never fires;
// with no reads it does.
func TestReaderPushesTheTimerBack(t *testing.T) {
	var fired atomic.Bool
	timer := time.AfterFunc(60*time.Millisecond, func() { fired.Store(true) })
	defer timer.Stop()
	r := &Reader{R: slow{strings.NewReader("abcdefgh"), 20 * time.Millisecond}, Timer: timer, After: 60 * time.Millisecond}
	got, err := io.ReadAll(r)
	if err != nil || string(got) != "abcdefgh" {
		t.Fatalf("read %q, %v", got, err)
	}
	if fired.Load() {
		t.Fatal("the timer fired while bytes kept arriving (8 reads of 20 ms against 60 ms)")
	}
	time.Sleep(150 * time.Millisecond)
	if !fired.Load() {
		t.Fatal("the timer did not fire once reads stopped")
	}
}
