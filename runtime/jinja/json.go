package jinja

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"sort"
	"strconv"
	"strings"
	"unicode/utf8"
)

// tojson is transformers' override of the filter:
// json.dumps(x, ensure_ascii=False, indent=indent, separators=separators, sort_keys=sort_keys).
// Unlike jinja2's own tojson it neither sorts keys nor HTML-escapes.
func (ev *evaluator) tojson(v any, args []any, kwargs *Dict) (any, error) {
	o := jsonOpts{
		ensureASCII: truthy(arg(args, kwargs, 0, "ensure_ascii", false)),
		sortKeys:    truthy(arg(args, kwargs, 3, "sort_keys", false)),
		itemSep:     ", ",
		keySep:      ": ",
	}
	switch ind := arg(args, kwargs, 1, "indent", nil).(type) {
	case nil:
	case int64:
		if ind < 0 {
			ind = 0
		}
		if ind > 100 {
			return nil, argErr("indent %d is too large", ind)
		}
		o.indent, o.pretty = strings.Repeat(" ", int(ind)), true
	case string:
		o.indent, o.pretty = ind, true
	default:
		return nil, argErr("indent must be an integer or a string")
	}
	if o.pretty {
		o.itemSep = ","
	}
	if seps := arg(args, kwargs, 2, "separators", nil); seps != nil {
		l, ok := seps.([]any)
		if !ok || len(l) != 2 {
			return nil, argErr("separators must be a pair of strings")
		}
		a, ok1 := l[0].(string)
		b, ok2 := l[1].(string)
		if !ok1 || !ok2 {
			return nil, argErr("separators must be a pair of strings")
		}
		o.itemSep, o.keySep = a, b
	}
	var b strings.Builder
	if err := o.encode(&b, v, 0, ev.lim.MaxOutput); err != nil {
		return nil, err
	}
	return b.String(), nil
}

type jsonOpts struct {
	ensureASCII, sortKeys, pretty bool
	indent, itemSep, keySep       string
}

func (o *jsonOpts) newline(b *strings.Builder, depth int) {
	b.WriteByte('\n')
	for i := 0; i < depth; i++ {
		b.WriteString(o.indent)
	}
}

func (o *jsonOpts) encode(b *strings.Builder, v any, depth, limit int) error {
	if b.Len() > limit {
		return argErr("JSON output exceeds %d bytes", limit)
	}
	if depth > 500 {
		return argErr("value is nested too deeply for JSON")
	}
	switch x := v.(type) {
	case nil:
		b.WriteString("null")
	case bool:
		if x {
			b.WriteString("true")
		} else {
			b.WriteString("false")
		}
	case int64:
		b.WriteString(strconv.FormatInt(x, 10))
	case float64:
		b.WriteString(jsonFloat(x))
	case string:
		writeJSONString(b, x, o.ensureASCII)
	case []any:
		if len(x) == 0 {
			b.WriteString("[]")
			return nil
		}
		b.WriteByte('[')
		for i, e := range x {
			if i > 0 {
				b.WriteString(o.itemSep)
			}
			if o.pretty {
				o.newline(b, depth+1)
			}
			if err := o.encode(b, e, depth+1, limit); err != nil {
				return err
			}
		}
		if o.pretty {
			o.newline(b, depth)
		}
		b.WriteByte(']')
	case *Dict:
		if x.Len() == 0 {
			b.WriteString("{}")
			return nil
		}
		type kv struct {
			k string
			v any
		}
		kvs := make([]kv, 0, x.Len())
		for _, k := range x.keys {
			var ks string
			switch kk := k.(type) {
			case string:
				ks = kk
			case nil:
				ks = "null"
			case int64:
				ks = strconv.FormatInt(kk, 10)
			case float64:
				ks = jsonFloat(kk)
			default:
				return argErr("keys must be str, int, float, bool or None, not %s", typeName(k))
			}
			kvs = append(kvs, kv{ks, x.m[k]})
		}
		if o.sortKeys {
			sort.SliceStable(kvs, func(i, j int) bool { return kvs[i].k < kvs[j].k })
		}
		b.WriteByte('{')
		for i, e := range kvs {
			if i > 0 {
				b.WriteString(o.itemSep)
			}
			if o.pretty {
				o.newline(b, depth+1)
			}
			writeJSONString(b, e.k, o.ensureASCII)
			b.WriteString(o.keySep)
			if err := o.encode(b, e.v, depth+1, limit); err != nil {
				return err
			}
		}
		if o.pretty {
			o.newline(b, depth)
		}
		b.WriteByte('}')
	default:
		return argErr("Object of type %s is not JSON serializable", typeName(v))
	}
	return nil
}

