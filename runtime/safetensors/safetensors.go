// Package safetensors reads and writes the Hugging Face safetensors format.
//
// A file is memory-mapped read-only; tensor data is handed out as views into
// the mapping, so nothing is copied until a caller converts it. The header is
// validated as strictly as the reference implementation (huggingface/safetensors):
// tensors sorted by offset must tile the data region exactly, with no gaps or
// overlaps, and every byte size must agree with shape × dtype size. A file that
// passes Open can therefore be sliced without further bounds checks.
package safetensors

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"math/bits"
	"os"
	"sort"
	"strconv"

	"github.com/infty-dev/infty/internal/safefile"

	"golang.org/x/sys/unix"
)

// maxHeaderSize matches the reference implementation's limit; a larger value is
// a corrupt or hostile file, not a real model.
const maxHeaderSize = 100_000_000

// dtypeSizes maps each safetensors dtype name to its element size in bytes.
// Sub-byte float formats (F4, F6_*) are left out: infty never loads them.
var dtypeSizes = map[string]int{
	"BOOL": 1, "U8": 1, "I8": 1, "F8_E5M2": 1, "F8_E4M3": 1, "F8_E8M0": 1,
	"I16": 2, "U16": 2, "F16": 2, "BF16": 2,
	"I32": 4, "U32": 4, "F32": 4,
	"I64": 8, "U64": 8, "F64": 8,
	"C64": 8,
}

// DTypeSize returns the size in bytes of one element of dtype, and whether the
// dtype is known.
func DTypeSize(dtype string) (int, bool) {
	n, ok := dtypeSizes[dtype]
	return n, ok
}

// Tensor is one tensor of a safetensors file. Data is a view into the file's
// memory mapping: it is valid until the File (or Set) is closed and must not
// be written to.
type Tensor struct {
	Name  string
	DType string
	Shape []int
	File  string
	Data  []byte
}

// NumElements is the product of the shape (1 for a scalar).
func (t Tensor) NumElements() int {
	n := 1
	for _, d := range t.Shape {
		n *= d
	}
	return n
}

// File is an open, validated safetensors file.
type File struct {
	path     string
	mapping  []byte
	tensors  []Tensor // in header order of offsets
	metadata map[string]string
}

// Path returns the path the file was opened with.
func (f *File) Path() string { return f.path }

// Tensors returns the file's tensors sorted by data offset.
func (f *File) Tensors() []Tensor { return f.tensors }

// Metadata returns the header's __metadata__ map (nil when absent).
func (f *File) Metadata() map[string]string { return f.metadata }

// Close unmaps the file; every Tensor.Data obtained from it becomes invalid.
func (f *File) Close() error {
	if f.mapping == nil {
		return nil
	}
	err := unix.Munmap(f.mapping)
	f.mapping = nil
	f.tensors = nil
	if err != nil {
		return fmt.Errorf("%s: unmap: %w", f.path, err)
	}
	return nil
}

// Open memory-maps and validates the safetensors file at path.
func Open(path string) (*File, error) {
	fd, size, err := openRegular(path)
	if err != nil {
		return nil, err
	}
	defer fd.Close()
	if size < 8 {
		return nil, fmt.Errorf("%s: file is %d bytes, too short for a safetensors header (8-byte length prefix)", path, size)
	}
	if size > math.MaxInt {
		return nil, fmt.Errorf("%s: file too large to map (%d bytes)", path, size)
	}
	mapping, err := unix.Mmap(int(fd.Fd()), 0, int(size), unix.PROT_READ, unix.MAP_SHARED)
	if err != nil {
		return nil, fmt.Errorf("%s: mmap: %w", path, err)
	}
	tensors, meta, err := parse(path, mapping)
	if err != nil {
		_ = unix.Munmap(mapping)
		return nil, err
	}
	return &File{path: path, mapping: mapping, tensors: tensors, metadata: meta}, nil
}

