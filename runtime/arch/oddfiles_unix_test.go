//go:build unix

package arch_test

import (
	"path/filepath"
	"testing"

	"github.com/infty-dev/infty/internal/safefile/safefiletest"
	"github.com/infty-dev/infty/runtime/arch"
)

// config.json is read only if it is a regular file of sensible size.
func TestLoadRefusesOddArchFile(t *testing.T) {
	dir := t.TempDir()
	safefiletest.RefusesOddFiles(t, filepath.Join(dir, "config.json"), func() error {
		_, _, err := arch.Read(dir)
		return err
	})
}