func jsonFloat(f float64) string {
	switch {
	case math.IsNaN(f):
		return "NaN"
	case math.IsInf(f, 1):
		return "Infinity"
	case math.IsInf(f, -1):
		return "-Infinity"
	}
	return pyFloat(f)
}

// writeJSONString escapes like Python's json.dumps: the quote, backslash and control
// characters; with ensureASCII also everything above 0x7e as \uXXXX (surrogate pairs).
func writeJSONString(b *strings.Builder, s string, ensureASCII bool) {
	b.WriteByte('"')
	for i := 0; i < len(s); {
		r, n := utf8.DecodeRuneInString(s[i:])
		i += n
		switch r {
		case '"':
			b.WriteString(`\"`)
		case '\\':
			b.WriteString(`\\`)
		case '\n':
			b.WriteString(`\n`)
		case '\r':
			b.WriteString(`\r`)
		case '\t':
			b.WriteString(`\t`)
		case '\b':
			b.WriteString(`\b`)
		case '\f':
			b.WriteString(`\f`)
		default:
			switch {
			case r < 0x20:
				fmt.Fprintf(b, `\u%04x`, r)
			case ensureASCII && r > 0x7e:
				if r > 0xffff {
					r -= 0x10000
					fmt.Fprintf(b, `\u%04x\u%04x`, 0xd800+(r>>10), 0xdc00+(r&0x3ff))
				} else {
					fmt.Fprintf(b, `\u%04x`, r)
				}
			default:
				b.WriteRune(r)
			}
		}
	}
	b.WriteByte('"')
}

// DecodeJSON parses one JSON value into engine values, keeping object key order (so a
// template sees tools and arguments in the order they were written) and telling integers
// from floats by their spelling, as Python's json module does.
func DecodeJSON(data []byte) (any, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	v, err := decodeValue(dec, 0)
	if err != nil {
		return nil, err
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, fmt.Errorf("unexpected data after the JSON value")
	}
	return v, nil
}

func decodeValue(dec *json.Decoder, depth int) (any, error) {
	if depth > 1000 {
		return nil, fmt.Errorf("JSON nested too deeply")
	}
	t, err := dec.Token()
	if err == io.EOF {
		return nil, io.ErrUnexpectedEOF
	}
	if err != nil {
		return nil, err
	}
	switch x := t.(type) {
	case json.Delim:
		switch x {
		case '[':
			out := []any{}
			for dec.More() {
				v, err := decodeValue(dec, depth+1)
				if err != nil {
					return nil, err
				}
				out = append(out, v)
			}
			if _, err := dec.Token(); err != nil {
				return nil, io.ErrUnexpectedEOF
			}
			return out, nil
		case '{':
			d := NewDict()
			for dec.More() {
				kt, err := dec.Token()
				if err == io.EOF {
					return nil, io.ErrUnexpectedEOF
				}
				if err != nil {
					return nil, err
				}
				v, err := decodeValue(dec, depth+1)
				if err != nil {
					return nil, err
				}
				d.Set(kt.(string), v)
			}
			if _, err := dec.Token(); err != nil {
				return nil, io.ErrUnexpectedEOF
			}
			return d, nil
		}
		return nil, fmt.Errorf("unexpected %v", x)
	case json.Number:
		s := x.String()
		if !strings.ContainsAny(s, ".eE") {
			if n, err := strconv.ParseInt(s, 10, 64); err == nil {
				return n, nil
			}
		}
		f, err := strconv.ParseFloat(s, 64)
		if err != nil && !math.IsInf(f, 0) {
			return nil, err
		}
		return f, nil
	}
	return t, nil // string, bool, nil
}

// ToGo converts an engine value back into plain Go values (for encoding results).
func ToGo(v any) any {
	switch x := v.(type) {
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = ToGo(e)
		}
		return out
	case *Dict:
		m := make(map[string]any, x.Len())
		for _, k := range x.keys {
			m[toStr(k)] = ToGo(x.m[k])
		}
		return m
	case Undefined:
		return nil
	}
	return v
}

// EncodeJSON writes v compactly, keeping Dict key order (Python's separators ",", ":" with
// ensure_ascii off), for callers that echo template inputs back out.
func EncodeJSON(v any) (string, error) {
	o := jsonOpts{itemSep: ",", keySep: ":"}
	var b strings.Builder
	err := o.encode(&b, v, 0, math.MaxInt)
	return b.String(), err
}
