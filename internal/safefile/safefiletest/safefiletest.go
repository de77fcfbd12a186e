//go:build unix

// Package safefiletest checks that a loader reads its file through safefile: whatever stands
// at the path — a FIFO, a link to /dev/zero, a huge sparse file — the loader fails at once with
// an error naming the path, without hanging or reading it whole.
package safefiletest

import (
	"os"
	"strings"
	"syscall"
	"testing"
)

// RefusesOddFiles puts each odd file at path in turn and calls load, which must fail naming
// path and saying what is wrong.
func RefusesOddFiles(t *testing.T, path string, load func() error) {
	t.Helper()
	for _, c := range []struct {
		name, want string
		make       func() error
	}{
		{"fifo", "named pipe", func() error { return syscall.Mkfifo(path, 0o644) }},
		{"/dev/zero", "not a regular file", func() error { return os.Symlink("/dev/zero", path) }},
		{"huge", "larger than", func() error {
			if err := os.WriteFile(path, nil, 0o644); err != nil {
				return err
			}
			return os.Truncate(path, 1<<40) // sparse: costs no disk
		}},
	} {
		os.Remove(path)
		if err := c.make(); err != nil {
			t.Skip(c.name, err)
		}
		if err := load(); err == nil || !strings.Contains(err.Error(), c.want) || !strings.Contains(err.Error(), path) {
			t.Errorf("%s: err = %v, want %q naming %s", c.name, err, c.want, path)
		}
	}
}
