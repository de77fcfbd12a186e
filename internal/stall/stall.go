// Package stall holds the reader that keeps a stall timer from firing while bytes arrive: the
// hub's downloads and the remote engine's streams each arm a timer that cancels a transfer
// gone silent, and read through this so that a slow but live peer never trips it.
package stall

import (
	"io"
	"time"
)

// Reader reads R and pushes Timer back to After from now whenever a read returns bytes.
type Reader struct {
	R     io.Reader
	Timer *time.Timer
	After time.Duration
}

func (s *Reader) Read(p []byte) (int, error) {
	n, err := s.R.Read(p)
	if n > 0 {
		s.Timer.Reset(s.After)
	}
	return n, err
}
