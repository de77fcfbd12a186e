//go:build unix

package hub

import (
	"context"
	"errors"
	"fmt"
	"time"

	"golang.org/x/sys/unix"
)

// oNoFollow makes an open fail on a symbolic link instead of following it.
const oNoFollow = unix.O_NOFOLLOW

// lockFile takes an exclusive flock(2) on path, the same kind of lock Python's filelock takes
// on Unix, so infty and huggingface_hub exclude each other too. It polls so that ctx can
// cancel the wait; onWait is called once if the lock is busy.
func lockFile(ctx context.Context, path string, onWait func()) (func(), error) {
	f, err := openCacheFile(path)
	if err != nil {
		return nil, fmt.Errorf("lock %s: %w", path, err)
	}
	waited := false
	for {
		err := unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB)
		if err == nil {
			break
		}
		if !errors.Is(err, unix.EWOULDBLOCK) && !errors.Is(err, unix.EINTR) {
			f.Close()
			return nil, fmt.Errorf("lock %s: %w", path, err)
		}
		if !waited && onWait != nil {
			onWait()
		}
		waited = true
		select {
		case <-ctx.Done():
			f.Close()
			return nil, ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
	}
	// The lock file is left in place (as huggingface_hub leaves it): removing it would let a
	// waiter lock an unlinked inode while a newcomer locks a fresh file.
	return func() { unix.Flock(int(f.Fd()), unix.LOCK_UN); f.Close() }, nil
}

// freeDisk is the space an unprivileged process may still write under dir.
func freeDisk(dir string) (int64, bool) {
	var st unix.Statfs_t
	if err := unix.Statfs(dir, &st); err != nil {
		return 0, false
	}
	return int64(st.Bavail) * int64(st.Bsize), true
}
