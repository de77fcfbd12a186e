package sft

import (
	"io"

	"github.com/infty-dev/infty/internal/atomicfile"
	"github.com/infty-dev/infty/session/trajlog"
)

// WriteFile writes the examples of the runs that opts select to path as JSON Lines and returns
// how many it wrote. They replace path only once complete and synced (atomicfile), so an export
// that fails leaves no half-written file and an earlier export intact.
func WriteFile(path string, runs []*trajlog.Run, opts Options) (int, error) {
	var n int
	err := atomicfile.Write(path, func(w io.Writer) error {
		var err error
		n, err = Export(w, runs, opts)
		return err
	})
	if err != nil {
		return 0, err
	}
	return n, nil
}
