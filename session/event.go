// Package session is the InftyThink+ engine: it builds each iteration's prompt, detects and forces
// boundaries, runs the summarizer, extracts and verifies answers, handles pause / edit / resume /
// branches, logs trajectories and exports cold-start SFT data. It knows no terminal: front ends
// consume the Event stream.
//
// Decisions the protocol leaves open (DESIGN.md §1), as this engine takes them:
//
//   - η counts the tokens generated inside <think>, the opening tag and its newline included.
//     When it runs out the engine appends "\n</think><summary>\n" and lets the model write the
//     summary, bounded by Config.SummaryMax; a summary that reaches its bound is closed with
//     "\n</summary>".
//   - Asking for a conclusion at iteration φ: if the model closes </think> and opens <summary>,
//     the engine cuts the turn back to "</think>", appends "\n" and lets it write the conclusion
//     (bounded by Config.ConclusionMax); if η runs out at φ it appends "\n</think>\n" instead of
//     the summary boundary. Either way iteration φ ends with a conclusion (ForcedConclusion).
//   - EOS inside <think> is treated like η running out (the iteration is marked Malformed); EOS
//     after </think> ends the run with whatever conclusion was written.
//   - Every insertion re-prefills the turn with Request.Offset = tokens generated so far, so the
//     sampler's random stream continues; iteration i samples with IterationSeed(seed, i), so any
//     iteration can be regenerated alone (Open continues an interrupted run exactly).
//   - Pause blocks the token callback before the token is shown (the generation, with its KV
//     cache, waits); Resume continues it exactly. Edits fork a new branch; the old one is kept.
//   - A model with a context window (ContextLimited) gets no run whose worst-case iteration
//     (question prompt + a history as long as the summary bound + η + the larger bound) cannot
//     fit: Start refuses it (ErrContextWindow). A history that grows past that at run time (an
//     edited summary, re-encoding) shortens the reasoning: the boundary is forced early enough
//     for the tags and the summary; a prompt that fills the window ends the run with an error.
//   - A panic in a run (the model, the summarizer, the engine, the event pump) ends that run
//     with an "error" event naming what failed (a *PanicError); the log and the program stay.
package session

import "time"

// EventType names an event; the strings are the `"type"` of `infty solve --format jsonl`.
type EventType string

const (
	EventIterationStart EventType = "iteration_start" // Iteration, Branch, Text = pre-filled history (not repeated when a reasoning edit continues the iteration)
	EventDelta          EventType = "delta"           // Iteration, Part, Text = newly generated text
	EventSummary        EventType = "summary"         // Iteration, Text = the finished summary, Forced
	EventIterationEnd   EventType = "iteration_end"   // Iteration, Forced, Tokens, Seconds
	EventReasoning      EventType = "reasoning"       // Iteration, Text = the finished iteration's reasoning (authoritative: a scaffold cut drops the tail the deltas showed)
	EventAnswer         EventType = "answer"          // Text = extracted answer, Correct when a reference was given
	EventEdit           EventType = "edit"            // Iteration, Part, Text = the edited text, Original = the text it replaced, Branch = the new branch
	EventBranch         EventType = "branch"          // Branch = the branch now shown, Parent
	EventPaused         EventType = "paused"          // Iteration
	EventResumed        EventType = "resumed"         // Iteration
	EventStats          EventType = "stats"           // Iteration, Tokens, ReasoningTokens, Seconds (active: pauses excluded), TokensPerSecond
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
	ReasoningTokens int       `json:"reasoning_tokens,omitempty"`
	Message         string    `json:"message,omitempty"`
	Original        string    `json:"original,omitempty"`
}
