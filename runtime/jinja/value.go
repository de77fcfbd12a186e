package jinja

import (
	"fmt"
	"math"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Values inside the engine are Python-like and always one of: nil (None), Undefined, bool,
// int64, float64, string, []any (list or tuple), *Dict, *Namespace, *Func, *macro.
// FromGo converts ordinary Go values into that form.

// Undefined is the value of a name or attribute that does not exist. Like jinja2's default
// Undefined it prints as "", is false, iterates as empty, and fails on any other use.
type Undefined struct{ Name string }

// Dict is an insertion-ordered mapping, so that tojson and items() keep the order of the JSON
// the caller gave (as Python dicts do). Keys are strings, int64, float64, bool or nil.
type Dict struct {
	keys []any
	m    map[any]any
}

// NewDict returns an empty Dict.
func NewDict() *Dict { return &Dict{m: map[any]any{}} }

// Set adds or replaces a key, keeping its first position.
func (d *Dict) Set(k, v any) {
	k = normKey(k)
	if _, ok := d.m[k]; !ok {
		d.keys = append(d.keys, k)
	}
	d.m[k] = v
}

// Get returns the value for k.
func (d *Dict) Get(k any) (any, bool) {
	v, ok := d.m[normKey(k)]
	return v, ok
}

// Keys returns the keys in insertion order.
func (d *Dict) Keys() []any { return d.keys }

// Len is the number of entries.
func (d *Dict) Len() int { return len(d.keys) }

// normKey makes keys that Python treats as equal (1 and 1.0) share one map slot.
func normKey(k any) any {
	if f, ok := k.(float64); ok && f == math.Trunc(f) && math.Abs(f) < 1<<53 {
		return int64(f)
	}
	if b, ok := k.(bool); ok {
		if b {
			return int64(1)
		}
		return int64(0)
	}
	return k
}

func hashable(k any) bool {
	switch k.(type) {
	case nil, bool, int64, float64, string:
		return true
	}
	return false
}

// Namespace is the mutable object made by namespace(...); only `set ns.attr` changes it.
type Namespace struct{ d *Dict }

// Func is a callable value: a global function or a bound method.
type Func struct {
	Name string
	Fn   func(args []any, kwargs *Dict) (any, error)
}

// FromGo converts Go values — numbers, strings, bools, slices, maps, pointers to them — into
// engine values (structs are not walked; other kinds become their fmt string). Map keys are
// sorted for a stable order; use *Dict or DecodeJSON to keep a given order.
func FromGo(v any) any {
	switch x := v.(type) {
	case nil, bool, int64, float64, string, *Dict, *Namespace, *Func, Undefined:
		return x
	case int:
		return int64(x)
	case int32:
		return int64(x)
	case uint32:
		return int64(x)
	case float32:
		return float64(x)
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = FromGo(e)
		}
		return out
	case []string:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = e
		}
		return out
	case map[string]any:
		ks := make([]string, 0, len(x))
		for k := range x {
			ks = append(ks, k)
		}
		sort.Strings(ks)
		d := NewDict()
		for _, k := range ks {
			d.Set(k, FromGo(x[k]))
		}
		return d
	}
	rv := reflect.ValueOf(v)
	switch rv.Kind() {
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return rv.Int()
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return int64(rv.Uint())
	case reflect.Float32, reflect.Float64:
		return rv.Float()
	case reflect.String:
		return rv.String()
	case reflect.Bool:
		return rv.Bool()
	case reflect.Slice, reflect.Array:
		out := make([]any, rv.Len())
		for i := range out {
			out[i] = FromGo(rv.Index(i).Interface())
		}
		return out
	case reflect.Map:
		d := NewDict()
		keys := rv.MapKeys()
		sort.Slice(keys, func(i, j int) bool { return fmt.Sprint(keys[i]) < fmt.Sprint(keys[j]) })
		for _, k := range keys {
			d.Set(FromGo(k.Interface()), FromGo(rv.MapIndex(k).Interface()))
		}
		return d
	case reflect.Pointer:
		if rv.IsNil() {
			return nil
		}
		return FromGo(rv.Elem().Interface())
	}
	return fmt.Sprint(v)
}

func typeName(v any) string {
	switch v.(type) {
	case nil:
		return "NoneType"
	case Undefined:
		return "Undefined"
	case bool:
		return "bool"
	case int64:
		return "int"
	case float64:
		return "float"
	case string:
		return "str"
	case []any:
		return "list"
	case *Dict:
		return "dict"
	case *Namespace:
		return "Namespace"
	case *Func, *macro:
		return "function"
	case *loopInfo:
		return "LoopContext"
	}
	return fmt.Sprintf("%T", v)
}

func truthy(v any) bool {
	switch x := v.(type) {
	case nil, Undefined:
		return false
	case bool:
		return x
	case int64:
		return x != 0
	case float64:
		return x != 0
	case string:
		return x != ""
	case []any:
		return len(x) > 0
	case *Dict:
		return x.Len() > 0
	}
	return true
}

// toStr is Python's str() as jinja2 prints values.
func toStr(v any) string {
	switch x := v.(type) {
	case string:
		return x
	case Undefined:
		return ""
	case nil:
		return "None"
	case bool:
		if x {
			return "True"
		}
		return "False"
	case int64:
		return strconv.FormatInt(x, 10)
	case float64:
		return pyFloat(x)
	}
	return repr(v)
}

// repr is Python's repr() for the engine's values.
func repr(v any) string {
	var b strings.Builder
	reprTo(&b, v, 0)
	return b.String()
}

