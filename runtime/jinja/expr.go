package jinja

import (
	"math"
	"strconv"
	"strings"
)

func (ev *evaluator) eval(e expr, sc *scope) (any, error) {
	v, err := ev.evalExpr(e, sc)
	if s, ok := v.(string); ok && err == nil {
		err = ev.charge(len(s), e.position())
	}
	return v, err
}

func (ev *evaluator) evalExpr(e expr, sc *scope) (any, error) {
	if err := ev.step(e.position()); err != nil {
		return nil, err
	}
	switch e := e.(type) {
	case *constExpr:
		return e.val, nil
	case *nameExpr:
		if v, ok := sc.lookup(e.name); ok {
			return v, nil
		}
		return Undefined{Name: e.name}, nil
	case *listExpr:
		out := make([]any, len(e.items))
		for i, it := range e.items {
			v, err := ev.eval(it, sc)
			if err != nil {
				return nil, err
			}
			out[i] = v
		}
		return out, nil
	case *dictExpr:
		d := NewDict()
		for i := range e.keys {
			k, err := ev.eval(e.keys[i], sc)
			if err != nil {
				return nil, err
			}
			if !hashable(k) {
				return nil, ev.errAt(e.keys[i].position(), "unhashable dict key of type '%s'", typeName(k))
			}
			v, err := ev.eval(e.vals[i], sc)
			if err != nil {
				return nil, err
			}
			d.Set(k, v)
		}
		return d, nil
	case *attrExpr:
		obj, err := ev.eval(e.obj, sc)
		if err != nil {
			return nil, err
		}
		return ev.getattr(obj, e.name, e.pos)
	case *indexExpr:
		obj, err := ev.eval(e.obj, sc)
		if err != nil {
			return nil, err
		}
		idx, err := ev.eval(e.idx, sc)
		if err != nil {
			return nil, err
		}
		return ev.getitem(obj, idx, e.pos)
	case *sliceExpr:
		return ev.evalSlice(e, sc)
	case *callExpr:
		return ev.evalCall(e, sc)
	case *filterExpr:
		v, err := ev.eval(e.target, sc)
		if err != nil {
			return nil, err
		}
		return ev.applyFilter(e, v, sc)
	case *testExpr:
		v, err := ev.eval(e.target, sc)
		if err != nil {
			return nil, err
		}
		args, err := ev.evalList(e.args, sc)
		if err != nil {
			return nil, err
		}
		r, err := ev.runTest(e.name, v, args, e.pos)
		if err != nil {
			return nil, err
		}
		return r != e.negate, nil
	case *binExpr:
		l, err := ev.eval(e.l, sc)
		if err != nil {
			return nil, err
		}
		switch e.op {
		case "and":
			if !truthy(l) {
				return l, nil
			}
			return ev.eval(e.r, sc)
		case "or":
			if truthy(l) {
				return l, nil
			}
			return ev.eval(e.r, sc)
		}
		r, err := ev.eval(e.r, sc)
		if err != nil {
			return nil, err
		}
		return ev.binop(e.op, l, r, e.pos)
	case *unaryExpr:
		x, err := ev.eval(e.x, sc)
		if err != nil {
			return nil, err
		}
		switch e.op {
		case "not":
			return !truthy(x), nil
		case "-":
			switch v := x.(type) {
			case int64:
				return -v, nil
			case float64:
				return -v, nil
			case bool:
				if v {
					return int64(-1), nil
				}
				return int64(0), nil
			}
		case "+":
			switch v := x.(type) {
			case int64, float64:
				return v, nil
			}
		}
		if u, ok := x.(Undefined); ok {
			return nil, ev.undefinedErr(u, e.pos)
		}
		return nil, ev.errAt(e.pos, "bad operand type for unary %s: '%s'", e.op, typeName(x))
	case *compareExpr:
		l, err := ev.eval(e.first, sc)
		if err != nil {
			return nil, err
		}
		for i, op := range e.ops {
			r, err := ev.eval(e.rest[i], sc)
			if err != nil {
				return nil, err
			}
			ok, err := ev.compare(op, l, r, e.pos)
			if err != nil || !ok {
				return false, err
			}
			l = r
		}
		return true, nil
	case *condExpr:
		c, err := ev.eval(e.cond, sc)
		if err != nil {
			return nil, err
		}
		if truthy(c) {
			return ev.eval(e.then, sc)
		}
		if e.else_ == nil {
			return Undefined{Name: "else"}, nil
		}
		return ev.eval(e.else_, sc)
	}
	return nil, ev.errAt(e.position(), "unknown expression %T", e)
}

