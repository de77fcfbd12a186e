package problems

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestReadNamesFileAndLine(t *testing.T) {
	path := filepath.Join(t.TempDir(), "p.jsonl")
	if err := os.WriteFile(path, []byte("{\"question\": \"q\", \"answer\": 3}\n{\"question\": \"r\"}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := Read(path, 0); err == nil || !strings.Contains(err.Error(), path+":2") {
		t.Errorf("missing answer: %v, want the file and line", err)
	}
}
