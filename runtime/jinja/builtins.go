package jinja

import (
	"errors"
	"fmt"
	"html"
	"math"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode"
)

func asRaised(err error, re **RaisedError) bool { return errors.As(err, re) }
func asError(err error, je **Error) bool        { return errors.As(err, je) }

// argErr is an argument error raised inside a builtin; the caller adds the position.
func argErr(format string, args ...any) error { return &Error{Msg: fmt.Sprintf(format, args...)} }

// arg picks positional argument i or keyword name, else def.
func arg(args []any, kwargs *Dict, i int, name string, def any) any {
	if i < len(args) {
		return args[i]
	}
	if kwargs != nil {
		if v, ok := kwargs.Get(name); ok {
			return v
		}
	}
	return def
}

// maxRange bounds range(); a longer loop would be cut off by MaxSteps anyway.
const maxRange = 2_000_000

func (ev *evaluator) globals() *scope {
	g := newScope(nil)
	g.vars["range"] = &Func{Name: "range", Fn: func(args []any, _ *Dict) (any, error) {
		var start, stop, step int64 = 0, 0, 1
		ints := make([]int64, len(args))
		for i, a := range args {
			n, ok := intArg(a)
			if !ok {
				return nil, argErr("range() arguments must be integers, not '%s'", typeName(a))
			}
			ints[i] = n
		}
		switch len(ints) {
		case 1:
			stop = ints[0]
		case 2:
			start, stop = ints[0], ints[1]
		case 3:
			start, stop, step = ints[0], ints[1], ints[2]
		default:
			return nil, argErr("range() takes 1 to 3 arguments, got %d", len(args))
		}
		if step == 0 {
			return nil, argErr("range() step must not be zero")
		}
		n := int64(0)
		if step > 0 && stop > start {
			n = (stop - start + step - 1) / step
		} else if step < 0 && stop < start {
			n = (start - stop - step - 1) / -step
		}
		if n > maxRange {
			return nil, argErr("range() of %d items is too large", n)
		}
		if err := ev.charge(int(n)*listItemBytes, Pos{}); err != nil {
			return nil, err
		}
		out := make([]any, n)
		for i := range out {
			out[i] = start + int64(i)*step
		}
		return out, nil
	}}
	g.vars["namespace"] = &Func{Name: "namespace", Fn: func(args []any, kwargs *Dict) (any, error) {
		d := NewDict()
		for _, a := range args {
			src, ok := a.(*Dict)
			if !ok {
				return nil, argErr("namespace() positional argument must be a mapping")
			}
			for _, k := range src.keys {
				d.Set(k, src.m[k])
			}
		}
		for _, k := range kwargs.keys {
			d.Set(k, kwargs.m[k])
		}
		return &Namespace{d: d}, nil
	}}
	g.vars["dict"] = &Func{Name: "dict", Fn: func(args []any, kwargs *Dict) (any, error) {
		d := NewDict()
		for _, k := range kwargs.keys {
			d.Set(k, kwargs.m[k])
		}
		return d, nil
	}}
	g.vars["raise_exception"] = &Func{Name: "raise_exception", Fn: func(args []any, kwargs *Dict) (any, error) {
		return nil, &RaisedError{Name: ev.name, Message: toStr(arg(args, kwargs, 0, "message", ""))}
	}}
	g.vars["strftime_now"] = &Func{Name: "strftime_now", Fn: func(args []any, kwargs *Dict) (any, error) {
		f, ok := arg(args, kwargs, 0, "format", "").(string)
		if !ok {
			return nil, argErr("strftime_now() needs a format string")
		}
		return strftime(time.Now(), f), nil
	}}
	return g
}