func (ev *evaluator) evalList(es []expr, sc *scope) ([]any, error) {
	out := make([]any, len(es))
	for i, a := range es {
		v, err := ev.eval(a, sc)
		if err != nil {
			return nil, err
		}
		out[i] = v
	}
	return out, nil
}

func (ev *evaluator) evalKwargs(kws []kwarg, sc *scope) (*Dict, error) {
	d := NewDict()
	for _, kw := range kws {
		v, err := ev.eval(kw.val, sc)
		if err != nil {
			return nil, err
		}
		d.Set(kw.name, v)
	}
	return d, nil
}

func (ev *evaluator) undefinedErr(u Undefined, pos Pos) error {
	if u.Name == "" {
		return ev.errAt(pos, "value is undefined")
	}
	return ev.errAt(pos, "'%s' is undefined", u.Name)
}

// getattr is obj.name: methods and attributes first, then items (jinja2's order).
func (ev *evaluator) getattr(obj any, name string, pos Pos) (any, error) {
	switch x := obj.(type) {
	case Undefined:
		return nil, ev.undefinedErr(x, pos)
	case *Dict:
		if m := dictMethod(ev, x, name, pos); m != nil {
			return m, nil
		}
		if v, ok := x.Get(name); ok {
			return v, nil
		}
	case *Namespace:
		if v, ok := x.d.Get(name); ok {
			return v, nil
		}
	case *loopInfo:
		return x.attr(name), nil
	case []any:
		if m := listMethod(ev, x, name); m != nil {
			return m, nil
		}
	case string:
		if m := strMethod(ev, x, name, pos); m != nil {
			return m, nil
		}
	}
	return Undefined{Name: name}, nil
}

// getitem is obj[idx]: items first, then attributes for string keys.
func (ev *evaluator) getitem(obj, idx any, pos Pos) (any, error) {
	switch x := obj.(type) {
	case Undefined:
		return nil, ev.undefinedErr(x, pos)
	case *Dict:
		if hashable(idx) {
			if v, ok := x.Get(idx); ok {
				return v, nil
			}
		}
	case *Namespace:
		if v, ok := x.d.Get(idx); ok {
			return v, nil
		}
	case *loopInfo:
		if s, ok := idx.(string); ok {
			return x.attr(s), nil
		}
	case []any:
		if i, ok := intArg(idx); ok {
			if i < 0 {
				i += int64(len(x))
			}
			if i >= 0 && i < int64(len(x)) {
				return x[i], nil
			}
			return Undefined{Name: "item"}, nil
		}
	case string:
		if i, ok := intArg(idx); ok {
			rs := []rune(x)
			if i < 0 {
				i += int64(len(rs))
			}
			if i >= 0 && i < int64(len(rs)) {
				return string(rs[i]), nil
			}
			return Undefined{Name: "item"}, nil
		}
	}
	if s, ok := idx.(string); ok {
		return ev.getattr(obj, s, pos)
	}
	return Undefined{Name: "item"}, nil
}

func intArg(v any) (int64, bool) {
	switch x := v.(type) {
	case int64:
		return x, true
	case bool:
		if x {
			return 1, true
		}
		return 0, true
	}
	return 0, false
}

