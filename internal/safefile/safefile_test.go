package safefile

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestReadFileBound(t *testing.T) {
	path := filepath.Join(t.TempDir(), "f")
	os.WriteFile(path, []byte("0123456789"), 0o644)
	if b, err := ReadFile(path, 10); err != nil || string(b) != "0123456789" {
		t.Errorf("at the bound: %q, %v", b, err)
	}
	if _, err := ReadFile(path, 9); err == nil || !strings.Contains(err.Error(), "larger than 9 bytes") {
		t.Errorf("over the bound: err = %v", err)
	}
	if _, err := ReadAll(strings.NewReader("abc"), "gz", 2); err == nil || !strings.Contains(err.Error(), "gz: larger") {
		t.Errorf("ReadAll over the bound: err = %v", err)
	}
}

func TestExcerpt(t *testing.T) {
	long := strings.Repeat("é", 100)
	got := Excerpt([]byte(long))
	if len(got) > ExcerptLen+10 || !strings.HasSuffix(got, "…") || strings.Contains(got, `\x`) {
		t.Errorf("Excerpt = %s", got)
	}
	if got := Excerpt([]byte("ab")); got != `"ab"` {
		t.Errorf("Excerpt(ab) = %s", got)
	}
}
