package tokenizer

import (
	"bufio"
	"compress/gzip"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

const (
	qwenDir    = "../../testdata/tokenizers/qwen3"
	qwenRefs   = "../../testdata/tokenizers/qwen3.reference.jsonl"
	modelsGlob = "../../testdata/models/*/tokenizer.json"
)

var (
	qwenOnce sync.Once
	qwenTok  *Tokenizer
	qwenErr  error
)

// qwen loads the real Qwen3 tokenizer once per test binary (it takes a moment).
func qwen(t testing.TB) *Tokenizer {
	t.Helper()
	qwenOnce.Do(func() { qwenTok, qwenErr = Load(qwenDir) })
	if qwenErr != nil {
		t.Fatal(qwenErr)
	}
	return qwenTok
}

var (
	qwenSlowOnce sync.Once
	qwenSlowTok  *Tokenizer
	qwenSlowErr  error
)

// qwenRegexp2 is the same tokenizer forced onto the general regexp2 pre-tokenizer path.
func qwenRegexp2(t testing.TB) *Tokenizer {
	t.Helper()
	qwenSlowOnce.Do(func() {
		data, err := readMaybeGzip(filepath.Join(qwenDir, "tokenizer.json.gz"))
		if err != nil {
			qwenSlowErr = err
			return
		}
		qwenSlowTok, qwenSlowErr = parse(data, options{forceRegexp2: true})
	})
	if qwenSlowErr != nil {
		t.Fatal(qwenSlowErr)
	}
	return qwenSlowTok
}

func readMaybeGzip(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var r io.Reader = f
	if strings.HasSuffix(path, ".gz") {
		zr, err := gzip.NewReader(f)
		if err != nil {
			return nil, err
		}
		defer zr.Close()
		r = zr
	}
	return io.ReadAll(r)
}

type refCase struct {
	Text    string `json:"text"`
	IDs     []int  `json:"ids"`
	Decoded string `json:"decoded"`
}

// readRefs reads a JSON Lines reference file (gzipped when it ends in .gz).
func readRefs(t testing.TB, path string) []refCase {
	t.Helper()
	data, err := readMaybeGzip(path)
	if err != nil {
		t.Fatal(err)
	}
	var out []refCase
	sc := bufio.NewScanner(strings.NewReader(string(data)))
	sc.Buffer(nil, 1<<26)
	for n := 1; sc.Scan(); n++ {
		if strings.TrimSpace(sc.Text()) == "" {
			continue
		}
		var c refCase
		if err := json.Unmarshal(sc.Bytes(), &c); err != nil {
			t.Fatalf("%s:%d: %v", path, n, err)
		}
		out = append(out, c)
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	if len(out) == 0 {
		t.Fatalf("%s: no cases", path)
	}
	return out
}
