package trajlog

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync"
)

// Writer appends records to a log file.
type Writer struct {
	mu   sync.Mutex
	f    *os.File
	path string
}

// Open opens (creating it and its folder) the log at path for appending. If the file ends in a
// torn line (a writer killed mid-write), a newline is appended first so the torn line stays
// alone and the reader can skip it.
func Open(path string) (*Writer, error) {
	if dir := filepath.Dir(path); dir != "" {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return nil, fmt.Errorf("trajectory log %s: %w", path, err)
		}
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
	if err != nil {
		return nil, fmt.Errorf("trajectory log %s: %w", path, err)
	}
	w := &Writer{f: f, path: path}
	if err := w.repairTail(); err != nil {
		f.Close()
		return nil, err
	}
	return w, nil
}

func (w *Writer) repairTail() error {
	r, err := os.Open(w.path)
	if err != nil {
		return fmt.Errorf("trajectory log %s: %w", w.path, err)
	}
	defer r.Close()
	st, err := r.Stat()
	if err != nil || st.Size() == 0 {
		return err
	}
	var last [1]byte
	if _, err := r.ReadAt(last[:], st.Size()-1); err != nil && err != io.EOF {
		return fmt.Errorf("trajectory log %s: %w", w.path, err)
	}
	if last[0] != '\n' {
		if _, err := w.f.Write([]byte("\n")); err != nil {
			return fmt.Errorf("trajectory log %s: %w", w.path, err)
		}
	}
	return nil
}

// Path is the file written to.
func (w *Writer) Path() string { return w.path }

// Append writes rec as one line with a single write and fsyncs it.
func (w *Writer) Append(rec Record) error {
	line, err := json.Marshal(rec)
	if err != nil {
		return fmt.Errorf("trajectory log %s: encode %s record: %w", w.path, rec.Kind, err)
	}
	line = append(line, '\n')
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.f == nil {
		return fmt.Errorf("trajectory log %s: closed", w.path)
	}
	if _, err := w.f.Write(line); err != nil {
		return fmt.Errorf("trajectory log %s: %w", w.path, err)
	}
	if err := w.f.Sync(); err != nil {
		return fmt.Errorf("trajectory log %s: sync: %w", w.path, err)
	}
	return nil
}

// Close closes the file.
func (w *Writer) Close() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.f == nil {
		return nil
	}
	err := w.f.Close()
	w.f = nil
	return err
}
