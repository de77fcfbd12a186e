// Package jsonl reads JSON Lines input line by line for commands and loaders that decode each
// line their own way: it skips blank lines, takes lines up to MaxLine bytes, and names the
// input and the line in every error, so that a person can open the file at the bad line.
package jsonl

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
)

// MaxLine is the longest line a Reader takes; a line is held in memory whole. Long reasoning
// traces make lines of many megabytes.
const MaxLine = 1 << 30

// Reader hands out the non-blank lines of an input.
type Reader struct {
	sc   *bufio.Scanner
	name string
	line int
}

// NewReader reads r; name (a path, "stdin") is what errors call the input.
func NewReader(r io.Reader, name string) *Reader {
	sc := bufio.NewScanner(r)
	sc.Buffer(nil, MaxLine)
	return &Reader{sc: sc, name: name}
}

// Next returns the next line that is not blank, without surrounding white space, valid until
// the next call. ok is false at the end of the input or when reading failed (see Err).
func (r *Reader) Next() (line []byte, ok bool) {
	for r.sc.Scan() {
		r.line++
		if b := bytes.TrimSpace(r.sc.Bytes()); len(b) > 0 {
			return b, true
		}
	}
	return nil, false
}

// Line is the number (from 1) of the line Next returned last.
func (r *Reader) Line() int { return r.line }

// Where is "name:line" of the line Next returned last.
func (r *Reader) Where() string { return fmt.Sprintf("%s:%d", r.name, r.line) }

// Errorf is an error about the line Next returned last: its Where, ": ", and the message.
func (r *Reader) Errorf(format string, args ...any) error {
	return fmt.Errorf("%s: %w", r.Where(), fmt.Errorf(format, args...))
}

// Err is what stopped Next early, naming the line it could not read; nil at the end of input.
func (r *Reader) Err() error {
	if err := r.sc.Err(); err != nil {
		return fmt.Errorf("%s:%d: %w", r.name, r.line+1, err)
	}
	return nil
}
