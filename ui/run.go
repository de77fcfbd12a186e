package ui

import (
	"time"

	tea "charm.land/bubbletea/v2"
	"github.com/infty-dev/infty/session"
)

// Run is what the workbench needs from a running question: *session.Engine satisfies it. The
// event stream travels beside it (see Started), so a test can drive the view with scripted events
// and a stand-in Run.
type Run interface {
	Pause()
	Resume()
	EditSummary(iteration int, text string) error
	// EditReasoning replaces the partial reasoning of the paused iteration.
	EditReasoning(text string) error
	Branches() []session.BranchInfo
	SwitchBranch(id int) error
	BranchSnapshot(id int) (session.Snapshot, error)
}

// Info is what the status bar says about the model and the budgets.
type Info struct {
	Model   string
	Backend string
	Device  string
	Eta     int // η, tokens per iteration
	Phi     int // φ, iterations at most
}

// Started is a run under way: its controls, its events and what the status bar shows.
type Started struct {
	Run    Run
	Events <-chan session.Event
	Info   Info
}

// StartFunc starts a run of question. The workbench calls it in a command, never inside Update,
// because it loads a model and opens the log.
type StartFunc func(question string) (Started, error)

// DefaultCoalesce is how long the workbench gathers streamed events before it redraws: one
// update and one view per batch instead of one per token.
const DefaultCoalesce = 30 * time.Millisecond

type (
	startedMsg  struct{ s Started }
	startErrMsg struct{ err error }
	// eventsMsg is a batch of events read off the stream. snaps holds, for each branch event,
	// the snapshot of the branch it switched to, taken by the reading command.
	eventsMsg struct {
		events []session.Event
		snaps  map[int]session.Snapshot
		closed bool
	}
	tickMsg     time.Time
	flashMsg    struct{ text string }
	branchesMsg struct{ list []session.BranchInfo }
	editDoneMsg struct {
		part      session.Part
		iteration int
		text      string // what was typed, given back to the editor when it could not be applied
		err       error
	}
)

// readEvents is the command that waits for the next event and gathers the events that follow
// within window (or until the stream closes) into one message.
func readEvents(ch <-chan session.Event, run Run, window time.Duration) tea.Cmd {
	return func() tea.Msg {
		ev, ok := <-ch
		if !ok {
			return eventsMsg{closed: true}
		}
		msg := eventsMsg{}
		add := func(ev session.Event) {
			if ev.Type == session.EventBranch && run != nil {
				if snap, err := run.BranchSnapshot(ev.Branch); err == nil {
					if msg.snaps == nil {
						msg.snaps = map[int]session.Snapshot{}
					}
					msg.snaps[len(msg.events)] = snap
				}
			}
			msg.events = append(msg.events, ev)
		}
		add(ev)
		if window <= 0 {
			return msg
		}
		timer := time.NewTimer(window)
		defer timer.Stop()
		for {
			select {
			case ev, ok := <-ch:
				if !ok {
					msg.closed = true
					return msg
				}
				add(ev)
			case <-timer.C:
				return msg
			}
		}
	}
}

func tick() tea.Cmd {
	return tea.Tick(time.Second, func(t time.Time) tea.Msg { return tickMsg(t) })
}
