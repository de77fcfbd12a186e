package safetensors

import (
	"encoding/binary"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
)

// rawFile writes a safetensors file from a literal header and data, so tests
// can build files the writer would refuse to produce.
func rawFile(t *testing.T, dir, name, header string, data []byte) string {
	t.Helper()
	buf := make([]byte, 8, 8+len(header)+len(data))
	binary.LittleEndian.PutUint64(buf, uint64(len(header)))
	buf = append(buf, header...)
	buf = append(buf, data...)
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, buf, 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

func f32Bytes(vals ...float32) []byte {
	b := make([]byte, 4*len(vals))
	for i, v := range vals {
		binary.LittleEndian.PutUint32(b[4*i:], math.Float32bits(v))
	}
	return b
}

func TestWriteRoundTrip(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "rt.safetensors")
	in := []WriteTensor{
		{Name: "b.weight", DType: "F32", Shape: []int{2, 3}, Data: f32Bytes(1, -2, 3.5, 0, float32(math.Inf(1)), 1e-40)},
		{Name: "a.bias", DType: "BF16", Shape: []int{3}, Data: []byte{0x80, 0x3f, 0x00, 0xc0, 0x49, 0x40}},
		{Name: "scalar", DType: "I64", Shape: []int{}, Data: make([]byte, 8)},
		{Name: "empty", DType: "F16", Shape: []int{0, 4}, Data: nil},
		{Name: "odd<&>", DType: "U8", Shape: []int{5}, Data: []byte{1, 2, 3, 4, 5}},
	}
	meta := map[string]string{"format": "pt", "step": "12"}
	if err := Write(path, in, meta); err != nil {
		t.Fatal(err)
	}
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if n := binary.LittleEndian.Uint64(raw); n%8 != 0 {
		t.Errorf("header length %d not padded to 8 bytes", n)
	}
	f, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if !reflect.DeepEqual(f.Metadata(), meta) {
		t.Errorf("metadata = %v, want %v", f.Metadata(), meta)
	}
	got := map[string]Tensor{}
	for _, tt := range f.Tensors() {
		got[tt.Name] = tt
	}
	if len(got) != len(in) {
		t.Fatalf("read %d tensors, wrote %d", len(got), len(in))
	}
	for _, w := range in {
		g, ok := got[w.Name]
		if !ok {
			t.Errorf("tensor %q missing", w.Name)
			continue
		}
		if g.DType != w.DType || !reflect.DeepEqual(g.Shape, w.Shape) || string(g.Data) != string(w.Data) || g.File != path {
			t.Errorf("tensor %q: got %s %v %x (%s), want %s %v %x", w.Name, g.DType, g.Shape, g.Data, g.File, w.DType, w.Shape, w.Data)
		}
	}
	vals, err := got["b.weight"].Float32()
	if err != nil {
		t.Fatal(err)
	}
	if want := []float32{1, -2, 3.5, 0, float32(math.Inf(1)), 1e-40}; !reflect.DeepEqual(vals, want) {
		t.Errorf("F32 values %v, want %v", vals, want)
	}
	bf, err := got["a.bias"].Float32()
	if err != nil {
		t.Fatal(err)
	}
	if want := []float32{1, -2, 3.140625}; !reflect.DeepEqual(bf, want) {
		t.Errorf("BF16 values %v, want %v", bf, want)
	}
	if n := got["scalar"].NumElements(); n != 1 {
		t.Errorf("scalar NumElements = %d", n)
	}
	if _, err := got["scalar"].Float32(); err == nil {
		t.Error("I64 → float32 should be refused")
	}
	// No temporary file is left beside the result.
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		t.Errorf("folder holds %d entries after Write, want 1", len(entries))
	}
}

func TestWriteRefusesBadInput(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "bad.safetensors")
	cases := map[string][]WriteTensor{
		"needs 8 bytes": {{Name: "x", DType: "F32", Shape: []int{2}, Data: make([]byte, 4)}},
		"unknown dtype": {{Name: "x", DType: "F12", Shape: []int{1}, Data: make([]byte, 2)}},
		"given twice":   {{Name: "x", DType: "U8", Shape: []int{1}, Data: []byte{1}}, {Name: "x", DType: "U8", Shape: []int{1}, Data: []byte{1}}},
	}
	for want, ts := range cases {
		err := Write(path, ts, nil)
		if err == nil || !strings.Contains(err.Error(), want) || !strings.Contains(err.Error(), path) {
			t.Errorf("Write error = %v, want one naming %s and saying %q", err, path, want)
		}
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 0 {
		t.Errorf("failed writes left %d files behind", len(entries))
	}
}

