// Package session is the InftyThink+ engine: it builds each iteration's prompt, detects and forces
// boundaries, runs the summarizer, extracts and verifies answers, handles pause / edit / resume /
// branches, logs trajectories and exports cold-start SFT data. It knows no terminal: front ends
// consume the Event stream.
package session

import "time"

// EventType names an event; the strings are the `"type"` of `infty solve --format jsonl`.
type EventType string

const (
	EventIterationStart EventType = "iteration_start" // Iteration, Branch, Text = pre-filled history
	EventDelta          EventType = "delta"           // Iteration, Part, Text = newly generated text
	EventSummary        EventType = "summary"         // Iteration, Text = the finished summary, Forced
	EventIterationEnd   EventType = "iteration_end"   // Iteration, Forced, Tokens, Seconds
	EventReasoning      EventType = "reasoning"       // Iteration, Text = the finished iteration's reasoning (authoritative: a scaffold cut drops the tail the deltas showed)
	EventAnswer         EventType = "answer"          // Text = extracted answer, Correct when a reference was given
	EventEdit           EventType = "edit"            // Iteration, Part, Text = the edited text, Branch = the new branch
	EventBranch         EventType = "branch"          // Branch = the branch now shown, Parent
	EventPaused         EventType = "paused"          // Iteration
	EventResumed        EventType = "resumed"         // Iteration
	EventStats          EventType = "stats"           // Iteration, Tokens, Seconds, TokensPerSecond
	EventDone           EventType = "done"            // Iterations, Tokens, Seconds
	EventError          EventType = "error"           // Message
)

// Part names the span of an iteration's assistant turn that a delta belongs to.
type Part string

const (
	PartHistory    Part = "history"
	PartReasoning  Part = "reasoning"
	PartSummary    Part = "summary"
	PartConclusion Part = "conclusion"
)

// Event is one thing a front end may show. Fields that do not apply to a type are zero and
// omitted from JSON, so the JSON Lines form stays flat and readable.
type Event struct {
	Type            EventType `json:"type"`
	Time            time.Time `json:"time"`
	Branch          int       `json:"branch,omitempty"`
	Parent          int       `json:"parent,omitempty"`
	Iteration       int       `json:"iteration,omitempty"`
	Part            Part      `json:"part,omitempty"`
	Text            string    `json:"text,omitempty"`
	Forced          bool      `json:"forced,omitempty"`
	Correct         *bool     `json:"correct,omitempty"`
	Iterations      int       `json:"iterations,omitempty"`
	Tokens          int       `json:"tokens,omitempty"`
	Seconds         float64   `json:"seconds,omitempty"`
	TokensPerSecond float64   `json:"tokens_per_second,omitempty"`
	Message         string    `json:"message,omitempty"`
}