// strftime implements the common C/Python directives.
func strftime(t time.Time, f string) string {
	var b strings.Builder
	for i := 0; i < len(f); i++ {
		if f[i] != '%' || i+1 == len(f) {
			b.WriteByte(f[i])
			continue
		}
		i++
		switch f[i] {
		case 'Y':
			fmt.Fprintf(&b, "%04d", t.Year())
		case 'y':
			fmt.Fprintf(&b, "%02d", t.Year()%100)
		case 'm':
			fmt.Fprintf(&b, "%02d", int(t.Month()))
		case 'd':
			fmt.Fprintf(&b, "%02d", t.Day())
		case 'H':
			fmt.Fprintf(&b, "%02d", t.Hour())
		case 'I':
			fmt.Fprintf(&b, "%02d", (t.Hour()+11)%12+1)
		case 'M':
			fmt.Fprintf(&b, "%02d", t.Minute())
		case 'S':
			fmt.Fprintf(&b, "%02d", t.Second())
		case 'p':
			b.WriteString(t.Format("PM"))
		case 'B':
			b.WriteString(t.Month().String())
		case 'b':
			b.WriteString(t.Month().String()[:3])
		case 'A':
			b.WriteString(t.Weekday().String())
		case 'a':
			b.WriteString(t.Weekday().String()[:3])
		case 'j':
			fmt.Fprintf(&b, "%03d", t.YearDay())
		case '%':
			b.WriteByte('%')
		default:
			b.WriteByte('%')
			b.WriteByte(f[i])
		}
	}
	return b.String()
}

// ---- methods ----

func method(name string, fn func(args []any, kwargs *Dict) (any, error)) *Func {
	return &Func{Name: name, Fn: fn}
}

func dictMethod(ev *evaluator, d *Dict, name string, pos Pos) *Func {
	switch name {
	case "items":
		return method(name, func([]any, *Dict) (any, error) { return dictItems(d), nil })
	case "keys":
		return method(name, func([]any, *Dict) (any, error) { return append([]any(nil), d.keys...), nil })
	case "values":
		return method(name, func([]any, *Dict) (any, error) {
			out := make([]any, len(d.keys))
			for i, k := range d.keys {
				out[i] = d.m[k]
			}
			return out, nil
		})
	case "get":
		return method(name, func(args []any, kwargs *Dict) (any, error) {
			k := arg(args, kwargs, 0, "key", nil)
			if hashable(k) {
				if v, ok := d.Get(k); ok {
					return v, nil
				}
			}
			return arg(args, kwargs, 1, "default", nil), nil
		})
	}
	return nil
}

func listMethod(ev *evaluator, l []any, name string) *Func {
	switch name {
	case "count":
		return method(name, func(args []any, kwargs *Dict) (any, error) {
			x := arg(args, kwargs, 0, "value", nil)
			n := int64(0)
			for _, e := range l {
				if equal(e, x) {
					n++
				}
			}
			return n, nil
		})
	case "index":
		return method(name, func(args []any, kwargs *Dict) (any, error) {
			x := arg(args, kwargs, 0, "value", nil)
			for i, e := range l {
				if equal(e, x) {
					return int64(i), nil
				}
			}
			return nil, argErr("%s is not in list", repr(x))
		})
	}
	return nil
}

func dictItems(d *Dict) []any {
	out := make([]any, len(d.keys))
	for i, k := range d.keys {
		out[i] = []any{k, d.m[k]}
	}
	return out
}

func strArg(args []any, kwargs *Dict, i int, name string) (string, bool, error) {
	v := arg(args, kwargs, i, name, nil)
	if v == nil {
		return "", false, nil
	}
	s, ok := v.(string)
	if !ok {
		return "", false, argErr("%s must be a string or None, not '%s'", name, typeName(v))
	}
	return s, true, nil
}

func stripFunc(chars string, have bool) func(rune) bool {
	if !have {
		return isPySpace
	}
	return func(r rune) bool { return strings.ContainsRune(chars, r) }
}

