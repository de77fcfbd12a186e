package jinja

import (
	"errors"
	"fmt"
	"strings"
)

// Limits bound the work one Render may do, so that no template — however hostile — hangs or
// exhausts memory. Zero fields take the defaults.
type Limits struct {
	MaxSteps  int // evaluation steps (nodes and expressions); default 2,000,000
	MaxDepth  int // nested macro calls; default 100
	MaxOutput int // bytes of rendered text and of any one string (lists: MaxOutput/16 items); default 8 MiB
	// MaxWork bounds the bytes of strings a render handles, all together: every string an
	// expression yields and every piece of output counts, so that a loop that builds big
	// strings ends in bounded time and memory however few steps it takes; default
	// 16 × MaxOutput.
	MaxWork int
}

// The defaults are far above what a chat template needs (a prompt of a million tokens is
// about 4 MiB; a template spends tens of steps per message) and low enough that any template
// ends within seconds.
func (l Limits) withDefaults() Limits {
	if l.MaxSteps <= 0 {
		l.MaxSteps = 2_000_000
	}
	if l.MaxDepth <= 0 {
		l.MaxDepth = 100
	}
	if l.MaxOutput <= 0 {
		l.MaxOutput = 8 << 20
	}
	if l.MaxWork <= 0 {
		l.MaxWork = 16 * l.MaxOutput
	}
	return l
}

// Template is a parsed template, safe to render concurrently.
type Template struct {
	name   string
	nodes  []node
	Limits Limits
}

// Parse compiles src. name (for example "tokenizer_config.json") prefixes error messages.
func Parse(name, src string, opts Options) (t *Template, err error) {
	defer func() {
		if r := recover(); r != nil { // a parser bug must not take the program down
			t, err = nil, fmt.Errorf("%s: internal error while parsing template: %v", name, r)
		}
	}()
	toks, err := lex(src, opts)
	if err == nil {
		var nodes []node
		if nodes, err = parse(toks); err == nil {
			return &Template{name: name, nodes: nodes}, nil
		}
	}
	var je *Error
	if errors.As(err, &je) {
		je.Name = name
	}
	return nil, err
}

// RaisedError is the error of a template that called raise_exception(message).
type RaisedError struct {
	Name    string
	Pos     Pos
	Message string
}

func (e *RaisedError) Error() string {
	return fmt.Sprintf("%s: %s: template raised an exception: %s", e.Name, e.Pos, e.Message)
}

var (
	errBreak    = errors.New("break")
	errContinue = errors.New("continue")
)

type scope struct {
	vars   map[string]any
	parent *scope
}

func newScope(parent *scope) *scope { return &scope{vars: map[string]any{}, parent: parent} }

func (s *scope) lookup(name string) (any, bool) {
	for ; s != nil; s = s.parent {
		if v, ok := s.vars[name]; ok {
			return v, true
		}
	}
	return nil, false
}

type macro struct {
	node    *macroNode
	closure *scope
	ev      *evaluator
}

type evaluator struct {
	name  string
	lim   Limits
	steps int
	depth int
	work  int // bytes of strings handled so far (Limits.MaxWork)
}

func (ev *evaluator) errAt(pos Pos, format string, args ...any) error {
	return &Error{Name: ev.name, Pos: pos, Msg: fmt.Sprintf(format, args...)}
}

func (ev *evaluator) step(pos Pos) error {
	ev.steps++
	if ev.steps > ev.lim.MaxSteps {
		return ev.errAt(pos, "template exceeded %d evaluation steps", ev.lim.MaxSteps)
	}
	return nil
}

// charge counts n bytes of work: strings handled, and lists built (listItemBytes an item).
func (ev *evaluator) charge(n int, pos Pos) error {
	ev.work += n
	if ev.work > ev.lim.MaxWork {
		return ev.errAt(pos, "template handled more than %d bytes of strings and lists", ev.lim.MaxWork)
	}
	return nil
}

// listItemBytes is what one list item costs in memory (an interface value).
const listItemBytes = 16

// Render renders the template with the given variables (converted with FromGo).
func (t *Template) Render(vars map[string]any) (string, error) {
	d := NewDict()
	for k, v := range vars {
		d.Set(k, FromGo(v))
	}
	return t.RenderDict(d)
}

