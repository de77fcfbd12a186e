//go:build unix

package tokenizer_test

import (
	"path/filepath"
	"testing"

	"github.com/infty-dev/infty/internal/safefile/safefiletest"
	"github.com/infty-dev/infty/runtime/tokenizer"
)

// tokenizer.json is read only if it is a regular file of sensible size.
func TestLoadRefusesOddTokenizerFile(t *testing.T) {
	dir := t.TempDir()
	safefiletest.RefusesOddFiles(t, filepath.Join(dir, "tokenizer.json"), func() error {
		_, err := tokenizer.Load(dir)
		return err
	})
}