func (ev *evaluator) evalSlice(e *sliceExpr, sc *scope) (any, error) {
	obj, err := ev.eval(e.obj, sc)
	if err != nil {
		return nil, err
	}
	var bounds [3]*int64
	for i, x := range []expr{e.start, e.stop, e.step} {
		if x == nil {
			continue
		}
		v, err := ev.eval(x, sc)
		if err != nil {
			return nil, err
		}
		if v == nil {
			continue
		}
		n, ok := intArg(v)
		if !ok {
			return nil, ev.errAt(e.pos, "slice indices must be integers or None, not '%s'", typeName(v))
		}
		bounds[i] = &n
	}
	idx := func(n int) ([]int, error) {
		step := int64(1)
		if bounds[2] != nil {
			step = *bounds[2]
		}
		if step == 0 {
			return nil, ev.errAt(e.pos, "slice step cannot be zero")
		}
		ln := int64(n)
		norm := func(p *int64, def int64) int64 {
			if p == nil {
				return def
			}
			v := *p
			if v < 0 {
				v += ln
				if v < 0 {
					if step < 0 {
						return -1
					}
					return 0
				}
			}
			if v >= ln {
				if step < 0 {
					return ln - 1
				}
				return ln
			}
			return v
		}
		var out []int
		if step > 0 {
			for i := norm(bounds[0], 0); i < norm(bounds[1], ln); i += step {
				out = append(out, int(i))
			}
		} else {
			for i := norm(bounds[0], ln-1); i > norm(bounds[1], -1); i += step {
				out = append(out, int(i))
			}
		}
		return out, nil
	}
	switch x := obj.(type) {
	case []any:
		ix, err := idx(len(x))
		if err != nil {
			return nil, err
		}
		out := make([]any, len(ix))
		for i, j := range ix {
			out[i] = x[j]
		}
		return out, nil
	case string:
		rs := []rune(x)
		ix, err := idx(len(rs))
		if err != nil {
			return nil, err
		}
		out := make([]rune, len(ix))
		for i, j := range ix {
			out[i] = rs[j]
		}
		return string(out), nil
	case Undefined:
		return nil, ev.undefinedErr(x, e.pos)
	}
	return nil, ev.errAt(e.pos, "'%s' object is not subscriptable", typeName(obj))
}

func (ev *evaluator) evalCall(e *callExpr, sc *scope) (any, error) {
	fn, err := ev.eval(e.fn, sc)
	if err != nil {
		return nil, err
	}
	args, err := ev.evalList(e.args, sc)
	if err != nil {
		return nil, err
	}
	kwargs, err := ev.evalKwargs(e.kwargs, sc)
	if err != nil {
		return nil, err
	}
	switch f := fn.(type) {
	case *Func:
		v, err := f.Fn(args, kwargs)
		if err != nil {
			var re *RaisedError
			var je *Error
			switch {
			case asRaised(err, &re):
				if re.Pos.Line == 0 {
					re.Pos = e.pos
				}
			case asError(err, &je):
				if je.Pos.Line == 0 {
					je.Pos = e.pos
				}
			default:
				return nil, ev.errAt(e.pos, "%s(): %v", f.Name, err)
			}
		}
		return v, err
	case *macro:
		return f.call(args, kwargs, e.pos)
	case Undefined:
		return nil, ev.undefinedErr(f, e.pos)
	}
	return nil, ev.errAt(e.pos, "'%s' object is not callable", typeName(fn))
}

