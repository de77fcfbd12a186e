package session

import (
	"fmt"
	"sync"
	"time"
)

// eventQueue decouples the engine from its consumer: push never blocks, a pump goroutine
// delivers in order, and consecutive deltas of the same branch, iteration and part are merged
// while they wait, so a slow consumer loses nothing and falls behind by bounded event counts.
type eventQueue struct {
	mu     sync.Mutex
	items  []Event
	closed bool
	notify chan struct{}
	out    chan Event
	stop   chan struct{} // closed by abandon: the consumer is gone, drop what is left
	once   sync.Once
}

func newEventQueue() *eventQueue {
	q := &eventQueue{notify: make(chan struct{}, 1), out: make(chan Event, 64), stop: make(chan struct{})}
	go q.pump()
	return q
}

func (q *eventQueue) push(ev Event) {
	q.mu.Lock()
	if q.closed {
		q.mu.Unlock()
		return
	}
	if n := len(q.items); n > 0 && ev.Type == EventDelta {
		last := &q.items[n-1]
		if last.Type == EventDelta && last.Branch == ev.Branch && last.Iteration == ev.Iteration && last.Part == ev.Part {
			last.Text += ev.Text
			q.mu.Unlock()
			return
		}
	}
	q.items = append(q.items, ev)
	q.mu.Unlock()
	select {
	case q.notify <- struct{}{}:
	default:
	}
}

// close lets the pump deliver what is queued, then close the channel.
func (q *eventQueue) close() {
	q.mu.Lock()
	q.closed = true
	q.mu.Unlock()
	select {
	case q.notify <- struct{}{}:
	default:
	}
}

// deliverHook, when set (tests), sees each event just before it is delivered.
var deliverHook func(Event)

func (q *eventQueue) pump() {
	defer func() {
		if r := recover(); r != nil {
			// Nothing will deliver after this goroutine: refuse further events, hand the
			// consumer the error and close its channel, so it ends instead of waiting forever.
			q.mu.Lock()
			q.closed, q.items = true, nil
			q.mu.Unlock()
			select {
			case q.out <- Event{Type: EventError, Time: time.Now(), Message: fmt.Sprintf("session: event delivery panicked: %v", r)}:
			case <-q.stop:
			}
			close(q.out)
		}
	}()
	for {
		q.mu.Lock()
		if len(q.items) == 0 {
			closed := q.closed
			q.mu.Unlock()
			if closed {
				close(q.out)
				return
			}
			<-q.notify
			continue
		}
		ev := q.items[0]
		q.items[0] = Event{}
		q.items = q.items[1:]
		q.mu.Unlock()
		if deliverHook != nil {
			deliverHook(ev)
		}
		select {
		case q.out <- ev:
		case <-q.stop:
			close(q.out)
			return
		}
	}
}

// abandon closes the queue and stops delivering: events not yet read are dropped, so a consumer
// that stopped reading does not keep the pump alive.
func (q *eventQueue) abandon() {
	q.close()
	q.once.Do(func() { close(q.stop) })
}