// RenderDict renders with variables given as an ordered Dict with string keys.
func (t *Template) RenderDict(vars *Dict) (out string, err error) {
	ev := &evaluator{name: t.name, lim: t.Limits.withDefaults()}
	defer func() {
		if r := recover(); r != nil {
			out, err = "", fmt.Errorf("%s: internal error while rendering template: %v", t.name, r)
		}
	}()
	root := newScope(ev.globals())
	for _, k := range vars.keys {
		if s, ok := k.(string); ok {
			root.vars[s] = vars.m[k]
		}
	}
	var b strings.Builder
	if err := ev.exec(t.nodes, root, &b); err != nil {
		if err == errBreak || err == errContinue {
			return "", ev.errAt(Pos{}, "'break' or 'continue' outside a loop")
		}
		return "", err
	}
	return b.String(), nil
}

func (ev *evaluator) write(b *strings.Builder, s string, pos Pos) error {
	if b.Len()+len(s) > ev.lim.MaxOutput {
		return ev.errAt(pos, "rendered text exceeds %d bytes", ev.lim.MaxOutput)
	}
	if err := ev.charge(len(s), pos); err != nil {
		return err
	}
	b.WriteString(s)
	return nil
}

func (ev *evaluator) exec(nodes []node, sc *scope, b *strings.Builder) error {
	for _, n := range nodes {
		if err := ev.execOne(n, sc, b); err != nil {
			return err
		}
	}
	return nil
}

func (ev *evaluator) execOne(n node, sc *scope, b *strings.Builder) error {
	if err := ev.step(Pos{}); err != nil {
		return err
	}
	switch n := n.(type) {
	case *textNode:
		return ev.write(b, n.text, Pos{})
	case *printNode:
		v, err := ev.eval(n.expr, sc)
		if err != nil {
			return err
		}
		return ev.write(b, toStr(v), n.pos)
	case *ifNode:
		for i, c := range n.conds {
			v, err := ev.eval(c, sc)
			if err != nil {
				return err
			}
			if truthy(v) {
				return ev.exec(n.bodies[i], sc, b)
			}
		}
		return ev.exec(n.orelse, sc, b)
	case *forNode:
		return ev.execFor(n, sc, b)
	case *setNode:
		return ev.execSet(n, sc)
	case *macroNode:
		sc.vars[n.name] = &macro{node: n, closure: sc, ev: ev}
		return nil
	case *breakNode:
		return errBreak
	case *continueNode:
		return errContinue
	case *filterBlock:
		var inner strings.Builder
		if err := ev.exec(n.body, sc, &inner); err != nil {
			return err
		}
		var v any = inner.String()
		for _, f := range n.filters {
			var err error
			if v, err = ev.applyFilter(f, v, sc); err != nil {
				return err
			}
		}
		return ev.write(b, toStr(v), n.pos)
	}
	return fmt.Errorf("unknown node %T", n)
}

// iterate lists the items a for loop or filter walks over.
func (ev *evaluator) iterate(v any, pos Pos) ([]any, error) {
	switch x := v.(type) {
	case []any:
		return x, nil
	case *Dict:
		return append([]any(nil), x.keys...), nil
	case string:
		out := make([]any, 0, len(x))
		for _, r := range x {
			out = append(out, string(r))
		}
		return out, nil
	case Undefined:
		return nil, nil
	}
	return nil, ev.errAt(pos, "'%s' object is not iterable", typeName(v))
}

func (ev *evaluator) execFor(n *forNode, sc *scope, b *strings.Builder) error {
	v, err := ev.eval(n.iter, sc)
	if err != nil {
		return err
	}
	items, err := ev.iterate(v, n.iter.position())
	if err != nil {
		return err
	}
	bind := func(s *scope, item any) error {
		if len(n.targets) == 1 {
			s.vars[n.targets[0]] = item
			return nil
		}
		parts, err := ev.iterate(item, n.pos)
		if err != nil {
			return err
		}
		if len(parts) != len(n.targets) {
			return ev.errAt(n.pos, "cannot unpack %d values into %d loop variables", len(parts), len(n.targets))
		}
		for i, t := range n.targets {
			s.vars[t] = parts[i]
		}
		return nil
	}
	if n.cond != nil {
		kept := items[:0:0]
		for _, it := range items {
			s := newScope(sc)
			if err := bind(s, it); err != nil {
				return err
			}
			c, err := ev.eval(n.cond, s)
			if err != nil {
				return err
			}
			if truthy(c) {
				kept = append(kept, it)
			}
		}
		items = kept
	}
	if len(items) == 0 {
		return ev.exec(n.orelse, sc, b)
	}
	for i, it := range items {
		if err := ev.step(n.pos); err != nil {
			return err
		}
		s := newScope(sc)
		if err := bind(s, it); err != nil {
			return err
		}
		loop := &loopInfo{i: i, items: items, pos: n.pos, ev: ev}
		s.vars["loop"] = loop
		err := ev.exec(n.body, s, b)
		if err == errBreak {
			break
		}
		if err != nil && err != errContinue {
			return err
		}
	}
	return nil
}

