//go:build !unix

package hub

import (
	"context"
	"errors"
	"fmt"
	"os"
	"time"
)

// oNoFollow is missing here; openCacheFile's checks stand in for it.
const oNoFollow = 0

// lockFile, where flock(2) is missing, takes the lock by creating the file exclusively and
// removes it on unlock. A process killed while holding it leaves the file behind; the error
// after a long wait names it so the user can delete it.
func lockFile(ctx context.Context, path string, onWait func()) (func(), error) {
	waited := false
	deadline := time.Now().Add(30 * time.Minute)
	for {
		f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o644)
		if err == nil {
			f.Close()
			return func() { os.Remove(path) }, nil
		}
		if !errors.Is(err, os.ErrExist) {
			return nil, fmt.Errorf("lock %s: %w", path, err)
		}
		if time.Now().After(deadline) {
			return nil, fmt.Errorf("lock %s is still held after 30 minutes; delete it if no pull is running", path)
		}
		if !waited && onWait != nil {
			onWait()
		}
		waited = true
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
}

func freeDisk(string) (int64, bool) { return 0, false }
