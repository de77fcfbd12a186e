package safetensors

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// WriteTensor is one tensor to write: Data holds its raw little-endian bytes.
type WriteTensor struct {
	Name  string
	DType string
	Shape []int
	Data  []byte
}

// Write stores tensors (in the given order) and metadata as a safetensors file
// at path. It writes a temporary file in the same folder, syncs it and renames
// it over path, so a crash leaves either the old file or the complete new one.
// The header is padded with spaces to a multiple of 8 bytes, as the reference
// writer does, so that the data region stays aligned.
func Write(path string, tensors []WriteTensor, metadata map[string]string) error {
	header, err := encodeHeader(path, tensors, metadata)
	if err != nil {
		return err
	}
	dir := filepath.Dir(path)
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	tmpName := tmp.Name()
	ok := false
	defer func() {
		if !ok {
			tmp.Close()
			os.Remove(tmpName)
		}
	}()
	var lenBuf [8]byte
	binary.LittleEndian.PutUint64(lenBuf[:], uint64(len(header)))
	if _, err := tmp.Write(lenBuf[:]); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	if _, err := tmp.Write(header); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	for _, t := range tensors {
		if _, err := tmp.Write(t.Data); err != nil {
			return fmt.Errorf("%s: tensor %q: %w", path, t.Name, err)
		}
	}
	if err := tmp.Sync(); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	if err := os.Chmod(tmpName, 0o644); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	if err := os.Rename(tmpName, path); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	ok = true
	// Make the rename itself durable; failure here is not worth failing the write.
	if d, err := os.Open(dir); err == nil {
		_ = d.Sync()
		d.Close()
	}
	return nil
}

func encodeHeader(path string, tensors []WriteTensor, metadata map[string]string) ([]byte, error) {
	var b bytes.Buffer
	b.WriteByte('{')
	first := true
	sep := func() {
		if !first {
			b.WriteByte(',')
		}
		first = false
	}
	if len(metadata) > 0 {
		m, err := json.Marshal(metadata) // map keys come out sorted
		if err != nil {
			return nil, fmt.Errorf("%s: metadata: %w", path, err)
		}
		sep()
		b.WriteString(`"__metadata__":`)
		b.Write(m)
	}
	seen := map[string]bool{}
	var offset uint64
	for _, t := range tensors {
		if t.Name == "" || t.Name == "__metadata__" {
			return nil, fmt.Errorf("%s: invalid tensor name %q", path, t.Name)
		}
		if seen[t.Name] {
			return nil, fmt.Errorf("%s: tensor %q given twice", path, t.Name)
		}
		seen[t.Name] = true
		size, ok := dtypeSizes[t.DType]
		if !ok {
			return nil, fmt.Errorf("%s: tensor %q: unknown dtype %q", path, t.Name, t.DType)
		}
		n := 1
		for _, d := range t.Shape {
			if d < 0 {
				return nil, fmt.Errorf("%s: tensor %q: negative dimension in shape %v", path, t.Name, t.Shape)
			}
			n *= d
		}
		if len(t.Data) != n*size {
			return nil, fmt.Errorf("%s: tensor %q: shape %v of %s needs %d bytes, got %d", path, t.Name, t.Shape, t.DType, n*size, len(t.Data))
		}
		shape := t.Shape
		if shape == nil {
			shape = []int{}
		}
		entry, err := json.Marshal(struct {
			DType       string    `json:"dtype"`
			Shape       []int     `json:"shape"`
			DataOffsets [2]uint64 `json:"data_offsets"`
		}{t.DType, shape, [2]uint64{offset, offset + uint64(len(t.Data))}})
		if err != nil {
			return nil, fmt.Errorf("%s: tensor %q: %w", path, t.Name, err)
		}
		name, _ := json.Marshal(t.Name)
		sep()
		b.Write(name)
		b.WriteByte(':')
		b.Write(entry)
		offset += uint64(len(t.Data))
	}
	b.WriteByte('}')
	if pad := (8 - b.Len()%8) % 8; pad > 0 {
		b.WriteString(strings.Repeat(" ", pad))
	}
	return b.Bytes(), nil
}
