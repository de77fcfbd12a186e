//go:build unix

package safefile

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/infty-dev/infty/internal/safefile/safefiletest"
)

// Without O_NONBLOCK, opening a FIFO with no writer blocks forever: the test would hang.
func TestReadFileRefusesWhatIsNotARegularFile(t *testing.T) {
	dir := t.TempDir()
	safefiletest.RefusesOddFiles(t, filepath.Join(dir, "f"), func() error {
		_, err := ReadFile(filepath.Join(dir, "f"), 1<<20)
		return err
	})
	if _, err := ReadFile(dir, 10); err == nil || !strings.Contains(err.Error(), "directory") {
		t.Errorf("directory: err = %v", err)
	}
}