func (ev *evaluator) binop(op string, l, r any, pos Pos) (any, error) {
	if op == "~" {
		return ev.checkLen(toStr(l)+toStr(r), pos)
	}
	if f, ok := l.(string); ok && op == "%" && !strings.Contains(f, "%") {
		if _, ok := r.(Undefined); ok { // Undefined passes for a mapping argument, as in Python
			return f, nil
		}
	}
	if u, ok := l.(Undefined); ok {
		return nil, ev.undefinedErr(u, pos)
	}
	if u, ok := r.(Undefined); ok {
		return nil, ev.undefinedErr(u, pos)
	}
	switch op {
	case "+":
		switch x := l.(type) {
		case string:
			if y, ok := r.(string); ok {
				return ev.checkLen(x+y, pos)
			}
		case []any:
			if y, ok := r.([]any); ok {
				if len(x)+len(y) > ev.lim.MaxOutput/16 {
					return nil, ev.errAt(pos, "list too long")
				}
				if err := ev.charge((len(x)+len(y))*listItemBytes, pos); err != nil {
					return nil, err
				}
				return append(append([]any{}, x...), y...), nil
			}
		}
	case "%":
		if f, ok := l.(string); ok {
			return pyPercent(f, r, ev, pos)
		}
	case "*":
		s, n, ok := seqTimes(l, r)
		if ok {
			if n <= 0 {
				n = 0
			}
			switch x := s.(type) {
			case string:
				if int64(len(x))*n > int64(ev.lim.MaxOutput) {
					return nil, ev.errAt(pos, "repeated string exceeds %d bytes", ev.lim.MaxOutput)
				}
				// Counted before it is built: the result is counted again when returned.
				if err := ev.charge(len(x)*int(n), pos); err != nil {
					return nil, err
				}
				return strings.Repeat(x, int(n)), nil
			case []any:
				if int64(len(x))*n > int64(ev.lim.MaxOutput/16) {
					return nil, ev.errAt(pos, "repeated list is too long")
				}
				if err := ev.charge(len(x)*int(n)*listItemBytes, pos); err != nil {
					return nil, err
				}
				out := make([]any, 0, len(x)*int(n))
				for i := int64(0); i < n; i++ {
					out = append(out, x...)
				}
				return out, nil
			}
		}
	}
	a, aok := number(l)
	b, bok := number(r)
	if !aok || !bok {
		return nil, ev.errAt(pos, "unsupported operand type(s) for %s: '%s' and '%s'", op, typeName(l), typeName(r))
	}
	_, lf := l.(float64)
	_, rf := r.(float64)
	isInt := !lf && !rf
	ai, bi := int64(a), int64(b)
	if isInt {
		ai, _ = intArg(l)
		bi, _ = intArg(r)
	}
	switch op {
	case "+":
		if isInt {
			return ai + bi, nil
		}
		return a + b, nil
	case "-":
		if isInt {
			return ai - bi, nil
		}
		return a - b, nil
	case "*":
		if isInt {
			return ai * bi, nil
		}
		return a * b, nil
	case "/":
		if b == 0 {
			return nil, ev.errAt(pos, "division by zero")
		}
		return a / b, nil
	case "//":
		if b == 0 {
			return nil, ev.errAt(pos, "integer division or modulo by zero")
		}
		if isInt {
			q := ai / bi
			if (ai%bi != 0) && ((ai < 0) != (bi < 0)) {
				q--
			}
			return q, nil
		}
		return math.Floor(a / b), nil
	case "%":
		if b == 0 {
			return nil, ev.errAt(pos, "integer division or modulo by zero")
		}
		if isInt {
			m := ai % bi
			if m != 0 && (m < 0) != (bi < 0) {
				m += bi
			}
			return m, nil
		}
		m := math.Mod(a, b)
		if m != 0 && (m < 0) != (b < 0) {
			m += b
		}
		return m, nil
	case "**":
		if isInt && bi >= 0 {
			res := int64(1)
			for i := int64(0); i < bi; i++ {
				res *= ai
				if i > 64 && (ai > 1 || ai < -1) {
					return math.Pow(a, b), nil
				}
			}
			return res, nil
		}
		return math.Pow(a, b), nil
	}
	return nil, ev.errAt(pos, "unknown operator %s", op)
}

func (ev *evaluator) checkLen(s string, pos Pos) (any, error) {
	if len(s) > ev.lim.MaxOutput {
		return nil, ev.errAt(pos, "string exceeds %d bytes", ev.lim.MaxOutput)
	}
	return s, nil
}

func seqTimes(l, r any) (any, int64, bool) {
	if n, ok := intArg(r); ok {
		switch l.(type) {
		case string, []any:
			return l, n, true
		}
	}
	if n, ok := intArg(l); ok {
		switch r.(type) {
		case string, []any:
			return r, n, true
		}
	}
	return nil, 0, false
}

func (ev *evaluator) compare(op string, l, r any, pos Pos) (bool, error) {
	switch op {
	case "==":
		return equal(l, r), nil
	case "!=":
		return !equal(l, r), nil
	case "in", "not in":
		in, err := ev.contains(r, l, pos)
		return in == (op == "in"), err
	}
	c, err := ev.order(l, r, op, pos)
	if err != nil {
		return false, err
	}
	switch op {
	case "<":
		return c < 0, nil
	case "<=":
		return c <= 0, nil
	case ">":
		return c > 0, nil
	}
	return c >= 0, nil
}