func strMethod(ev *evaluator, s, name string, pos Pos) *Func {
	strip := func(trim func(string, func(rune) bool) string) *Func {
		return method(name, func(args []any, kwargs *Dict) (any, error) {
			chars, have, err := strArg(args, kwargs, 0, "chars")
			if err != nil {
				return nil, err
			}
			return trim(s, stripFunc(chars, have)), nil
		})
	}
	switch name {
	case "strip":
		return strip(strings.TrimFunc)
	case "lstrip":
		return strip(strings.TrimLeftFunc)
	case "rstrip":
		return strip(strings.TrimRightFunc)
	case "upper":
		return method(name, func([]any, *Dict) (any, error) { return strings.ToUpper(s), nil })
	case "lower":
		return method(name, func([]any, *Dict) (any, error) { return strings.ToLower(s), nil })
	case "title":
		return method(name, func([]any, *Dict) (any, error) { return pyTitle(s), nil })
	case "capitalize":
		return method(name, func([]any, *Dict) (any, error) { return pyCapitalize(s), nil })
	case "split", "rsplit":
		return method(name, func(args []any, kwargs *Dict) (any, error) {
			sep, have, err := strArg(args, kwargs, 0, "sep")
			if err != nil {
				return nil, err
			}
			n, ok := intArg(arg(args, kwargs, 1, "maxsplit", int64(-1)))
			if !ok {
				return nil, argErr("maxsplit must be an integer")
			}
			if have && sep == "" {
				return nil, argErr("empty separator")
			}
			return pySplit(s, sep, have, int(n), name == "rsplit"), nil
		})
	case "splitlines":
		return method(name, func([]any, *Dict) (any, error) {
			lines := strings.Split(strings.ReplaceAll(s, "\r\n", "\n"), "\n")
			if len(lines) > 0 && lines[len(lines)-1] == "" {
				lines = lines[:len(lines)-1]
			}
			out := make([]any, len(lines))
			for i, l := range lines {
				out[i] = l
			}
			return out, nil
		})
	case "startswith", "endswith":
		return method(name, func(args []any, kwargs *Dict) (any, error) {
			p := arg(args, kwargs, 0, "prefix", nil)
			var cands []any
			switch x := p.(type) {
			case string:
				cands = []any{x}
			case []any:
				cands = x
			default:
				return nil, argErr("%s first arg must be str or a tuple of str, not %s", name, typeName(p))
			}
			for _, c := range cands {
				cs, ok := c.(string)
				if !ok {
					return nil, argErr("%s first arg must be str or a tuple of str", name)
				}
				if name == "startswith" && strings.HasPrefix(s, cs) || name == "endswith" && strings.HasSuffix(s, cs) {
					return true, nil
				}
			}
			return false, nil
		})
	case "replace":
		return method(name, func(args []any, kwargs *Dict) (any, error) {
			old, ok1 := arg(args, kwargs, 0, "old", nil).(string)
			nw, ok2 := arg(args, kwargs, 1, "new", nil).(string)
			n, ok3 := intArg(arg(args, kwargs, 2, "count", int64(-1)))
			if !ok1 || !ok2 || !ok3 {
				return nil, argErr("replace() needs (old: str, new: str[, count: int])")
			}
			return ev.checkLen(strings.Replace(s, old, nw, int(n)), pos)
		})
	case "find", "rfind", "count":
		return method(name, func(args []any, kwargs *Dict) (any, error) {
			sub, ok := arg(args, kwargs, 0, "sub", nil).(string)
			if !ok {
				return nil, argErr("%s() needs a string argument", name)
			}
			var i int
			switch name {
			case "find":
				i = strings.Index(s, sub)
			case "rfind":
				i = strings.LastIndex(s, sub)
			default:
				return int64(strings.Count(s, sub)), nil
			}
			if i < 0 {
				return int64(-1), nil
			}
			return int64(runeLen(s[:i])), nil
		})
	case "join":
		return method(name, func(args []any, kwargs *Dict) (any, error) {
			items, err := ev.iterate(arg(args, kwargs, 0, "iterable", nil), pos)
			if err != nil {
				return nil, err
			}
			parts := make([]string, len(items))
			for i, it := range items {
				p, ok := it.(string)
				if !ok {
					return nil, argErr("sequence item %d: expected str instance, %s found", i, typeName(it))
				}
				parts[i] = p
			}
			return ev.checkLen(strings.Join(parts, s), pos)
		})
	case "isdigit", "isalpha", "isalnum", "isspace", "isupper", "islower":
		return method(name, func([]any, *Dict) (any, error) { return strPredicate(name, s), nil })
	}
	return nil
}

func strPredicate(name, s string) bool {
	if s == "" {
		return false
	}
	cased := false
	for _, r := range s {
		switch name {
		case "isdigit":
			if !unicode.IsDigit(r) {
				return false
			}
		case "isalpha":
			if !unicode.IsLetter(r) {
				return false
			}
		case "isalnum":
			if !unicode.IsLetter(r) && !unicode.IsDigit(r) && !unicode.IsNumber(r) {
				return false
			}
		case "isspace":
			if !isPySpace(r) {
				return false
			}
		case "isupper":
			if unicode.IsLower(r) {
				return false
			}
			cased = cased || unicode.IsUpper(r)
		case "islower":
			if unicode.IsUpper(r) {
				return false
			}
			cased = cased || unicode.IsLower(r)
		}
	}
	if name == "isupper" || name == "islower" {
		return cased
	}
	return true
}

