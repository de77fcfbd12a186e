//go:build unix

package chattemplate_test

import (
	"path/filepath"
	"testing"

	"github.com/infty-dev/infty/internal/safefile/safefiletest"
	"github.com/infty-dev/infty/runtime/chattemplate"
)

// tokenizer_config.json is read only if it is a regular file of sensible size.
func TestLoadRefusesOddChattemplateFile(t *testing.T) {
	dir := t.TempDir()
	safefiletest.RefusesOddFiles(t, filepath.Join(dir, "tokenizer_config.json"), func() error {
		_, err := chattemplate.Load(dir)
		return err
	})
}
