// Package atomicfile replaces a file whole: a crash, a kill or an error at any instant leaves
// either the old file or the complete new one, never a part of either.
package atomicfile

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
)

// Write fills a temporary file beside path through fill, makes it readable like a file
// os.Create makes (0644 before the umask, where CreateTemp's are private), syncs it and renames
// it over path. On any error the temporary file is removed and path is left as it was; errors
// name path.
func Write(path string, fill func(w io.Writer) error) error {
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*.tmp")
	if err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	err = fill(f)
	if err == nil {
		err = f.Chmod(0o644)
	}
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(f.Name(), path)
	}
	if err != nil {
		os.Remove(f.Name())
		return fmt.Errorf("%s: %w", path, err)
	}
	return nil
}
