package session

import (
	"strings"
	"testing"
	"time"
)

// A panic in the event pump (the goroutine that delivers events) reaches the consumer as an
// error event, then the channel closes: the consumer ends instead of waiting forever.
func TestPumpPanicBecomesErrorAndCloses(t *testing.T) {
	deliverHook = func(ev Event) {
		if ev.Type == EventSummary {
			panic("boom")
		}
	}
	defer func() { deliverHook = nil }()
	q := newEventQueue()
	q.push(Event{Type: EventIterationStart, Iteration: 1})
	q.push(Event{Type: EventSummary, Iteration: 1})
	q.push(Event{Type: EventIterationEnd, Iteration: 1})
	var got []Event
	timeout := time.After(5 * time.Second)
	for {
		select {
		case ev, ok := <-q.out:
			if !ok {
				if len(got) != 2 || got[0].Type != EventIterationStart || got[1].Type != EventError || !strings.Contains(got[1].Message, "event delivery panicked: boom") {
					t.Fatalf("events %+v, want iteration_start then the delivery error", got)
				}
				q.push(Event{Type: EventDelta}) // refused quietly, no panic
				return
			}
			got = append(got, ev)
		case <-timeout:
			t.Fatalf("the channel did not close after the pump panicked; got %+v", got)
		}
	}
}
