package tokenizer

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/infty-dev/infty/internal/safefile"
)

// Load reads DIR/tokenizer.json, or DIR/tokenizer.json.gz when only that exists. A path to a
// file is read as that file.
func Load(dir string) (*Tokenizer, error) {
	if fi, err := os.Stat(dir); err == nil && fi.Mode().IsRegular() {
		return LoadFile(dir)
	}
	path := filepath.Join(dir, "tokenizer.json")
	if _, err := os.Stat(path); errors.Is(err, fs.ErrNotExist) {
		gz := path + ".gz"
		if _, err2 := os.Stat(gz); err2 == nil {
			path = gz
		}
	}
	return LoadFile(path)
}

// LoadFile reads one tokenizer.json (gzipped or not); errors name the file.
func LoadFile(path string) (*Tokenizer, error) {
	f, fi, err := safefile.Open(path)
	if err != nil {
		return nil, fmt.Errorf("tokenizer: %w", err)
	}
	defer f.Close()
	if fi.Size() > safefile.TokenizerLimit { // refused before reading; Read bounds the rest
		return nil, fmt.Errorf("tokenizer %s: larger than %d MiB, more than a tokenizer ever holds", path, safefile.TokenizerLimit>>20)
	}
	t, err := Read(f)
	if err != nil {
		return nil, fmt.Errorf("tokenizer %s: %w", path, err)
	}
	return t, nil
}

// Read parses a tokenizer.json from r; gzip-compressed input is recognised by its magic bytes.
func Read(r io.Reader) (*Tokenizer, error) {
	br := bufio.NewReader(r)
	if magic, _ := br.Peek(2); len(magic) == 2 && magic[0] == 0x1f && magic[1] == 0x8b {
		zr, err := gzip.NewReader(br)
		if err != nil {
			return nil, fmt.Errorf("gzip: %w", err)
		}
		defer zr.Close()
		data, err := safefile.ReadAll(zr, "decompressed", safefile.TokenizerLimit)
		if err != nil {
			return nil, fmt.Errorf("gzip: %w", err)
		}
		return Parse(data)
	}
	data, err := safefile.ReadAll(br, "input", safefile.TokenizerLimit)
	if err != nil {
		return nil, err
	}
	return Parse(data)
}

type addedTokenJSON struct {
	ID         *int    `json:"id"`
	Content    *string `json:"content"`
	SingleWord bool    `json:"single_word"`
	LStrip     bool    `json:"lstrip"`
	RStrip     bool    `json:"rstrip"`
	Normalized *bool   `json:"normalized"`
	Special    bool    `json:"special"`
}

type modelJSON struct {
	Type                    string          `json:"type"`
	Vocab                   json.RawMessage `json:"vocab"`
	Merges                  json.RawMessage `json:"merges"`
	Dropout                 *float64        `json:"dropout"`
	UnkToken                *string         `json:"unk_token"`
	ContinuingSubwordPrefix *string         `json:"continuing_subword_prefix"`
	EndOfWordSuffix         *string         `json:"end_of_word_suffix"`
	ByteFallback            bool            `json:"byte_fallback"`
	IgnoreMerges            bool            `json:"ignore_merges"`
}

type fileJSON struct {
	AddedTokens  []addedTokenJSON `json:"added_tokens"`
	Normalizer   json.RawMessage  `json:"normalizer"`
	PreTokenizer json.RawMessage  `json:"pre_tokenizer"`
	Decoder      json.RawMessage  `json:"decoder"`
	Model        *modelJSON       `json:"model"`
}

// Parse builds a tokenizer from the bytes of a tokenizer.json. Anything it cannot honour
// exactly (an unknown normalizer, pre-tokenizer, decoder or model option) is an error rather
// than an approximation.
func Parse(data []byte) (*Tokenizer, error) {
	return parse(data, options{})
}

// options exist for tests and benchmarks: they compare the hand-written pre-tokenizer with
// the general regexp2 path on the same tokenizer.
type options struct {
	forceRegexp2 bool
}

