// Package problems reads problem sets: questions with reference answers, as JSON Lines, for
// benchmarks and for reinforcement learning.
package problems

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/infty-dev/infty/internal/jsonl"
)

// Problem is one question with its reference answer.
type Problem struct {
	Question string `json:"question"`
	Answer   string `json:"answer"`
}

// Read reads the first limit problems of a JSON Lines file (limit 0: all), one
// {"question": ..., "answer": ...} object a line, the answer a string or a number (datasets
// write AIME answers either way). Errors name the file and line.
func Read(path string, limit int) ([]Problem, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var out []Problem
	r := jsonl.NewReader(f, path)
	for b, ok := r.Next(); ok; b, ok = r.Next() {
		var raw struct {
			Question *string         `json:"question"`
			Answer   json.RawMessage `json:"answer"`
		}
		if err := json.Unmarshal(b, &raw); err != nil {
			return nil, r.Errorf("not a JSON object: %w", err)
		}
		if raw.Question == nil || strings.TrimSpace(*raw.Question) == "" {
			return nil, r.Errorf("missing \"question\"")
		}
		ans, err := answerString(raw.Answer)
		if err != nil {
			return nil, r.Errorf("%w", err)
		}
		out = append(out, Problem{*raw.Question, ans})
		if limit > 0 && len(out) == limit {
			break
		}
	}
	if err := r.Err(); err != nil {
		return nil, err
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("%s: no problems", path)
	}
	return out, nil
}

// answerString accepts a string or a number (datasets write AIME answers either way).
func answerString(raw json.RawMessage) (string, error) {
	var s string
	if err := json.Unmarshal(raw, &s); err == nil && strings.TrimSpace(s) != "" {
		return s, nil
	}
	var num json.Number
	if err := json.Unmarshal(raw, &num); err == nil {
		return num.String(), nil
	}
	return "", errors.New("missing \"answer\" (a string or a number)")
}
