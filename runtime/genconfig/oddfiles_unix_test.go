//go:build unix

package genconfig_test

import (
	"path/filepath"
	"testing"

	"github.com/infty-dev/infty/internal/safefile/safefiletest"
	"github.com/infty-dev/infty/runtime/genconfig"
)

// generation_config.json is read only if it is a regular file of sensible size.
func TestLoadRefusesOddGenconfigFile(t *testing.T) {
	dir := t.TempDir()
	safefiletest.RefusesOddFiles(t, filepath.Join(dir, "generation_config.json"), func() error {
		_, err := genconfig.Load(dir)
		return err
	})
}
