package app

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"

	"github.com/infty-dev/infty/internal/jsonl"
	"github.com/infty-dev/infty/runtime/tokenizer"
)

// tokenizeField is one member of an input object, kept in order and as written.
type tokenizeField struct {
	key string
	raw json.RawMessage
}

// TokenizeLines reads JSON Lines objects from in and writes each to out with "ids" added (the
// encoding of its "text"), or with decode "text" added (the decoding of its "ids").
func TokenizeLines(tok *tokenizer.Tokenizer, decode bool, in io.Reader, out io.Writer) error {
	r := jsonl.NewReader(in, "stdin")
	w := bufio.NewWriter(out)
	defer w.Flush()
	for b, ok := r.Next(); ok; b, ok = r.Next() {
		fields, err := tokenizeParseObject(b)
		if err != nil {
			return r.Errorf("%w", err)
		}
		var key string
		var val []byte
		if decode {
			ids, err := tokenizeIDs(tok, fields)
			if err != nil {
				return r.Errorf("%w", err)
			}
			key, val = "text", tokenizeJSONString(tok.Decode(ids))
		} else {
			text, err := tokenizeText(fields)
			if err != nil {
				return r.Errorf("%w", err)
			}
			key, val = "ids", tokenizeJSONInts(tok.Encode(text))
		}
		if err := tokenizeWrite(w, fields, key, val); err != nil {
			return err
		}
	}
	if err := r.Err(); err != nil {
		return err
	}
	return w.Flush()
}

// tokenizeParseObject splits one JSON object into its members, keeping their order.
func tokenizeParseObject(b []byte) ([]tokenizeField, error) {
	if !json.Valid(b) {
		var v any
		err := json.Unmarshal(b, &v)
		return nil, fmt.Errorf("not valid JSON: %v", err)
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	if t, _ := dec.Token(); t != json.Delim('{') {
		return nil, errors.New("not a JSON object")
	}
	var fields []tokenizeField
	for dec.More() {
		t, err := dec.Token()
		if err != nil {
			return nil, err
		}
		key, _ := t.(string)
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			return nil, err
		}
		fields = append(fields, tokenizeField{key, raw})
	}
	return fields, nil
}

func tokenizeLookup(fields []tokenizeField, key string) (json.RawMessage, bool) {
	for _, f := range fields {
		if f.key == key {
			return f.raw, true
		}
	}
	return nil, false
}

func tokenizeText(fields []tokenizeField) (string, error) {
	raw, ok := tokenizeLookup(fields, "text")
	if !ok {
		return "", errors.New(`no "text" field`)
	}
	var s string
	if err := json.Unmarshal(raw, &s); err != nil {
		return "", fmt.Errorf(`"text" is not a string: %s`, tokenizeClip(raw))
	}
	return s, nil
}

func tokenizeIDs(tok *tokenizer.Tokenizer, fields []tokenizeField) ([]int, error) {
	raw, ok := tokenizeLookup(fields, "ids")
	if !ok {
		return nil, errors.New(`no "ids" field`)
	}
	var nums []json.Number
	if err := json.Unmarshal(raw, &nums); err != nil {
		return nil, fmt.Errorf(`"ids" is not an array of integers: %s`, tokenizeClip(raw))
	}
	ids := make([]int, len(nums))
	for i, n := range nums {
		id, err := strconv.Atoi(string(n))
		if err != nil {
			return nil, fmt.Errorf(`"ids"[%d] = %s is not an integer`, i, n)
		}
		if _, ok := tok.IDToToken(id); !ok {
			return nil, fmt.Errorf(`"ids"[%d] = %d is not a token id of this tokenizer (ids 0..%d)`, i, id, tok.VocabSize()-1)
		}
		ids[i] = id
	}
	return ids, nil
}

func tokenizeClip(raw []byte) string {
	if len(raw) > 60 {
		return string(raw[:60]) + "…"
	}
	return string(raw)
}

// tokenizeJSONString encodes s without HTML escaping, so tags such as <think> stay readable.
func tokenizeJSONString(s string) []byte {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(s) // a string always encodes
	return bytes.TrimRight(buf.Bytes(), "\n")
}

func tokenizeJSONInts(ids []int) []byte {
	b := make([]byte, 0, len(ids)*7+2)
	b = append(b, '[')
	for i, id := range ids {
		if i > 0 {
			b = append(b, ',')
		}
		b = strconv.AppendInt(b, int64(id), 10)
	}
	return append(b, ']')
}

// tokenizeWrite prints the object with key set to val: in place if the key was there, last if not.
func tokenizeWrite(w *bufio.Writer, fields []tokenizeField, key string, val []byte) error {
	var buf bytes.Buffer
	buf.WriteByte('{')
	seen := false
	for i, f := range fields {
		if i > 0 {
			buf.WriteByte(',')
		}
		buf.Write(tokenizeJSONString(f.key))
		buf.WriteByte(':')
		if f.key == key {
			buf.Write(val)
			seen = true
			continue
		}
		if err := json.Compact(&buf, f.raw); err != nil {
			return err
		}
	}
	if !seen {
		if len(fields) > 0 {
			buf.WriteByte(',')
		}
		buf.Write(tokenizeJSONString(key))
		buf.WriteByte(':')
		buf.Write(val)
	}
	buf.WriteString("}\n")
	_, err := w.Write(buf.Bytes())
	return err
}