// ReadHeader validates the header of the safetensors file at path as Open does, reading only
// the header: the tensors come back sorted by offset with Data nil. It serves callers that size
// a model without loading it.
func ReadHeader(path string) ([]Tensor, error) {
	fd, size, err := openRegular(path)
	if err != nil {
		return nil, err
	}
	defer fd.Close()
	var prefix [8]byte
	if _, err := io.ReadFull(fd, prefix[:]); err != nil {
		return nil, fmt.Errorf("%s: file is %d bytes, too short for a safetensors header (8-byte length prefix)", path, size)
	}
	n, err := headerLength(path, prefix[:], uint64(size))
	if err != nil {
		return nil, err
	}
	header := make([]byte, n)
	if _, err := io.ReadFull(fd, header); err != nil {
		return nil, fmt.Errorf("%s: reading the header: %w", path, err)
	}
	tensors, _, err := parseHeader(path, header, uint64(size), nil)
	return tensors, err
}

// openRegular opens path for reading, refusing anything but a regular file, and says its size.
func openRegular(path string) (*os.File, int64, error) {
	fd, st, err := safefile.Open(path)
	if err != nil {
		return nil, 0, err
	}
	return fd, st.Size(), nil
}

type headerEntry struct {
	DType       string        `json:"dtype"`
	Shape       []int64       `json:"shape"`
	DataOffsets []json.Number `json:"data_offsets"`
}

// parse validates buf as a whole safetensors file and returns its tensors
// (sorted by offset, Data slicing buf) and metadata. name is used in errors.
func parse(name string, buf []byte) ([]Tensor, map[string]string, error) {
	if len(buf) < 8 {
		return nil, nil, fmt.Errorf("%s: file is %d bytes, too short for a safetensors header (8-byte length prefix)", name, len(buf))
	}
	n, err := headerLength(name, buf[:8], uint64(len(buf)))
	if err != nil {
		return nil, nil, err
	}
	return parseHeader(name, buf[8:8+n], uint64(len(buf)), buf[8+n:])
}

// headerLength reads the length prefix and checks it against the file's length.
func headerLength(name string, prefix []byte, fileLen uint64) (uint64, error) {
	n := binary.LittleEndian.Uint64(prefix)
	if n > maxHeaderSize {
		return 0, fmt.Errorf("%s: header length %d exceeds the %d-byte limit (not a safetensors file?)", name, n, maxHeaderSize)
	}
	if n > fileLen-8 {
		return 0, fmt.Errorf("%s: header length %d runs past the end of the file (%d bytes)", name, n, fileLen)
	}
	return n, nil
}