func (ev *evaluator) execSet(n *setNode, sc *scope) error {
	var v any
	if n.value != nil {
		var err error
		if v, err = ev.eval(n.value, sc); err != nil {
			return err
		}
	} else {
		var inner strings.Builder
		if err := ev.exec(n.body, sc, &inner); err != nil {
			return err
		}
		v = inner.String()
	}
	if n.attr != "" {
		obj, _ := sc.lookup(n.targets[0])
		ns, ok := obj.(*Namespace)
		if !ok {
			return ev.errAt(n.pos, "cannot assign attribute '%s' on '%s': only namespace objects can be changed", n.attr, n.targets[0])
		}
		ns.d.Set(n.attr, v)
		return nil
	}
	if len(n.targets) == 1 {
		sc.vars[n.targets[0]] = v
		return nil
	}
	parts, err := ev.iterate(v, n.pos)
	if err != nil {
		return err
	}
	if len(parts) != len(n.targets) {
		return ev.errAt(n.pos, "cannot unpack %d values into %d names", len(parts), len(n.targets))
	}
	for i, t := range n.targets {
		sc.vars[t] = parts[i]
	}
	return nil
}

func (m *macro) call(args []any, kwargs *Dict, pos Pos) (any, error) {
	ev := m.ev
	if ev.depth >= ev.lim.MaxDepth {
		return nil, ev.errAt(pos, "macro calls nested deeper than %d", ev.lim.MaxDepth)
	}
	ev.depth++
	defer func() { ev.depth-- }()
	n := m.node
	if len(args) > len(n.params) {
		return nil, ev.errAt(pos, "macro '%s' takes %d arguments, got %d", n.name, len(n.params), len(args))
	}
	s := newScope(m.closure)
	for i, p := range n.params {
		switch {
		case i < len(args):
			s.vars[p] = args[i]
		default:
			if v, ok := kwargs.Get(p); ok {
				s.vars[p] = v
			} else if n.defaults[i] != nil {
				v, err := ev.eval(n.defaults[i], s)
				if err != nil {
					return nil, err
				}
				s.vars[p] = v
			} else {
				s.vars[p] = Undefined{Name: p}
			}
		}
	}
	for _, k := range kwargs.keys {
		if ks, _ := k.(string); !contains(n.params, ks) {
			return nil, ev.errAt(pos, "macro '%s' has no argument '%v'", n.name, k)
		}
	}
	var b strings.Builder
	if err := ev.exec(n.body, s, &b); err != nil {
		return nil, err
	}
	return b.String(), nil
}

func contains(xs []string, s string) bool {
	for _, x := range xs {
		if x == s {
			return true
		}
	}
	return false
}

// loopInfo is the `loop` variable of a for loop; its attributes are computed on access.
type loopInfo struct {
	i     int
	items []any
	pos   Pos
	ev    *evaluator
}

func (l *loopInfo) attr(name string) any {
	i, n := int64(l.i), int64(len(l.items))
	switch name {
	case "index":
		return i + 1
	case "index0":
		return i
	case "revindex":
		return n - i
	case "revindex0":
		return n - i - 1
	case "first":
		return i == 0
	case "last":
		return i == n-1
	case "length":
		return n
	case "depth":
		return int64(1)
	case "depth0":
		return int64(0)
	case "previtem":
		if i > 0 {
			return l.items[i-1]
		}
	case "nextitem":
		if i+1 < n {
			return l.items[i+1]
		}
	case "cycle":
		return &Func{Name: "cycle", Fn: func(args []any, _ *Dict) (any, error) {
			if len(args) == 0 {
				return nil, argErr("loop.cycle() needs at least one argument")
			}
			return args[l.i%len(args)], nil
		}}
	}
	return Undefined{Name: name}
}
