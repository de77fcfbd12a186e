package sft

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"github.com/infty-dev/infty/session/trajlog"
)

func writeRuns() []*trajlog.Run {
	return []*trajlog.Run{{ID: "r", Question: "q", Current: 1, Branches: []*trajlog.Branch{
		{ID: 1, Done: true, Iterations: []trajlog.Iteration{{Index: 1, Reasoning: "a", Summary: "s"}, {Index: 2, History: "s", Reasoning: "b", Final: true}}},
	}}}
}

func TestWriteFileReplaces(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "out.jsonl")
	os.WriteFile(path, []byte("an older, longer export\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n"), 0o644)
	n, err := WriteFile(path, writeRuns(), Options{})
	if err != nil || n != 2 {
		t.Fatalf("wrote %d: %v", n, err)
	}
	got, _ := os.ReadFile(path)
	var want bytes.Buffer
	Export(&want, writeRuns(), Options{})
	if !bytes.Equal(got, want.Bytes()) {
		t.Errorf("file holds\n%s\nwant\n%s", got, want.Bytes())
	}
	if fi, _ := os.Stat(path); fi.Mode().Perm() != 0o644 {
		t.Errorf("mode %v", fi.Mode())
	}
}

// An export that fails leaves the file it would have replaced as it was, and no temporary file.
func TestWriteFileFailureKeepsOld(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "out.jsonl")
	os.WriteFile(path, []byte("kept\n"), 0o644)
	if n, err := WriteFile(path, writeRuns(), Options{Layout: "tree"}); err == nil || n != 0 {
		t.Fatalf("an unknown layout wrote %d (%v)", n, err)
	}
	if got, _ := os.ReadFile(path); string(got) != "kept\n" {
		t.Errorf("the old export became %q", got)
	}
	if ents, _ := os.ReadDir(dir); len(ents) != 1 {
		t.Errorf("left behind %v", ents)
	}
	if _, err := WriteFile(filepath.Join(dir, "missing", "out.jsonl"), writeRuns(), Options{}); err == nil {
		t.Error("a missing folder was accepted")
	}
}