// A failed write must leave an existing file untouched.
func TestWriteKeepsOldFileOnFailure(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "keep.safetensors")
	good := []WriteTensor{{Name: "x", DType: "U8", Shape: []int{2}, Data: []byte{7, 8}}}
	if err := Write(path, good, nil); err != nil {
		t.Fatal(err)
	}
	before, _ := os.ReadFile(path)
	if err := Write(path, []WriteTensor{{Name: "x", DType: "U8", Shape: []int{3}, Data: []byte{1}}}, nil); err == nil {
		t.Fatal("inconsistent write succeeded")
	}
	after, _ := os.ReadFile(path)
	if string(before) != string(after) {
		t.Error("failed write changed the existing file")
	}
}

func TestCorruptFiles(t *testing.T) {
	dir := t.TempDir()
	okHeader := `{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"U8","shape":[4],"data_offsets":[8,12]}}`
	okData := make([]byte, 12)
	if _, err := Open(rawFile(t, dir, "ok.safetensors", okHeader, okData)); err != nil {
		t.Fatalf("control file rejected: %v", err)
	}
	cases := []struct {
		name, header string
		data         []byte
		raw          []byte // used instead of header+data when set
		want         []string
	}{
		{name: "short", raw: []byte{1, 2, 3}, want: []string{"too short"}},
		{name: "hdrpast", raw: append([]byte{200, 0, 0, 0, 0, 0, 0, 0}, `{}`...), want: []string{"header length 200", "past the end"}},
		{name: "hdrhuge", raw: []byte{0, 0, 0, 0, 0, 0, 0, 1, '{', '}'}, want: []string{"exceeds"}},
		{name: "notjson", header: `{"a": nope}`, want: []string{"not valid JSON"}},
		{name: "notobject", header: `[1,2]`, want: []string{"not a JSON object"}},
		{name: "trailing", header: `{} {}`, want: []string{"trailing"}},
		{name: "truncated", header: okHeader, data: okData[:10], want: []string{`tensor "b"`, "past the end"}},
		{name: "extra", header: okHeader, data: append(okData, 0, 0), want: []string{"cover 12 bytes", "holds 14"}},
		{name: "offsetspast", header: `{"a":{"dtype":"U8","shape":[4],"data_offsets":[0,400]}}`, data: make([]byte, 4), want: []string{`tensor "a"`, "[0,400) past the end of the file"}},
		{name: "sizeshape", header: `{"a":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}}`, data: make([]byte, 8), want: []string{`tensor "a"`, "needs 12 bytes", "hold 8"}},
		{name: "overflow", header: `{"a":{"dtype":"F32","shape":[4294967296,4294967296],"data_offsets":[0,8]}}`, data: make([]byte, 8), want: []string{`tensor "a"`, "more than 2^64"}},
		{name: "overlap", header: `{"a":{"dtype":"U8","shape":[8],"data_offsets":[0,8]},"b":{"dtype":"U8","shape":[4],"data_offsets":[4,8]}}`, data: make([]byte, 8), want: []string{`tensor "b"`, `overlap tensor "a"`}},
		{name: "gap", header: `{"a":{"dtype":"U8","shape":[4],"data_offsets":[0,4]},"b":{"dtype":"U8","shape":[2],"data_offsets":[6,8]}}`, data: make([]byte, 8), want: []string{`tensor "b"`, "gap of 2"}},
		{name: "reversed", header: `{"a":{"dtype":"U8","shape":[0],"data_offsets":[4,0]}}`, data: make([]byte, 4), want: []string{`tensor "a"`, "end before"}},
		{name: "dtype", header: `{"a":{"dtype":"Q4_K","shape":[4],"data_offsets":[0,4]}}`, data: make([]byte, 4), want: []string{`tensor "a"`, `unknown dtype "Q4_K"`}},
		{name: "negdim", header: `{"a":{"dtype":"U8","shape":[-4],"data_offsets":[0,4]}}`, data: make([]byte, 4), want: []string{`tensor "a"`, "negative"}},
		{name: "fracoffset", header: `{"a":{"dtype":"U8","shape":[4],"data_offsets":[0,4.5]}}`, data: make([]byte, 4), want: []string{`tensor "a"`, "not non-negative integers"}},
		{name: "dupkey", header: `{"a":{"dtype":"U8","shape":[4],"data_offsets":[0,4]},"a":{"dtype":"U8","shape":[4],"data_offsets":[0,4]}}`, data: make([]byte, 4), want: []string{`"a" appears twice`}},
		{name: "badmeta", header: `{"__metadata__":{"x":1}}`, want: []string{"__metadata__"}},
		{name: "noshape", header: `{"a":{"dtype":"U8","data_offsets":[0,0]}}`, want: []string{`tensor "a"`, "missing shape"}},
		{name: "unknownfield", header: `{"a":{"dtype":"U8","shape":[0],"data_offsets":[0,0],"x":1}}`, want: []string{`tensor "a"`, "bad header entry"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			path := filepath.Join(dir, c.name+".safetensors")
			if c.raw != nil {
				if err := os.WriteFile(path, c.raw, 0o644); err != nil {
					t.Fatal(err)
				}
			} else {
				rawFile(t, dir, c.name+".safetensors", c.header, c.data)
			}
			f, err := Open(path)
			if err == nil {
				f.Close()
				t.Fatalf("Open accepted a corrupt file")
			}
			msg := err.Error()
			if !strings.HasPrefix(msg, path+": ") {
				t.Errorf("error %q does not start with the file name", msg)
			}
			for _, w := range c.want {
				if !strings.Contains(msg, w) {
					t.Errorf("error %q does not mention %q", msg, w)
				}
			}
			if _, err := ReadHeader(path); err == nil || err.Error() != msg {
				t.Errorf("ReadHeader error %v, want Open's %q", err, msg)
			}
		})
	}
}

