package synth_test

import (
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/infty-dev/infty/session/sft"
	"github.com/infty-dev/infty/session/synth"
)

// WriteFile is what `infty train synth` writes: every example of the problem set, readable by
// the SFT reader, in a folder it creates, and the same bytes for the same seed.
func TestWriteFile(t *testing.T) {
	dir := t.TempDir()
	o := synth.FileOptions{Seed: 3, N: 4, MinLen: 6, MaxLen: 12, Mode: synth.ModeIterative, Stride: synth.DefaultStride, Shuffle: true}
	a := filepath.Join(dir, "new", "a.jsonl")
	problems, examples, err := synth.WriteFile(a, o)
	if err != nil {
		t.Fatal(err)
	}
	ps, err := synth.Set(o.Seed, o.N, o.MinLen, o.MaxLen)
	if err != nil {
		t.Fatal(err)
	}
	want, err := synth.Examples(ps, o.Mode, o.Stride)
	if err != nil {
		t.Fatal(err)
	}
	if problems != 4 || examples != len(want) || examples <= problems {
		t.Fatalf("wrote %d problems, %d examples; want 4 and %d", problems, examples, len(want))
	}
	f, err := os.Open(a)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	r, n := sft.NewReader(f, a), 0
	for {
		if _, err := r.Next(); errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			t.Fatal(err)
		}
		n++
	}
	if n != examples {
		t.Errorf("read back %d examples, wrote %d", n, examples)
	}
	b := filepath.Join(dir, "b.jsonl")
	if _, _, err := synth.WriteFile(b, o); err != nil {
		t.Fatal(err)
	}
	ba, _ := os.ReadFile(a)
	bb, _ := os.ReadFile(b)
	if !bytes.Equal(ba, bb) {
		t.Error("the same options wrote different files")
	}
}
