//go:build unix

package chattemplate_test

import (
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/infty-dev/infty/runtime/chattemplate"
)

// tokenizer_config.json is read only if it is a regular file of sensible size: a FIFO fails at once instead of
// hanging, /dev/zero and a huge (sparse) file fail before anything is read whole.
func TestLoadRefusesOddChattemplateFile(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "tokenizer_config.json")
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
			return os.Truncate(path, 1<<40)
		}},
	} {
		os.Remove(path)
		if err := c.make(); err != nil {
			t.Skip(c.name, err)
		}
		_, err := chattemplate.Load(dir)
		if err == nil || !strings.Contains(err.Error(), c.want) || !strings.Contains(err.Error(), path) {
			t.Errorf("%s: err = %v, want %q naming %s", c.name, err, c.want, path)
		}
	}
}