// Bounds on printing values: a namespace can hold itself, any number of times over.
const (
	maxValueDepth = 200
	maxReprBytes  = 64 << 20
)

func reprTo(b *strings.Builder, v any, depth int) {
	if depth > maxValueDepth || b.Len() > maxReprBytes {
		b.WriteString("...")
		return
	}
	switch x := v.(type) {
	case string:
		b.WriteString(pyStrRepr(x))
	case []any:
		b.WriteByte('[')
		for i, e := range x {
			if i > 0 {
				b.WriteString(", ")
			}
			reprTo(b, e, depth+1)
		}
		b.WriteByte(']')
	case *Dict:
		b.WriteByte('{')
		for i, k := range x.keys {
			if i > 0 {
				b.WriteString(", ")
			}
			reprTo(b, k, depth+1)
			b.WriteString(": ")
			reprTo(b, x.m[k], depth+1)
		}
		b.WriteByte('}')
	case *Namespace:
		b.WriteString("<Namespace ")
		reprTo(b, x.d, depth+1)
		b.WriteByte('>')
	case *Func:
		b.WriteString("<function " + x.Name + ">")
	case *macro:
		b.WriteString("<Macro '" + x.node.name + "'>")
	case *loopInfo:
		fmt.Fprintf(b, "<LoopContext %d/%d>", x.i+1, len(x.items))
	case Undefined:
	default:
		b.WriteString(toStr(v))
	}
}

func pyStrRepr(s string) string {
	q := byte('\'')
	if strings.IndexByte(s, '\'') >= 0 && strings.IndexByte(s, '"') < 0 {
		q = '"'
	}
	var b strings.Builder
	b.WriteByte(q)
	for _, r := range s {
		switch {
		case r == rune(q) || r == '\\':
			b.WriteByte('\\')
			b.WriteRune(r)
		case r == '\n':
			b.WriteString(`\n`)
		case r == '\r':
			b.WriteString(`\r`)
		case r == '\t':
			b.WriteString(`\t`)
		case r < 0x20 || r == 0x7f:
			fmt.Fprintf(&b, `\x%02x`, r)
		case r > 0x7f && !unicode.IsPrint(r) && r != ' ':
			if r <= 0xff {
				fmt.Fprintf(&b, `\x%02x`, r)
			} else if r <= 0xffff {
				fmt.Fprintf(&b, `\u%04x`, r)
			} else {
				fmt.Fprintf(&b, `\U%08x`, r)
			}
		default:
			b.WriteRune(r)
		}
	}
	b.WriteByte(q)
	return b.String()
}

// pyFloat formats like Python's repr(float): shortest round-trip digits, positional notation
// for exponents in [-4, 16), a trailing ".0" on integral values.
func pyFloat(f float64) string {
	switch {
	case math.IsNaN(f):
		return "nan"
	case math.IsInf(f, 1):
		return "inf"
	case math.IsInf(f, -1):
		return "-inf"
	}
	s := strconv.FormatFloat(f, 'e', -1, 64) // d.ddde±XX
	mant, expStr, _ := strings.Cut(s, "e")
	exp, _ := strconv.Atoi(expStr)
	neg := strings.HasPrefix(mant, "-")
	mant = strings.TrimPrefix(mant, "-")
	digits := strings.Replace(mant, ".", "", 1)
	sign := ""
	if neg {
		sign = "-"
	}
	if exp < -4 || exp >= 16 {
		m := digits[:1]
		if len(digits) > 1 {
			m += "." + digits[1:]
		}
		es := "+"
		if exp < 0 {
			es = "-"
			exp = -exp
		}
		return fmt.Sprintf("%s%se%s%02d", sign, m, es, exp)
	}
	if exp < 0 {
		return sign + "0." + strings.Repeat("0", -exp-1) + digits
	}
	if len(digits) <= exp+1 {
		return sign + digits + strings.Repeat("0", exp+1-len(digits)) + ".0"
	}
	return sign + digits[:exp+1] + "." + digits[exp+1:]
}

// equal is Python ==.
func equal(a, b any) bool { return equalDepth(a, b, 0) }

// Values form no cycles except through a Namespace, which equal compares by identity; the
// depth bound is a guard only.

func equalDepth(a, b any, depth int) bool {
	if depth > maxValueDepth {
		return false
	}
	equal := func(a, b any) bool { return equalDepth(a, b, depth+1) }
	switch x := a.(type) {
	case nil:
		return b == nil
	case Undefined:
		_, ok := b.(Undefined)
		return ok
	case string:
		y, ok := b.(string)
		return ok && x == y
	case []any:
		y, ok := b.([]any)
		if !ok || len(x) != len(y) {
			return false
		}
		for i := range x {
			if !equal(x[i], y[i]) {
				return false
			}
		}
		return true
	case *Dict:
		y, ok := b.(*Dict)
		if !ok || x.Len() != y.Len() {
			return false
		}
		for _, k := range x.keys {
			w, ok := y.m[k]
			if !ok || !equal(x.m[k], w) {
				return false
			}
		}
		return true
	}
	if fa, ok := number(a); ok {
		fb, ok := number(b)
		return ok && fa == fb
	}
	return a == b
}

// number gives the numeric value of bool/int/float (Python's bool is an int).
func number(v any) (float64, bool) {
	switch x := v.(type) {
	case bool:
		if x {
			return 1, true
		}
		return 0, true
	case int64:
		return float64(x), true
	case float64:
		return x, true
	}
	return 0, false
}

func runeLen(s string) int { return utf8.RuneCountInString(s) }
