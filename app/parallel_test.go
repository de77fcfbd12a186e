package app

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// Results come in input order however the work finishes, with at most parallel in flight.
func TestInOrder(t *testing.T) {
	for _, parallel := range []int{1, 3, 8} {
		var inFlight, most atomic.Int32
		i := 0
		next := func() (int, bool, error) { i++; return i, i <= 20, nil }
		var got []int
		err := inOrder(context.Background(), parallel, next, func(_ context.Context, n int) int {
			if c := inFlight.Add(1); c > most.Load() {
				most.Store(c)
			}
			time.Sleep(time.Duration((20-n)%7) * time.Millisecond) // later items often finish first
			inFlight.Add(-1)
			return n * n
		}, func(n, sq int) error {
			if sq != n*n {
				t.Errorf("item %d got result %d", n, sq)
			}
			got = append(got, n)
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		for k, n := range got {
			if n != k+1 {
				t.Fatalf("parallel %d: order %v", parallel, got)
			}
		}
		if len(got) != 20 || most.Load() > int32(parallel) || (parallel > 1 && most.Load() < 2) {
			t.Errorf("parallel %d: %d results, at most %d in flight", parallel, len(got), most.Load())
		}
	}
}

// An error of done or next stops taking items, after those before it are handed on.
func TestInOrderStops(t *testing.T) {
	boom := errors.New("boom")
	i := 0
	var handed []int
	err := inOrder(context.Background(), 4, func() (int, bool, error) {
		i++
		if i == 10 {
			return 0, false, boom
		}
		return i, true, nil
	}, func(_ context.Context, n int) int { return n }, func(n, _ int) error {
		handed = append(handed, n)
		return nil
	})
	if !errors.Is(err, boom) || len(handed) != 9 {
		t.Errorf("next's error: %v after %v", err, handed)
	}
	i, handed = 0, nil
	started := atomic.Int32{}
	err = inOrder(context.Background(), 2, func() (int, bool, error) { i++; return i, i <= 100, nil },
		func(_ context.Context, n int) int { started.Add(1); return n },
		func(n, _ int) error {
			if n == 3 {
				return boom
			}
			return nil
		})
	if !errors.Is(err, boom) || started.Load() > 6 {
		t.Errorf("done's error: %v, %d started", err, started.Load())
	}
}

// Off a terminal the progress says nothing until its one summary line.
func TestProgressSummaryOffTerminal(t *testing.T) {
	var b bytes.Buffer
	p := newProgress(&b, "iterative", 4)
	p.update(2, "correct 1")
	if b.Len() != 0 {
		t.Fatalf("printed before the end: %q", b.String())
	}
	p.update(4, "correct 3")
	p.finish()
	if s := b.String(); !strings.HasPrefix(s, "iterative 4/4  correct 3  ") || strings.Contains(s, "\r") || strings.Count(s, "\n") != 1 {
		t.Errorf("summary %q", s)
	}
}
