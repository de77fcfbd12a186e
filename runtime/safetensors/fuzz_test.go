package safetensors

import (
	"encoding/binary"
	"os"
	"path/filepath"
	"testing"
)

// FuzzOpen feeds arbitrary bytes to the parser (directly and through a real
// file and mmap): it must return an error or a consistent result, never panic.
func FuzzOpen(f *testing.F) {
	seed := func(header string, data []byte) []byte {
		b := make([]byte, 8)
		binary.LittleEndian.PutUint64(b, uint64(len(header)))
		return append(append(b, header...), data...)
	}
	f.Add(seed(`{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}`, make([]byte, 8)))
	f.Add(seed(`{"__metadata__":{"k":"v"},"a":{"dtype":"BF16","shape":[1,2],"data_offsets":[0,4]},"b":{"dtype":"U8","shape":[],"data_offsets":[4,5]}}`, make([]byte, 5)))
	f.Add(seed(`{"a":{"dtype":"F16","shape":[2],"data_offsets":[2,6]}}`, make([]byte, 6)))
	f.Add([]byte{1, 0, 0, 0, 0, 0, 0, 0, '{'})
	f.Add([]byte{})
	if b, err := os.ReadFile(filepath.Join(fixtures, "qwen3-tiny-bf16", "model-00002-of-00002.safetensors")); err == nil {
		f.Add(b)
	}
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, b []byte) {
		tensors, _, err := parse("fuzz.safetensors", b)
		if err == nil {
			for _, tt := range tensors {
				size, _ := DTypeSize(tt.DType)
				if len(tt.Data) != tt.NumElements()*size {
					t.Fatalf("tensor %q: %d bytes for shape %v", tt.Name, len(tt.Data), tt.Shape)
				}
				switch tt.DType {
				case "F32", "BF16", "F16":
					if _, err := tt.Float32(); err != nil {
						t.Fatal(err)
					}
				}
			}
		}
		path := filepath.Join(dir, "f.safetensors")
		if err := os.WriteFile(path, b, 0o644); err != nil {
			t.Fatal(err)
		}
		file, ferr := Open(path)
		if (ferr == nil) != (err == nil) {
			t.Fatalf("parse error %v but Open error %v", err, ferr)
		}
		if ferr == nil {
			file.Close()
		}
	})
}