// order compares like Python's < for numbers, strings and lists.
func (ev *evaluator) order(l, r any, op string, pos Pos) (int, error) {
	return ev.orderDepth(l, r, op, pos, 0)
}

func (ev *evaluator) orderDepth(l, r any, op string, pos Pos, depth int) (int, error) {
	if depth > maxValueDepth {
		return 0, ev.errAt(pos, "values nested too deeply to compare")
	}
	if a, ok := number(l); ok {
		if b, ok := number(r); ok {
			switch {
			case a < b:
				return -1, nil
			case a > b:
				return 1, nil
			}
			return 0, nil
		}
	}
	if a, ok := l.(string); ok {
		if b, ok := r.(string); ok {
			return strings.Compare(a, b), nil
		}
	}
	if a, ok := l.([]any); ok {
		if b, ok := r.([]any); ok {
			for i := 0; i < len(a) && i < len(b); i++ {
				if equal(a[i], b[i]) {
					continue
				}
				return ev.orderDepth(a[i], b[i], op, pos, depth+1)
			}
			return len(a) - len(b), nil
		}
	}
	if u, ok := l.(Undefined); ok {
		return 0, ev.undefinedErr(u, pos)
	}
	if u, ok := r.(Undefined); ok {
		return 0, ev.undefinedErr(u, pos)
	}
	return 0, ev.errAt(pos, "'%s' not supported between instances of '%s' and '%s'", op, typeName(l), typeName(r))
}

func (ev *evaluator) contains(container, item any, pos Pos) (bool, error) {
	switch c := container.(type) {
	case string:
		s, ok := item.(string)
		if !ok {
			return false, ev.errAt(pos, "'in <string>' requires string as left operand, not %s", typeName(item))
		}
		return strings.Contains(c, s), nil
	case []any:
		for _, x := range c {
			if equal(x, item) {
				return true, nil
			}
		}
		return false, nil
	case *Dict:
		if !hashable(item) {
			return false, ev.errAt(pos, "unhashable type: '%s'", typeName(item))
		}
		_, ok := c.Get(item)
		return ok, nil
	case *Namespace:
		_, ok := c.d.Get(item)
		return ok, nil
	case Undefined:
		return false, nil
	}
	return false, ev.errAt(pos, "argument of type '%s' is not iterable", typeName(container))
}

// pyPercent is the part of Python's printf-style str % args that templates meet: %s, %d, %r
// and %% with one value or a tuple (list) of values.
func pyPercent(f string, r any, ev *evaluator, pos Pos) (any, error) {
	if !strings.Contains(f, "%") {
		switch r.(type) {
		case []any:
			if l := r.([]any); len(l) > 0 {
				return f, nil // Python treats a non-tuple sequence as a mapping argument
			}
			return f, nil
		case *Dict:
			return f, nil
		}
		return nil, ev.errAt(pos, "not all arguments converted during string formatting")
	}
	args, isList := r.([]any)
	if !isList {
		args = []any{r}
	}
	var b strings.Builder
	k := 0
	for i := 0; i < len(f); i++ {
		if f[i] != '%' {
			b.WriteByte(f[i])
			continue
		}
		if i+1 >= len(f) {
			return nil, ev.errAt(pos, "incomplete format")
		}
		i++
		if f[i] == '%' {
			b.WriteByte('%')
			continue
		}
		if k >= len(args) {
			return nil, ev.errAt(pos, "not enough arguments for format string")
		}
		switch f[i] {
		case 's':
			b.WriteString(toStr(args[k]))
		case 'r':
			b.WriteString(repr(args[k]))
		case 'd', 'i':
			n, ok := number(args[k])
			if !ok {
				return nil, ev.errAt(pos, "%%d format: a real number is required, not %s", typeName(args[k]))
			}
			b.WriteString(strconv.FormatInt(int64(n), 10))
		default:
			return nil, ev.errAt(pos, "unsupported format character '%c'", f[i])
		}
		k++
	}
	if k < len(args) {
		return nil, ev.errAt(pos, "not all arguments converted during string formatting")
	}
	return ev.checkLen(b.String(), pos)
}
