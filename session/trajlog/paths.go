package trajlog

import (
	"errors"
	"os"
	"path/filepath"
	"time"
)

// DefaultDir is the per-user folder of trajectory logs: $XDG_DATA_HOME/infty/logs, else
// ~/.local/share/infty/logs.
func DefaultDir() (string, error) {
	if d := os.Getenv("XDG_DATA_HOME"); d != "" && filepath.IsAbs(d) {
		return filepath.Join(d, "infty", "logs"), nil
	}
	home, err := os.UserHomeDir()
	if err != nil || home == "" {
		return "", errors.New("trajectory log: no $XDG_DATA_HOME and no home folder; pass --log FILE")
	}
	return filepath.Join(home, ".local", "share", "infty", "logs"), nil
}

// DefaultPath is the log runs append to by default: one file per UTC day in DefaultDir,
// e.g. ~/.local/share/infty/logs/2026-11-24.jsonl (runs share it; records carry run ids).
func DefaultPath(t time.Time) (string, error) {
	dir, err := DefaultDir()
	if err != nil {
		return "", err
	}
	return filepath.Join(dir, t.UTC().Format("2006-01-02")+".jsonl"), nil
}
