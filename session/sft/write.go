package sft

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/infty-dev/infty/session/trajlog"
)

// WriteFile writes the examples of the runs that opts select to path as JSON Lines and returns
// how many it wrote. They go to a temporary file beside path that replaces it only once complete
// and synced, so an export that fails leaves no half-written file and an earlier export intact.
func WriteFile(path string, runs []*trajlog.Run, opts Options) (int, error) {
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*.tmp")
	if err != nil {
		return 0, fmt.Errorf("%s: %w", path, err)
	}
	n, err := Export(f, runs, opts)
	if err == nil {
		// CreateTemp makes the file private; an export is data to share, like os.Create's.
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
		return 0, fmt.Errorf("%s: %w", path, err)
	}
	return n, nil
}