// parseHeader validates the JSON header of a file of fileLen bytes against the data region that
// follows it. data is that region, which the tensors' Data slice; nil reads the header alone,
// the region's length taken from fileLen, and leaves Data nil.
func parseHeader(name string, header []byte, fileLen uint64, data []byte) ([]Tensor, map[string]string, error) {
	if len(header) == 0 || header[0] != '{' {
		return nil, nil, fmt.Errorf("%s: header is not a JSON object (does not start with '{')", name)
	}
	raw, err := decodeObject(header)
	if err != nil {
		return nil, nil, fmt.Errorf("%s: header is not valid JSON: %w", name, err)
	}
	dataLen := fileLen - 8 - uint64(len(header))

	var meta map[string]string
	type span struct {
		t          Tensor
		start, end uint64
	}
	spans := make([]span, 0, len(raw))
	for _, kv := range raw {
		if kv.key == "__metadata__" {
			if err := json.Unmarshal(kv.value, &meta); err != nil {
				return nil, nil, fmt.Errorf("%s: __metadata__ must map strings to strings: %w", name, err)
			}
			continue
		}
		var e headerEntry
		dec := json.NewDecoder(bytes.NewReader(kv.value))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&e); err != nil {
			return nil, nil, fmt.Errorf("%s: tensor %q: bad header entry: %w", name, kv.key, err)
		}
		elemSize, ok := dtypeSizes[e.DType]
		if !ok {
			return nil, nil, fmt.Errorf("%s: tensor %q: unknown dtype %q", name, kv.key, e.DType)
		}
		if e.Shape == nil {
			return nil, nil, fmt.Errorf("%s: tensor %q: missing shape", name, kv.key)
		}
		if len(e.DataOffsets) != 2 {
			return nil, nil, fmt.Errorf("%s: tensor %q: data_offsets must be two integers, got %d values", name, kv.key, len(e.DataOffsets))
		}
		start, okS := offsetValue(e.DataOffsets[0])
		end, okE := offsetValue(e.DataOffsets[1])
		if !okS || !okE {
			return nil, nil, fmt.Errorf("%s: tensor %q: data_offsets %v are not non-negative integers", name, kv.key, e.DataOffsets)
		}
		if end < start {
			return nil, nil, fmt.Errorf("%s: tensor %q: data offsets [%d,%d) end before they start", name, kv.key, start, end)
		}
		if end > dataLen {
			return nil, nil, fmt.Errorf("%s: tensor %q: data offsets [%d,%d) past the end of the file (%d bytes, data region %d bytes)", name, kv.key, start, end, fileLen, dataLen)
		}
		shape := make([]int, len(e.Shape))
		nbytes := uint64(elemSize)
		overflow := false
		for i, d := range e.Shape {
			if d < 0 {
				return nil, nil, fmt.Errorf("%s: tensor %q: negative dimension in shape %v", name, kv.key, e.Shape)
			}
			hi, lo := bits.Mul64(nbytes, uint64(d))
			if hi != 0 {
				overflow = true
			}
			nbytes = lo
			shape[i] = int(d)
		}
		if overflow || nbytes != end-start {
			return nil, nil, fmt.Errorf("%s: tensor %q: shape %v of %s needs %s bytes but data offsets [%d,%d) hold %d",
				name, kv.key, e.Shape, e.DType, byteCount(nbytes, overflow), start, end, end-start)
		}
		t := Tensor{Name: kv.key, DType: e.DType, Shape: shape, File: name}
		if data != nil {
			t.Data = data[start:end:end]
		}
		spans = append(spans, span{t: t, start: start, end: end})
	}
	sort.SliceStable(spans, func(i, j int) bool {
		if spans[i].start != spans[j].start {
			return spans[i].start < spans[j].start
		}
		return spans[i].end < spans[j].end
	})
	// The reference implementation requires the sorted tensors to tile the data
	// region exactly; anything else means overlapping tensors, stray bytes or a
	// truncated file.
	var pos uint64
	for i, s := range spans {
		if s.start < pos {
			return nil, nil, fmt.Errorf("%s: tensor %q: data offsets [%d,%d) overlap tensor %q [%d,%d)",
				name, s.t.Name, s.start, s.end, spans[i-1].t.Name, spans[i-1].start, spans[i-1].end)
		}
		if s.start > pos {
			return nil, nil, fmt.Errorf("%s: tensor %q: data offsets [%d,%d) leave a gap of %d unused bytes before it",
				name, s.t.Name, s.start, s.end, s.start-pos)
		}
		pos = s.end
	}
	if pos != dataLen {
		return nil, nil, fmt.Errorf("%s: tensors cover %d bytes but the data region holds %d (file truncated or has trailing bytes)", name, pos, dataLen)
	}
	tensors := make([]Tensor, len(spans))
	for i, s := range spans {
		tensors[i] = s.t
	}
	return tensors, meta, nil
}

func byteCount(n uint64, overflow bool) string {
	if overflow {
		return "more than 2^64"
	}
	return fmt.Sprint(n)
}

// offsetValue accepts a JSON number only when it is a plain non-negative integer.
func offsetValue(n json.Number) (uint64, bool) {
	v, err := strconv.ParseUint(string(n), 10, 64)
	return v, err == nil
}

type rawKV struct {
	key   string
	value json.RawMessage
}

// decodeObject decodes a JSON object keeping key order and rejecting duplicate
// keys, which encoding/json would otherwise silently collapse.
func decodeObject(b []byte) ([]rawKV, error) {
	dec := json.NewDecoder(bytes.NewReader(b))
	tok, err := dec.Token()
	if err != nil {
		return nil, err
	}
	if d, ok := tok.(json.Delim); !ok || d != '{' {
		return nil, errors.New("not a JSON object")
	}
	seen := map[string]bool{}
	var out []rawKV
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, err
		}
		key, ok := tok.(string)
		if !ok {
			return nil, fmt.Errorf("object key is not a string")
		}
		var v json.RawMessage
		if err := dec.Decode(&v); err != nil {
			return nil, fmt.Errorf("value of %q: %w", key, err)
		}
		if seen[key] {
			return nil, fmt.Errorf("key %q appears twice", key)
		}
		seen[key] = true
		out = append(out, rawKV{key, v})
	}
	if _, err := dec.Token(); err != nil {
		return nil, err
	}
	// Only whitespace (the writer's padding) may follow the object.
	if _, err := dec.Token(); err != io.EOF {
		return nil, errors.New("trailing data after the JSON object")
	}
	return out, nil
}