func pySplit(s, sep string, have bool, maxsplit int, right bool) []any {
	var parts []string
	if !have {
		fields := strings.FieldsFunc(s, isPySpace)
		if maxsplit >= 0 && len(fields) > maxsplit {
			// Re-split keeping the remainder intact, as Python does.
			parts = nil
			rest := strings.TrimLeftFunc(s, isPySpace)
			if right {
				rest = strings.TrimRightFunc(s, isPySpace)
				for i := 0; i < maxsplit; i++ {
					j := strings.LastIndexFunc(rest, isPySpace)
					parts = append([]string{rest[j+1:]}, parts...)
					rest = strings.TrimRightFunc(rest[:j], isPySpace)
				}
				parts = append([]string{rest}, parts...)
			} else {
				for i := 0; i < maxsplit; i++ {
					j := strings.IndexFunc(rest, isPySpace)
					parts = append(parts, rest[:j])
					rest = strings.TrimLeftFunc(rest[j:], isPySpace)
				}
				parts = append(parts, rest)
			}
		} else {
			parts = fields
		}
	} else if maxsplit < 0 {
		parts = strings.Split(s, sep)
	} else if right {
		all := strings.Split(s, sep)
		if len(all) > maxsplit+1 {
			head := strings.Join(all[:len(all)-maxsplit], sep)
			parts = append([]string{head}, all[len(all)-maxsplit:]...)
		} else {
			parts = all
		}
	} else {
		parts = strings.SplitN(s, sep, maxsplit+1)
	}
	out := make([]any, len(parts))
	for i, p := range parts {
		out[i] = p
	}
	return out
}

func pyCapitalize(s string) string {
	rs := []rune(strings.ToLower(s))
	if len(rs) > 0 {
		rs[0] = unicode.ToTitle(rs[0])
	}
	return string(rs)
}

// pyTitle is str.title(): a letter after a non-letter is upper-cased, other letters lowered.
func pyTitle(s string) string {
	rs := []rune(s)
	prevCased := false
	for i, r := range rs {
		if prevCased {
			rs[i] = unicode.ToLower(r)
		} else {
			rs[i] = unicode.ToTitle(r)
		}
		prevCased = unicode.IsLetter(r)
	}
	return string(rs)
}

// ---- filters ----

func (ev *evaluator) applyFilter(f *filterExpr, v any, sc *scope) (any, error) {
	args, err := ev.evalList(f.args, sc)
	if err != nil {
		return nil, err
	}
	kwargs, err := ev.evalKwargs(f.kwargs, sc)
	if err != nil {
		return nil, err
	}
	r, err := ev.filter(f.name, v, args, kwargs, f.pos)
	if err != nil {
		var je *Error
		var re *RaisedError
		if asError(err, &je) && je.Pos.Line == 0 {
			je.Name, je.Pos = ev.name, f.pos
			je.Msg = "filter " + f.name + ": " + je.Msg
		} else if !asError(err, &je) && !asRaised(err, &re) {
			return nil, ev.errAt(f.pos, "filter %s: %v", f.name, err)
		}
	}
	return r, err
}