// ReadHeader sees the tensors Open sees, without their data.
func TestReadHeaderMatchesOpen(t *testing.T) {
	path := filepath.Join("..", "..", "testdata", "models", "qwen2-tiny-bf16", "model-00001-of-00002.safetensors")
	f, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	got, err := ReadHeader(path)
	if err != nil {
		t.Fatal(err)
	}
	want := f.Tensors()
	if len(got) != len(want) || len(got) == 0 {
		t.Fatalf("ReadHeader: %d tensors, Open: %d", len(got), len(want))
	}
	for i := range got {
		g, w := got[i], want[i]
		if g.Name != w.Name || g.DType != w.DType || !slices.Equal(g.Shape, w.Shape) || g.File != w.File || g.Data != nil {
			t.Errorf("tensor %d: ReadHeader %+v, Open %s %s %v %s", i, g, w.Name, w.DType, w.Shape, w.File)
		}
	}
}

func TestOpenMissingAndEmpty(t *testing.T) {
	dir := t.TempDir()
	missing := filepath.Join(dir, "nope.safetensors")
	if _, err := Open(missing); err == nil || !strings.Contains(err.Error(), missing) {
		t.Errorf("missing file error = %v", err)
	}
	empty := filepath.Join(dir, "empty.safetensors")
	os.WriteFile(empty, nil, 0o644)
	if _, err := Open(empty); err == nil || !strings.Contains(err.Error(), empty) {
		t.Errorf("empty file error = %v", err)
	}
	if _, err := Open(dir); err == nil || !strings.Contains(err.Error(), "not a regular file") {
		t.Errorf("directory error = %v", err)
	}
}

// Padding spaces after the header object and a __metadata__ entry are legal.
func TestPaddedHeaderAndMetadata(t *testing.T) {
	dir := t.TempDir()
	path := rawFile(t, dir, "p.safetensors", `{"__metadata__":{"format":"pt"},"w":{"dtype":"BOOL","shape":[2],"data_offsets":[0,2]}}    `, []byte{1, 0})
	f, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if f.Metadata()["format"] != "pt" || len(f.Tensors()) != 1 || f.Tensors()[0].DType != "BOOL" {
		t.Errorf("got %v %v", f.Metadata(), f.Tensors())
	}
}