func parse(data []byte, opt options) (*Tokenizer, error) {
	var f fileJSON
	if err := json.Unmarshal(data, &f); err != nil {
		return nil, fmt.Errorf("invalid JSON: %w", err)
	}
	if f.Model == nil {
		return nil, errors.New(`no "model" object`)
	}
	m := f.Model
	if m.Type != "" && m.Type != "BPE" {
		return nil, fmt.Errorf("model type %q is not supported (only byte-level BPE)", m.Type)
	}
	vocab, err := parseVocab(m.Vocab)
	if err != nil {
		return nil, err
	}
	if m.ByteFallback {
		return nil, errors.New("model.byte_fallback is not supported (only byte-level BPE)")
	}
	if m.Dropout != nil && *m.Dropout != 0 {
		return nil, fmt.Errorf("model.dropout %v is not supported at inference", *m.Dropout)
	}
	if m.ContinuingSubwordPrefix != nil && *m.ContinuingSubwordPrefix != "" {
		return nil, fmt.Errorf("model.continuing_subword_prefix %q is not supported", *m.ContinuingSubwordPrefix)
	}
	if m.EndOfWordSuffix != nil && *m.EndOfWordSuffix != "" {
		return nil, fmt.Errorf("model.end_of_word_suffix %q is not supported", *m.EndOfWordSuffix)
	}

	t := &Tokenizer{}
	maxID := -1
	for tok, id := range vocab {
		if id < 0 || id > 1<<30 {
			return nil, fmt.Errorf("vocab entry %q has id %d out of range", tok, id)
		}
		maxID = max(maxID, id)
	}
	for i, a := range f.AddedTokens {
		if a.ID == nil || a.Content == nil {
			return nil, fmt.Errorf("added_tokens[%d] lacks id or content", i)
		}
		if *a.ID < 0 || *a.ID > 1<<30 {
			return nil, fmt.Errorf("added_tokens[%d] has id %d out of range", i, *a.ID)
		}
		if *a.Content == "" {
			return nil, fmt.Errorf("added_tokens[%d] (id %d) has empty content", i, *a.ID)
		}
		maxID = max(maxID, *a.ID)
	}
	// Ids index tables sized by the largest one, so one stray huge id would cost gigabytes.
	// Real tokenizers number their entries densely; the margin leaves room for reserved ranges.
	if entries := len(vocab) + len(f.AddedTokens); maxID >= maxIDFor(entries) {
		return nil, fmt.Errorf("token id %d is far beyond the %d entries of the tokenizer (at most id %d is accepted)", maxID, entries, maxIDFor(entries)-1)
	}
	t.tokens = make([]string, maxID+1)
	t.known = make([]bool, maxID+1)
	t.isAdded = make([]bool, maxID+1)
	t.vocab = make(map[string]int32, len(vocab))
	for tok, id := range vocab {
		if t.known[id] {
			return nil, fmt.Errorf("vocab id %d is used by both %q and %q", id, t.tokens[id], tok)
		}
		t.vocab[tok] = int32(id)
		t.tokens[id] = tok
		t.known[id] = true
	}
	for _, a := range f.AddedTokens {
		norm := !a.Special // the Hugging Face default when the flag is absent
		if a.Normalized != nil {
			norm = *a.Normalized
		}
		at := AddedToken{ID: *a.ID, Content: *a.Content, Special: a.Special, LStrip: a.LStrip,
			RStrip: a.RStrip, SingleWord: a.SingleWord, Normalized: norm}
		t.added = append(t.added, at)
		t.tokens[at.ID] = at.Content
		t.known[at.ID] = true
		t.isAdded[at.ID] = true
	}

	if t.normalize, err = parseNormalizer(f.Normalizer); err != nil {
		return nil, fmt.Errorf("normalizer: %w", err)
	}
	var byteLevel bool
	if t.pre, byteLevel, err = parsePreTokenizer(f.PreTokenizer, opt); err != nil {
		return nil, fmt.Errorf("pre_tokenizer: %w", err)
	}
	if !byteLevel {
		return nil, errors.New("pre_tokenizer has no ByteLevel step; only byte-level BPE is supported")
	}
	if err := checkDecoder(f.Decoder); err != nil {
		return nil, fmt.Errorf("decoder: %w", err)
	}
	merges, err := parseMerges(m.Merges)
	if err != nil {
		return nil, err
	}
	if t.bpe, err = newBPE(t.vocab, merges, m.IgnoreMerges); err != nil {
		return nil, err
	}
	t.splitRaw, t.splitNorm = newAddedSplitters(t.added, t.normalize)
	t.buildDecodeTable()
	return t, nil
}

func parseVocab(raw json.RawMessage) (map[string]int, error) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || string(raw) == "null" {
		return nil, errors.New(`model has no "vocab"`)
	}
	if m, ok := scanVocab(raw); ok {
		return m, nil
	}
	var m map[string]int
	if err := json.Unmarshal(raw, &m); err != nil {
		return nil, fmt.Errorf("model.vocab: %w", err)
	}
	return m, nil
}

// splitMergeString splits the "a b" spelling of a merge.
func splitMergeString(s string) (a, b string, ok bool) {
	a, b, ok = strings.Cut(s, " ")
	return a, b, ok && a != "" && b != "" && !strings.Contains(b, " ")
}

// parseMerges accepts both spellings found in the wild: "a b" strings and ["a","b"] pairs.
func parseMerges(raw json.RawMessage) ([][2]string, error) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || string(raw) == "null" {
		return nil, nil
	}
	if pairs, ok := scanMerges(raw); ok {
		return pairs, nil
	}
	var strs []string
	if err := json.Unmarshal(raw, &strs); err == nil {
		out := make([][2]string, len(strs))
		for i, s := range strs {
			a, b, ok := splitMergeString(s)
			if !ok {
				return nil, fmt.Errorf("model.merges[%d] = %q is not two tokens separated by one space", i, s)
			}
			out[i] = [2]string{a, b}
		}
		return out, nil
	}
	var pairs [][]string
	if err := json.Unmarshal(raw, &pairs); err != nil {
		return nil, errors.New(`model.merges must be a list of "a b" strings or of ["a","b"] pairs`)
	}
	out := make([][2]string, len(pairs))
	for i, p := range pairs {
		if len(p) != 2 {
			return nil, fmt.Errorf("model.merges[%d] has %d parts, want 2", i, len(p))
		}
		out[i] = [2]string{p[0], p[1]}
	}
	return out, nil
}

// maxIDFor is the bound on token ids for a tokenizer of n entries.
func maxIDFor(n int) int { return 4*n + 1<<16 }