func (ev *evaluator) filter(name string, v any, args []any, kwargs *Dict, pos Pos) (any, error) {
	if u, ok := v.(Undefined); ok {
		// jinja2's Undefined prints as "" and iterates as empty; only filters that need a
		// real value fail on it.
		switch name {
		case "default", "d", "length", "count":
		case "items":
			return []any{}, nil
		case "tojson", "abs", "round", "dictsort", "attr", "int", "float":
			return nil, ev.undefinedErr(u, pos)
		case "upper", "lower", "trim", "capitalize", "title", "replace", "string", "e", "escape", "safe", "indent", "wordcount":
			v = ""
		default:
			v = []any{}
		}
	}
	switch name {
	case "default", "d":
		def := arg(args, kwargs, 0, "default_value", "")
		boolean := truthy(arg(args, kwargs, 1, "boolean", false))
		if _, undef := v.(Undefined); undef || boolean && !truthy(v) {
			return def, nil
		}
		return v, nil
	case "length", "count":
		switch x := v.(type) {
		case string:
			return int64(runeLen(x)), nil
		case []any:
			return int64(len(x)), nil
		case *Dict:
			return int64(x.Len()), nil
		case Undefined:
			return int64(0), nil
		}
		return nil, argErr("object of type '%s' has no len()", typeName(v))
	case "string":
		return toStr(v), nil
	case "safe":
		return v, nil
	case "escape", "e":
		return html.EscapeString(toStr(v)), nil
	case "list":
		return ev.iterate(v, pos)
	case "items":
		switch x := v.(type) {
		case *Dict:
			return dictItems(x), nil
		case Undefined:
			return []any{}, nil
		}
		return nil, argErr("can only get item pairs from a mapping, not '%s'", typeName(v))
	case "trim":
		s := toStr(v)
		chars, have, err := strArg(args, kwargs, 0, "chars")
		if err != nil {
			return nil, err
		}
		return strings.TrimFunc(s, stripFunc(chars, have)), nil
	case "upper":
		return strings.ToUpper(toStr(v)), nil
	case "lower":
		return strings.ToLower(toStr(v)), nil
	case "capitalize":
		return pyCapitalize(toStr(v)), nil
	case "title":
		return jinjaTitle(toStr(v)), nil
	case "replace":
		s := toStr(v)
		old, nw := toStr(arg(args, kwargs, 0, "old", "")), toStr(arg(args, kwargs, 1, "new", ""))
		n, _ := intArg(arg(args, kwargs, 2, "count", int64(-1)))
		return ev.checkLen(strings.Replace(s, old, nw, int(n)), pos)
	case "first", "last":
		items, err := ev.iterate(v, pos)
		if err != nil {
			return nil, err
		}
		if len(items) == 0 {
			return Undefined{Name: name}, nil
		}
		if name == "first" {
			return items[0], nil
		}
		return items[len(items)-1], nil
	case "join":
		items, err := ev.iterate(v, pos)
		if err != nil {
			return nil, err
		}
		sep := toStr(arg(args, kwargs, 0, "d", ""))
		attr := arg(args, kwargs, 1, "attribute", nil)
		parts := make([]string, len(items))
		for i, it := range items {
			if attr != nil {
				if it, err = ev.getitem(it, attr, pos); err != nil {
					return nil, err
				}
			}
			parts[i] = toStr(it)
		}
		return ev.checkLen(strings.Join(parts, sep), pos)
	case "reverse":
		switch x := v.(type) {
		case string:
			rs := []rune(x)
			for i, j := 0, len(rs)-1; i < j; i, j = i+1, j-1 {
				rs[i], rs[j] = rs[j], rs[i]
			}
			return string(rs), nil
		}
		items, err := ev.iterate(v, pos)
		if err != nil {
			return nil, err
		}
		out := make([]any, len(items))
		for i, it := range items {
			out[len(items)-1-i] = it
		}
		return out, nil
	case "sort":
		items, err := ev.iterate(v, pos)
		if err != nil {
			return nil, err
		}
		out := append([]any(nil), items...)
		reverse := truthy(arg(args, kwargs, 0, "reverse", false))
		caseSensitive := truthy(arg(args, kwargs, 1, "case_sensitive", false))
		attr := arg(args, kwargs, 2, "attribute", nil)
		key := func(x any) any {
			if attr != nil {
				x, _ = ev.getitem(x, attr, pos)
			}
			return x
		}
		return out, ev.sortStable(out, key, caseSensitive, reverse, pos)
	case "unique": // first of each, comparing strings case-insensitively by default
		items, err := ev.iterate(v, pos)
		if err != nil {
			return nil, err
		}
		caseSensitive := truthy(arg(args, kwargs, 0, "case_sensitive", false))
		attr := arg(args, kwargs, 1, "attribute", nil)
		seen := NewDict()
		out := []any{}
		for _, it := range items {
			k := it
			if attr != nil {
				if k, err = ev.getitem(it, attr, pos); err != nil {
					return nil, err
				}
			}
			if s, ok := k.(string); ok && !caseSensitive {
				k = strings.ToLower(s)
			}
			if !hashable(k) {
				return nil, argErr("unhashable type: '%s'", typeName(k))
			}
			if _, dup := seen.Get(k); !dup {
				seen.Set(k, true)
				out = append(out, it)
			}
		}
		return out, nil
	case "min", "max", "sum":
		items, err := ev.iterate(v, pos)
		if err != nil {
			return nil, err
		}
		if name == "sum" { // sum(attribute=None, start=0)
			attr := arg(args, kwargs, 0, "attribute", nil)
			var acc any = arg(args, kwargs, 1, "start", int64(0))
			for _, it := range items {
				if attr != nil {
					if it, err = ev.getitem(it, attr, pos); err != nil {
						return nil, err
					}
				}
				if acc, err = ev.binop("+", acc, it, pos); err != nil {
					return nil, err
				}
			}
			return acc, nil
		}
		// min and max(case_sensitive=False, attribute=None)
		caseSensitive := truthy(arg(args, kwargs, 0, "case_sensitive", false))
		attr := arg(args, kwargs, 1, "attribute", nil)
		if len(items) == 0 {
			return Undefined{Name: name}, nil
		}
		key := func(x any) any {
			if attr != nil {
				x, _ = ev.getitem(x, attr, pos)
			}
			if s, ok := x.(string); ok && !caseSensitive {
				return strings.ToLower(s)
			}
			return x
		}
		best := items[0]
		for _, it := range items[1:] {
			a, b := key(it), key(best)
			c, err := ev.order(a, b, "<", pos)
			if err != nil {
				return nil, err
			}
			if name == "min" && c < 0 || name == "max" && c > 0 {
				best = it
			}
		}
		return best, nil
	case "abs":
		if b, ok := v.(bool); ok {
			v, _ = intArg(b)
		}
		switch x := v.(type) {
		case int64:
			if x < 0 {
				return -x, nil
			}
			return x, nil
		case float64:
			return math.Abs(x), nil
		}
		return nil, argErr("bad operand type for abs(): '%s'", typeName(v))
	case "int":
		def := arg(args, kwargs, 0, "default", int64(0))
		switch x := v.(type) {
		case int64:
			return x, nil
		case bool:
			n, _ := intArg(x)
			return n, nil
		case float64:
			if math.IsNaN(x) || math.IsInf(x, 0) {
				return def, nil
			}
			return int64(x), nil
		case string:
			t := strings.ReplaceAll(strings.TrimSpace(x), "_", "")
			if n, err := strconv.ParseInt(t, 10, 64); err == nil {
				return n, nil
			}
			if f, err := strconv.ParseFloat(t, 64); err == nil && !math.IsInf(f, 0) && !math.IsNaN(f) {
				return int64(f), nil
			}
		}
		return def, nil
	case "float":
		def := arg(args, kwargs, 0, "default", 0.0)
		if f, ok := number(v); ok {
			return f, nil
		}
		if s, ok := v.(string); ok {
			if f, err := strconv.ParseFloat(strings.TrimSpace(s), 64); err == nil {
				return f, nil
			}
		}
		return def, nil
	case "round":
		if n, ok := intArg(v); ok {
			return n, nil // Python's round() of an int is that int
		}
		f, ok := number(v)
		if !ok {
			return nil, argErr("round needs a number")
		}
		prec, _ := intArg(arg(args, kwargs, 0, "precision", int64(0)))
		method := toStr(arg(args, kwargs, 1, "method", "common"))
		p := math.Pow(10, float64(prec))
		switch method {
		case "ceil":
			return math.Ceil(f*p) / p, nil
		case "floor":
			return math.Floor(f*p) / p, nil
		}
		return math.RoundToEven(f*p) / p, nil // Python's round() rounds half to even
	case "tojson":
		return ev.tojson(v, args, kwargs)
	case "indent":
		return indentFilter(toStr(v), args, kwargs, ev.lim.MaxOutput)
	case "attr": // attributes only, never items
		name := toStr(arg(args, kwargs, 0, "name", ""))
		switch x := v.(type) {
		case *Dict:
			if m := dictMethod(ev, x, name, pos); m != nil {
				return m, nil
			}
			return Undefined{Name: name}, nil
		case *Namespace:
			return Undefined{Name: name}, nil
		}
		return ev.getattr(v, name, pos)
	case "wordcount":
		return int64(len(strings.FieldsFunc(toStr(v), isPySpace))), nil
	case "dictsort":
		d, ok := v.(*Dict)
		if !ok {
			return nil, argErr("dictsort needs a mapping")
		}
		items := dictItems(d)
		caseSensitive := truthy(arg(args, kwargs, 0, "case_sensitive", false))
		k := 0
		if toStr(arg(args, kwargs, 1, "by", "key")) == "value" {
			k = 1
		}
		key := func(pair any) any { return pair.([]any)[k] }
		reverse := truthy(arg(args, kwargs, 2, "reverse", false))
		return items, ev.sortStable(items, key, caseSensitive, reverse, pos)
	case "map":
		if !truthy(v) { // jinja2 maps over nothing when the value is false, iterable or not
			return []any{}, nil
		}
		items, err := ev.iterate(v, pos)
		if err != nil {
			return nil, err
		}
		out := make([]any, len(items))
		if attr, ok := kwargs.Get("attribute"); ok {
			def, hasDef := kwargs.Get("default")
			for i, it := range items {
				x, err := ev.getitem(it, attr, pos)
				if err != nil {
					return nil, err
				}
				if _, undef := x.(Undefined); undef && hasDef {
					x = def
				}
				out[i] = x
			}
			return out, nil
		}
		if len(args) == 0 {
			return nil, argErr("map needs a filter name or attribute=")
		}
		fname := toStr(args[0])
		for i, it := range items {
			if out[i], err = ev.filter(fname, it, args[1:], kwargs, pos); err != nil {
				return nil, err
			}
		}
		return out, nil
	case "select", "reject", "selectattr", "rejectattr":
		if !truthy(v) {
			return []any{}, nil
		}
		items, err := ev.iterate(v, pos)
		if err != nil {
			return nil, err
		}
		rest := args
		var attr any
		if strings.HasSuffix(name, "attr") {
			if len(rest) == 0 {
				return nil, argErr("%s needs an attribute name", name)
			}
			attr, rest = rest[0], rest[1:]
		}
		want := strings.HasPrefix(name, "select")
		out := []any{}
		for _, it := range items {
			x := it
			if attr != nil {
				if x, err = ev.getitem(it, attr, pos); err != nil {
					return nil, err
				}
			}
			ok := truthy(x)
			if len(rest) > 0 {
				if ok, err = ev.runTest(toStr(rest[0]), x, rest[1:], pos); err != nil {
					return nil, err
				}
			}
			if ok == want {
				out = append(out, it)
			}
		}
		return out, nil
	}
	return nil, argErr("no filter named '%s'", name)
}

