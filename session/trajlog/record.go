// Package trajlog is the trajectory log: JSON Lines, append-only, one record per event that
// matters (run started, iteration finished, edit, branch, answer). Each record is written with a
// single write(2) of a full line on an O_APPEND descriptor and fsynced, so several runs may share
// one file and a kill at any instant loses at most the iteration in flight. Read rebuilds runs,
// their branches and iterations, skipping torn lines with a warning.
package trajlog

import (
	"time"

	"github.com/infty-dev/infty/llm"
	"github.com/infty-dev/infty/session/format"
)

// Version is the record format version written in every record's "v".
const Version = 1

// Kind names a record.
type Kind string

const (
	KindRun       Kind = "run"       // a run started: Question, Reference; Branch = 1
	KindIteration Kind = "iteration" // an iteration finished on Branch: Iteration
	KindBranch    Kind = "branch"    // Branch was created from Parent, forking at iteration Fork
	KindEdit      Kind = "edit"      // a person edited Edit.Part of iteration Edit.Iteration; Branch = the new branch
	KindSwitch    Kind = "switch"    // the run now shows Branch
	KindAnswer    Kind = "answer"    // Branch finished: Answer, Correct (when a reference was given)
)

// Iteration is one finished iteration of a trajectory, in the InftyThink+ parts.
type Iteration struct {
	Index      int    `json:"index"`                // 1-based
	History    string `json:"history,omitempty"`    // s_(i-1), pre-filled as <history>; empty for the first
	Reasoning  string `json:"reasoning"`            // r_i, inside the think tags (format.Iteration)
	Summary    string `json:"summary,omitempty"`    // s_i; empty for the final iteration
	Conclusion string `json:"conclusion,omitempty"` // the final iteration's conclusion
	Final      bool   `json:"final,omitempty"`      // ended with a conclusion

	// Raw is the assistant turn exactly as the model saw it in native mode: the pre-filled
	// history, the generated text and any text the engine forced ("\n</think><summary>\n", ...).
	// Empty in scaffold and curate modes, where the model never saw the InftyThink+ layout.
	Raw string `json:"raw,omitempty"`

	ForcedBoundary   bool `json:"forced_boundary,omitempty"`   // η ran out (or EOS inside <think>): the engine closed the reasoning
	ForcedConclusion bool `json:"forced_conclusion,omitempty"` // φ reached: the engine asked for a conclusion
	SummaryTruncated bool `json:"summary_truncated,omitempty"` // the summary bound ran out and the engine closed it
	Truncated        bool `json:"truncated,omitempty"`         // the conclusion bound ran out
	Malformed        bool `json:"malformed,omitempty"`         // tags not in the exact layout; the parts are a best effort
	Edited           bool `json:"edited,omitempty"`            // a person edited this iteration's reasoning or summary

	// Original is the summary a person's edit replaced, so that a front end can show the two
	// side by side without finding the edit again; "" unless the summary was edited. Logs written
	// before the field existed get it from their edit record when read.
	Original string `json:"original,omitempty"`

	Tokens        int     `json:"tokens"`                   // generated tokens of the reasoner in this iteration (summary included in native mode)
	SummaryTokens int     `json:"summary_tokens,omitempty"` // tokens the summarizer generated (scaffold, curate)
	Seconds       float64 `json:"seconds"`                  // generation time of the iteration, pauses excluded
	WallSeconds   float64 `json:"wall_seconds,omitempty"`   // wall time, pauses included (absent in older logs)
	Seed          uint64  `json:"seed"`                     // the sampler seed this iteration used
}

// Layout is the iteration's text in the InftyThink+ layout, as format renders it: what training
// data and checks against a worked solution compare, without the log's bookkeeping.
func (it Iteration) Layout() format.Iteration {
	return format.Iteration{Index: it.Index, History: it.History, Reasoning: it.Reasoning,
		Summary: it.Summary, Conclusion: it.Conclusion, Final: it.Final}
}

// Edit describes a person's edit.
type Edit struct {
	Iteration int    `json:"iteration"`
	Part      string `json:"part"` // "summary" or "reasoning"
	Old       string `json:"old"`
	New       string `json:"new"`
}

// Record is one line of the log. The header fields (run, time, model, mode, η, φ, sampling) are
// in every record so that any line read alone says what produced it.
type Record struct {
	V          int          `json:"v"`
	Kind       Kind         `json:"kind"`
	Run        string       `json:"run"`
	Time       time.Time    `json:"time"`
	Model      string       `json:"model"`
	Summarizer string       `json:"summarizer,omitempty"`
	Mode       string       `json:"mode"`
	Eta        int          `json:"eta"`
	Phi        int          `json:"phi"`
	SummaryMax int          `json:"summary_max,omitempty"`
	Sampling   llm.Sampling `json:"sampling"`

	Branch int `json:"branch"`
	Parent int `json:"parent,omitempty"`
	Fork   int `json:"fork,omitempty"`

	Question    string     `json:"question,omitempty"`
	Reference   string     `json:"reference,omitempty"`
	Iteration   *Iteration `json:"iteration,omitempty"`
	Edit        *Edit      `json:"edit,omitempty"`
	Answer      string     `json:"answer,omitempty"`
	Correct     *bool      `json:"correct,omitempty"`
	Seconds     float64    `json:"seconds,omitempty"`      // answer: generation seconds of the branch's run, pauses excluded
	WallSeconds float64    `json:"wall_seconds,omitempty"` // answer: elapsed seconds, pauses included (absent in older logs)
	Tokens      int        `json:"tokens,omitempty"`       // answer: tokens generated on the branch

	// Run records only, absent in older logs and for models that run in this process: the
	// inference servers of the model and the summarizer, and for a curated trace the input it
	// came from (see Run.Source).
	Engine           *llm.Server `json:"engine,omitempty"`
	SummarizerEngine *llm.Server `json:"summarizer_engine,omitempty"`
	Source           string      `json:"source,omitempty"`
}