// jinjaTitle is jinja2's title filter: words begin after whitespace and -({[<.
func jinjaTitle(s string) string {
	rs := []rune(s)
	start := true
	for i, r := range rs {
		if unicode.IsSpace(r) || strings.ContainsRune("-({[<", r) {
			start = true
			continue
		}
		if start {
			rs[i] = unicode.ToTitle(r)
		} else {
			rs[i] = unicode.ToLower(r)
		}
		start = false
	}
	return string(rs)
}

func indentFilter(s string, args []any, kwargs *Dict, maxLen int) (any, error) {
	width := arg(args, kwargs, 0, "width", int64(4))
	first := truthy(arg(args, kwargs, 1, "first", false))
	blank := truthy(arg(args, kwargs, 2, "blank", false))
	pad := ""
	switch w := width.(type) {
	case string:
		pad = w
	case int64:
		if w < 0 || w > 1000 {
			return nil, argErr("indent width out of range")
		}
		pad = strings.Repeat(" ", int(w))
	default:
		return nil, argErr("indent width must be an integer or string")
	}
	// A string pad repeats on every line: refuse a result over the bound before building it.
	if int64(len(s))+int64(len(pad))*int64(strings.Count(s, "\n")+1) > int64(maxLen) {
		return nil, argErr("indented string would exceed %d bytes", maxLen)
	}
	lines := strings.Split(s, "\n")
	for i, l := range lines {
		if i == 0 && !first {
			continue
		}
		if l == "" && !blank {
			continue
		}
		lines[i] = pad + l
	}
	return strings.Join(lines, "\n"), nil
}

// ---- tests ----

func (ev *evaluator) runTest(name string, v any, args []any, pos Pos) (bool, error) {
	a0 := func() (any, error) {
		if len(args) == 0 {
			return nil, ev.errAt(pos, "test '%s' needs an argument", name)
		}
		return args[0], nil
	}
	switch name {
	case "defined":
		_, u := v.(Undefined)
		return !u, nil
	case "undefined":
		_, u := v.(Undefined)
		return u, nil
	case "none":
		return v == nil, nil
	case "boolean":
		_, ok := v.(bool)
		return ok, nil
	case "true":
		b, ok := v.(bool)
		return ok && b, nil
	case "false":
		b, ok := v.(bool)
		return ok && !b, nil
	case "integer":
		_, ok := v.(int64)
		return ok, nil
	case "float":
		_, ok := v.(float64)
		return ok, nil
	case "number":
		_, ok := number(v)
		return ok, nil
	case "string":
		_, ok := v.(string)
		return ok, nil
	case "mapping":
		_, ok := v.(*Dict)
		return ok, nil
	case "iterable":
		switch v.(type) {
		case string, []any, *Dict, Undefined:
			return true, nil
		}
		return false, nil
	case "sequence":
		switch v.(type) {
		case string, []any, *Dict, Undefined:
			return true, nil
		}
		return false, nil
	case "callable":
		switch v.(type) {
		case *Func, *macro:
			return true, nil
		}
		return false, nil
	case "odd", "even": // value % 2 == 1 (or == 0), as jinja2 computes it
		f, ok := number(v)
		if !ok {
			return false, ev.errAt(pos, "test '%s' needs a number, not '%s'", name, typeName(v))
		}
		m := math.Mod(f, 2)
		if m < 0 {
			m += 2
		}
		if name == "odd" {
			return m == 1, nil
		}
		return m == 0, nil
	case "divisibleby":
		a, err := a0()
		if err != nil {
			return false, err
		}
		n, ok1 := number(v)
		d, ok2 := number(a)
		if !ok1 || !ok2 || d == 0 {
			return false, ev.errAt(pos, "divisibleby needs numbers and a non-zero divisor")
		}
		return math.Mod(n, d) == 0, nil
	case "lower": // str(value).islower()
		return strPredicate("islower", toStr(v)), nil
	case "upper":
		return strPredicate("isupper", toStr(v)), nil
	case "sameas":
		a, err := a0()
		if err != nil {
			return false, err
		}
		switch x := v.(type) {
		case nil, bool:
			return v == a, nil
		case *Dict, *Namespace, *Func:
			return v == a, nil
		case []any:
			y, ok := a.([]any)
			return ok && len(x) == len(y) && (len(x) == 0 || &x[0] == &y[0]), nil
		}
		return equal(v, a), nil
	case "in":
		a, err := a0()
		if err != nil {
			return false, err
		}
		return ev.contains(a, v, pos)
	case "eq", "equalto", "==", "ne", "!=", "lt", "<", "le", "<=", "gt", ">", "ge", ">=":
		a, err := a0()
		if err != nil {
			return false, err
		}
		op := map[string]string{"eq": "==", "equalto": "==", "ne": "!=", "lt": "<", "le": "<=", "gt": ">", "ge": ">="}[name]
		if op == "" {
			op = name
		}
		return ev.compare(op, v, a, pos)
	}
	return false, ev.errAt(pos, "no test named '%s'", name)
}

// sortStable sorts items in place by key as jinja2's sort and dictsort do: stably, strings
// compared case-insensitively unless caseSensitive, with Python's ordering of mixed values; the
// first comparison error is returned.
func (ev *evaluator) sortStable(items []any, key func(any) any, caseSensitive, reverse bool, pos Pos) error {
	fold := func(x any) any {
		x = key(x)
		if s, ok := x.(string); ok && !caseSensitive {
			return strings.ToLower(s)
		}
		return x
	}
	var sortErr error
	sort.SliceStable(items, func(i, j int) bool {
		a, b := fold(items[i]), fold(items[j])
		if reverse {
			a, b = b, a
		}
		c, err := ev.order(a, b, "<", pos)
		if err != nil && sortErr == nil {
			sortErr = err
		}
		return c < 0
	})
	return sortErr
}
