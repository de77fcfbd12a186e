package jinja

import (
	"fmt"
	"strconv"
	"strings"
)

// Error is a template error with the position it was found at (zero Pos when unknown).
type Error struct {
	Name string // the file or template name
	Pos  Pos
	Msg  string
}

func (e *Error) Error() string {
	s := e.Msg
	if e.Pos.Line != 0 {
		s = e.Pos.String() + ": " + s
	}
	if e.Name != "" {
		s = e.Name + ": " + s
	}
	return s
}

// ---- AST ----

type node interface{}

type (
	textNode  struct{ text string }
	printNode struct {
		pos  Pos
		expr expr
	}
	ifNode struct {
		conds  []expr
		bodies [][]node
		orelse []node
	}
	forNode struct {
		pos     Pos
		targets []string
		iter    expr
		cond    expr
		body    []node
		orelse  []node
	}
	setNode struct {
		pos     Pos
		targets []string // one name, or several for tuple unpacking
		attr    string   // set ns.attr = ...: targets[0] is the namespace
		value   expr     // nil for a block set
		body    []node
	}
	macroNode struct {
		pos      Pos
		name     string
		params   []string
		defaults []expr // aligned with params; nil when required
		body     []node
	}
	breakNode    struct{ pos Pos }
	continueNode struct{ pos Pos }
	filterBlock  struct {
		pos     Pos
		filters []*filterExpr // applied in order; their target is nil
		body    []node
	}
)

type expr interface{ position() Pos }

type (
	constExpr struct {
		pos Pos
		val any
	}
	nameExpr struct {
		pos  Pos
		name string
	}
	listExpr struct {
		pos   Pos
		items []expr
	}
	dictExpr struct {
		pos        Pos
		keys, vals []expr
	}
	attrExpr struct {
		pos  Pos
		obj  expr
		name string
	}
	indexExpr struct {
		pos      Pos
		obj, idx expr
	}
	sliceExpr struct {
		pos               Pos
		obj               expr
		start, stop, step expr
	}
	callExpr struct {
		pos    Pos
		fn     expr
		args   []expr
		kwargs []kwarg
	}
	filterExpr struct {
		pos    Pos
		target expr
		name   string
		args   []expr
		kwargs []kwarg
	}
	testExpr struct {
		pos    Pos
		target expr
		name   string
		args   []expr
		negate bool
	}
	binExpr struct {
		pos  Pos
		op   string
		l, r expr
	}
	unaryExpr struct {
		pos Pos
		op  string
		x   expr
	}
	compareExpr struct {
		pos   Pos
		first expr
		ops   []string
		rest  []expr
	}
	condExpr struct {
		pos               Pos
		cond, then, else_ expr
	}
)

type kwarg struct {
	name string
	val  expr
}

func (e *constExpr) position() Pos   { return e.pos }
func (e *nameExpr) position() Pos    { return e.pos }
func (e *listExpr) position() Pos    { return e.pos }
func (e *dictExpr) position() Pos    { return e.pos }
func (e *attrExpr) position() Pos    { return e.pos }
func (e *indexExpr) position() Pos   { return e.pos }
func (e *sliceExpr) position() Pos   { return e.pos }
func (e *callExpr) position() Pos    { return e.pos }
func (e *filterExpr) position() Pos  { return e.pos }
func (e *testExpr) position() Pos    { return e.pos }
func (e *binExpr) position() Pos     { return e.pos }
func (e *unaryExpr) position() Pos   { return e.pos }
func (e *compareExpr) position() Pos { return e.pos }
func (e *condExpr) position() Pos    { return e.pos }

// ---- parser ----

const maxParseDepth = 200

type parser struct {
	toks  []token
	i     int
	depth int
}

func (p *parser) peek() token {
	if p.i < len(p.toks) {
		return p.toks[p.i]
	}
	var pos Pos
	if len(p.toks) > 0 {
		pos = p.toks[len(p.toks)-1].pos
	}
	return token{kind: tEOF, pos: pos}
}

func (p *parser) peekAt(k int) token {
	if p.i+k < len(p.toks) {
		return p.toks[p.i+k]
	}
	return token{kind: tEOF}
}

func (p *parser) next() token {
	t := p.peek()
	if p.i < len(p.toks) {
		p.i++
	}
	return t
}

func (p *parser) errf(t token, format string, args ...any) error {
	return &Error{Pos: t.pos, Msg: fmt.Sprintf(format, args...)}
}

func (p *parser) isOp(v string) bool {
	t := p.peek()
	return t.kind == tOp && t.val == v
}

func (p *parser) isName(v string) bool {
	t := p.peek()
	return t.kind == tName && t.val == v
}

func (p *parser) expectOp(v string) (token, error) {
	t := p.next()
	if t.kind != tOp || t.val != v {
		return t, p.errf(t, "expected '%s', found %s", v, t.describe())
	}
	return t, nil
}

func (p *parser) expectKind(k tokKind) (token, error) {
	t := p.next()
	if t.kind != k {
		return t, p.errf(t, "expected %s, found %s", k, t.describe())
	}
	return t, nil
}

func (p *parser) expectName() (token, error) { return p.expectKind(tName) }

func parse(toks []token) ([]node, error) {
	p := &parser{toks: toks}
	body, end, err := p.body(nil)
	if err != nil {
		return nil, err
	}
	if end.kind != tEOF {
		return nil, p.errf(end, "unexpected '%s' tag", end.val)
	}
	return body, nil
}

// body parses nodes until a block tag whose keyword is in stops (returned, positioned after
// the keyword) or the end of the template.
func (p *parser) body(stops []string) ([]node, token, error) {
	p.depth++
	defer func() { p.depth-- }()
	if p.depth > maxParseDepth {
		return nil, p.peek(), p.errf(p.peek(), "blocks are nested too deeply")
	}
	var out []node
	for {
		t := p.next()
		switch t.kind {
		case tEOF:
			if len(stops) > 0 {
				return nil, t, p.errf(t, "unexpected end of template: expected '{%% %s %%}'", strings.Join(stops, "' or '{% "))
			}
			return out, t, nil
		case tData:
			out = append(out, &textNode{text: t.val})
		case tVarBegin:
			e, err := p.expr()
			if err != nil {
				return nil, t, err
			}
			if _, err := p.expectKind(tVarEnd); err != nil {
				return nil, t, err
			}
			out = append(out, &printNode{pos: t.pos, expr: e})
		case tBlockBegin:
			kw, err := p.expectName()
			if err != nil {
				return nil, t, err
			}
			for _, s := range stops {
				if kw.val == s {
					return out, kw, nil
				}
			}
			n, err := p.statement(kw)
			if err != nil {
				return nil, t, err
			}
			if n != nil {
				out = append(out, n)
			}
		default:
			return nil, t, p.errf(t, "unexpected %s", t.describe())
		}
	}
}

func (p *parser) endTag() error {
	_, err := p.expectKind(tBlockEnd)
	return err
}

func (p *parser) statement(kw token) (node, error) {
	switch kw.val {
	case "if":
		return p.ifStmt()
	case "for":
		return p.forStmt(kw)
	case "set":
		return p.setStmt(kw)
	case "macro":
		return p.macroStmt(kw)
	case "break":
		return &breakNode{pos: kw.pos}, p.endTag()
	case "continue":
		return &continueNode{pos: kw.pos}, p.endTag()
	case "generation":
		// transformers' AssistantTracker tag: marks assistant text, renders its body unchanged.
		if err := p.endTag(); err != nil {
			return nil, err
		}
		body, _, err := p.body([]string{"endgeneration"})
		if err != nil {
			return nil, err
		}
		return &ifNode{conds: []expr{&constExpr{val: true}}, bodies: [][]node{body}}, p.endTag()
	case "filter":
		return p.filterStmt(kw)
	}
	return nil, p.errf(kw, "unknown tag '%s'", kw.val)
}

func (p *parser) ifStmt() (node, error) {
	n := &ifNode{}
	cond, err := p.expr()
	if err != nil {
		return nil, err
	}
	for {
		if err := p.endTag(); err != nil {
			return nil, err
		}
		body, end, err := p.body([]string{"elif", "else", "endif"})
		if err != nil {
			return nil, err
		}
		n.conds = append(n.conds, cond)
		n.bodies = append(n.bodies, body)
		switch end.val {
		case "elif":
			if cond, err = p.expr(); err != nil {
				return nil, err
			}
			continue
		case "else":
			if err := p.endTag(); err != nil {
				return nil, err
			}
			if n.orelse, _, err = p.body([]string{"endif"}); err != nil {
				return nil, err
			}
		}
		return n, p.endTag()
	}
}

func (p *parser) forStmt(kw token) (node, error) {
	n := &forNode{pos: kw.pos}
	for {
		t, err := p.expectName()
		if err != nil {
			return nil, err
		}
		n.targets = append(n.targets, t.val)
		if !p.isOp(",") {
			break
		}
		p.next()
	}
	if t := p.next(); t.kind != tName || t.val != "in" {
		return nil, p.errf(t, "expected 'in' in for loop, found %s", t.describe())
	}
	var err error
	if n.iter, err = p.orExpr(); err != nil { // no conditional expression: 'if' filters the loop
		return nil, err
	}
	if p.isName("if") {
		p.next()
		if n.cond, err = p.expr(); err != nil {
			return nil, err
		}
	}
	if p.isName("recursive") {
		return nil, p.errf(p.peek(), "recursive for loops are not supported")
	}
	if err := p.endTag(); err != nil {
		return nil, err
	}
	body, end, err := p.body([]string{"else", "endfor"})
	if err != nil {
		return nil, err
	}
	n.body = body
	if end.val == "else" {
		if err := p.endTag(); err != nil {
			return nil, err
		}
		if n.orelse, _, err = p.body([]string{"endfor"}); err != nil {
			return nil, err
		}
	}
	return n, p.endTag()
}

func (p *parser) setStmt(kw token) (node, error) {
	n := &setNode{pos: kw.pos}
	t, err := p.expectName()
	if err != nil {
		return nil, err
	}
	n.targets = []string{t.val}
	if p.isOp(".") {
		p.next()
		a, err := p.expectName()
		if err != nil {
			return nil, err
		}
		n.attr = a.val
	} else {
		for p.isOp(",") {
			p.next()
			t, err := p.expectName()
			if err != nil {
				return nil, err
			}
			n.targets = append(n.targets, t.val)
		}
	}
	if p.peek().kind == tBlockEnd && n.attr == "" && len(n.targets) == 1 {
		p.next()
		body, _, err := p.body([]string{"endset"})
		if err != nil {
			return nil, err
		}
		n.body = body
		return n, p.endTag()
	}
	if _, err := p.expectOp("="); err != nil {
		return nil, err
	}
	if n.value, err = p.tupleExpr(); err != nil {
		return nil, err
	}
	return n, p.endTag()
}

func (p *parser) macroStmt(kw token) (node, error) {
	name, err := p.expectName()
	if err != nil {
		return nil, err
	}
	n := &macroNode{pos: kw.pos, name: name.val}
	if _, err := p.expectOp("("); err != nil {
		return nil, err
	}
	for !p.isOp(")") {
		if len(n.params) > 0 {
			if _, err := p.expectOp(","); err != nil {
				return nil, err
			}
			if p.isOp(")") {
				break
			}
		}
		a, err := p.expectName()
		if err != nil {
			return nil, err
		}
		var def expr
		if p.isOp("=") {
			p.next()
			if def, err = p.expr(); err != nil {
				return nil, err
			}
		}
		n.params = append(n.params, a.val)
		n.defaults = append(n.defaults, def)
	}
	p.next()
	if err := p.endTag(); err != nil {
		return nil, err
	}
	if n.body, _, err = p.body([]string{"endmacro"}); err != nil {
		return nil, err
	}
	return n, p.endTag()
}

func (p *parser) filterStmt(kw token) (node, error) {
	n := &filterBlock{pos: kw.pos}
	for {
		f, err := p.filterCall(nil)
		if err != nil {
			return nil, err
		}
		n.filters = append(n.filters, f)
		if !p.isOp("|") {
			break
		}
		p.next()
	}
	if err := p.endTag(); err != nil {
		return nil, err
	}
	var err error
	if n.body, _, err = p.body([]string{"endfilter"}); err != nil {
		return nil, err
	}
	return n, p.endTag()
}

// ---- expressions, with jinja2's precedence ----

func (p *parser) enter() error {
	p.depth++
	if p.depth > maxParseDepth {
		return p.errf(p.peek(), "expression is nested too deeply")
	}
	return nil
}

// tupleExpr parses "a, b" (an implicit tuple) as a list; a single expression stays itself.
func (p *parser) tupleExpr() (expr, error) {
	pos := p.peek().pos
	first, err := p.expr()
	if err != nil {
		return nil, err
	}
	if !p.isOp(",") {
		return first, nil
	}
	items := []expr{first}
	for p.isOp(",") {
		p.next()
		if p.peek().kind == tBlockEnd || p.peek().kind == tVarEnd {
			break
		}
		e, err := p.expr()
		if err != nil {
			return nil, err
		}
		items = append(items, e)
	}
	return &listExpr{pos: pos, items: items}, nil
}

func (p *parser) expr() (expr, error) {
	if err := p.enter(); err != nil {
		return nil, err
	}
	defer func() { p.depth-- }()
	e, err := p.orExpr()
	if err != nil {
		return nil, err
	}
	for p.isName("if") {
		t := p.next()
		cond, err := p.orExpr()
		if err != nil {
			return nil, err
		}
		var other expr
		if p.isName("else") {
			p.next()
			if other, err = p.expr(); err != nil {
				return nil, err
			}
		}
		e = &condExpr{pos: t.pos, cond: cond, then: e, else_: other}
	}
	return e, nil
}

func (p *parser) orExpr() (expr, error) {
	l, err := p.andExpr()
	for err == nil && p.isName("or") {
		t := p.next()
		var r expr
		if r, err = p.andExpr(); err == nil {
			l = &binExpr{pos: t.pos, op: "or", l: l, r: r}
		}
	}
	return l, err
}

func (p *parser) andExpr() (expr, error) {
	l, err := p.notExpr()
	for err == nil && p.isName("and") {
		t := p.next()
		var r expr
		if r, err = p.notExpr(); err == nil {
			l = &binExpr{pos: t.pos, op: "and", l: l, r: r}
		}
	}
	return l, err
}

func (p *parser) notExpr() (expr, error) {
	if p.isName("not") {
		t := p.next()
		if err := p.enter(); err != nil {
			return nil, err
		}
		defer func() { p.depth-- }()
		x, err := p.notExpr()
		if err != nil {
			return nil, err
		}
		return &unaryExpr{pos: t.pos, op: "not", x: x}, nil
	}
	return p.compare()
}

func (p *parser) compare() (expr, error) {
	first, err := p.math1()
	if err != nil {
		return nil, err
	}
	c := &compareExpr{pos: first.position(), first: first}
	for {
		t := p.peek()
		var op string
		switch {
		case t.kind == tOp && (t.val == "==" || t.val == "!=" || t.val == "<" || t.val == "<=" || t.val == ">" || t.val == ">="):
			op = t.val
			p.next()
		case t.kind == tName && t.val == "in":
			op = "in"
			p.next()
		case t.kind == tName && t.val == "not" && p.peekAt(1).kind == tName && p.peekAt(1).val == "in":
			op = "not in"
			p.next()
			p.next()
		default:
			if len(c.ops) == 0 {
				return first, nil
			}
			return c, nil
		}
		r, err := p.math1()
		if err != nil {
			return nil, err
		}
		c.ops = append(c.ops, op)
		c.rest = append(c.rest, r)
	}
}

func (p *parser) binLevel(ops []string, next func() (expr, error)) (expr, error) {
	l, err := next()
	for err == nil {
		t := p.peek()
		found := false
		for _, o := range ops {
			if t.kind == tOp && t.val == o {
				found = true
			}
		}
		if !found {
			break
		}
		p.next()
		var r expr
		if r, err = next(); err == nil {
			l = &binExpr{pos: t.pos, op: t.val, l: l, r: r}
		}
	}
	return l, err
}

func (p *parser) math1() (expr, error)  { return p.binLevel([]string{"+", "-"}, p.concat) }
func (p *parser) concat() (expr, error) { return p.binLevel([]string{"~"}, p.math2) }
func (p *parser) math2() (expr, error)  { return p.binLevel([]string{"*", "/", "//", "%"}, p.pow) }
func (p *parser) pow() (expr, error)    { return p.binLevel([]string{"**"}, p.unaryF) }

func (p *parser) unaryF() (expr, error) { return p.unary(true) }

func (p *parser) unary(withFilter bool) (expr, error) {
	if err := p.enter(); err != nil {
		return nil, err
	}
	defer func() { p.depth-- }()
	t := p.peek()
	var e expr
	var err error
	if t.kind == tOp && (t.val == "-" || t.val == "+") {
		p.next()
		x, err := p.unary(false)
		if err != nil {
			return nil, err
		}
		e = &unaryExpr{pos: t.pos, op: t.val, x: x}
	} else {
		if e, err = p.primary(); err != nil {
			return nil, err
		}
		if e, err = p.postfix(e); err != nil {
			return nil, err
		}
	}
	if withFilter {
		return p.filters(e)
	}
	return e, nil
}

func (p *parser) primary() (expr, error) {
	t := p.next()
	switch t.kind {
	case tName:
		switch t.val {
		case "true", "True":
			return &constExpr{pos: t.pos, val: true}, nil
		case "false", "False":
			return &constExpr{pos: t.pos, val: false}, nil
		case "none", "None":
			return &constExpr{pos: t.pos, val: nil}, nil
		}
		return &nameExpr{pos: t.pos, name: t.val}, nil
	case tString:
		s := t.val
		for p.peek().kind == tString { // adjacent literals concatenate, as in Python
			s += p.next().val
		}
		return &constExpr{pos: t.pos, val: s}, nil
	case tInt:
		v, err := strconv.ParseInt(t.val, 10, 64)
		if err != nil {
			return nil, p.errf(t, "integer literal %s is out of range", t.val)
		}
		return &constExpr{pos: t.pos, val: v}, nil
	case tFloat:
		v, err := strconv.ParseFloat(t.val, 64)
		if err != nil {
			return nil, p.errf(t, "bad float literal %s", t.val)
		}
		return &constExpr{pos: t.pos, val: v}, nil
	case tOp:
		switch t.val {
		case "(":
			if p.isOp(")") {
				p.next()
				return &listExpr{pos: t.pos}, nil
			}
			e, err := p.expr()
			if err != nil {
				return nil, err
			}
			if p.isOp(",") {
				items := []expr{e}
				for p.isOp(",") {
					p.next()
					if p.isOp(")") {
						break
					}
					x, err := p.expr()
					if err != nil {
						return nil, err
					}
					items = append(items, x)
				}
				e = &listExpr{pos: t.pos, items: items}
			}
			if _, err := p.expectOp(")"); err != nil {
				return nil, err
			}
			return e, nil
		case "[":
			l := &listExpr{pos: t.pos}
			for !p.isOp("]") {
				if len(l.items) > 0 {
					if _, err := p.expectOp(","); err != nil {
						return nil, err
					}
					if p.isOp("]") {
						break
					}
				}
				x, err := p.expr()
				if err != nil {
					return nil, err
				}
				l.items = append(l.items, x)
			}
			p.next()
			return l, nil
		case "{":
			d := &dictExpr{pos: t.pos}
			for !p.isOp("}") {
				if len(d.keys) > 0 {
					if _, err := p.expectOp(","); err != nil {
						return nil, err
					}
					if p.isOp("}") {
						break
					}
				}
				k, err := p.expr()
				if err != nil {
					return nil, err
				}
				if _, err := p.expectOp(":"); err != nil {
					return nil, err
				}
				v, err := p.expr()
				if err != nil {
					return nil, err
				}
				d.keys = append(d.keys, k)
				d.vals = append(d.vals, v)
			}
			p.next()
			return d, nil
		}
	}
	return nil, p.errf(t, "unexpected %s", t.describe())
}

func (p *parser) postfix(e expr) (expr, error) {
	for {
		t := p.peek()
		if t.kind != tOp {
			return e, nil
		}
		switch t.val {
		case ".":
			p.next()
			a := p.next()
			switch a.kind {
			case tName:
				e = &attrExpr{pos: a.pos, obj: e, name: a.val}
			case tInt:
				v, _ := strconv.ParseInt(a.val, 10, 64)
				e = &indexExpr{pos: a.pos, obj: e, idx: &constExpr{pos: a.pos, val: v}}
			default:
				return nil, p.errf(a, "expected attribute name after '.', found %s", a.describe())
			}
		case "[":
			p.next()
			var parts [3]expr
			n, isSlice := 0, false
			for {
				if p.isOp(":") {
					p.next()
					isSlice = true
					n++
					if n > 2 {
						return nil, p.errf(t, "too many ':' in slice")
					}
					continue
				}
				if p.isOp("]") {
					break
				}
				if parts[n] != nil {
					return nil, p.errf(p.peek(), "expected ':' or ']' in subscript, found %s", p.peek().describe())
				}
				x, err := p.expr()
				if err != nil {
					return nil, err
				}
				parts[n] = x
			}
			p.next()
			if isSlice {
				e = &sliceExpr{pos: t.pos, obj: e, start: parts[0], stop: parts[1], step: parts[2]}
			} else {
				if parts[0] == nil {
					return nil, p.errf(t, "empty subscript")
				}
				e = &indexExpr{pos: t.pos, obj: e, idx: parts[0]}
			}
		case "(":
			args, kwargs, err := p.callArgs()
			if err != nil {
				return nil, err
			}
			e = &callExpr{pos: t.pos, fn: e, args: args, kwargs: kwargs}
		default:
			return e, nil
		}
	}
}

func (p *parser) callArgs() ([]expr, []kwarg, error) {
	if _, err := p.expectOp("("); err != nil {
		return nil, nil, err
	}
	var args []expr
	var kwargs []kwarg
	for !p.isOp(")") {
		if len(args)+len(kwargs) > 0 {
			if _, err := p.expectOp(","); err != nil {
				return nil, nil, err
			}
			if p.isOp(")") {
				break
			}
		}
		if p.peek().kind == tName && p.peekAt(1).kind == tOp && p.peekAt(1).val == "=" {
			name := p.next().val
			p.next()
			v, err := p.expr()
			if err != nil {
				return nil, nil, err
			}
			kwargs = append(kwargs, kwarg{name: name, val: v})
			continue
		}
		if len(kwargs) > 0 {
			return nil, nil, p.errf(p.peek(), "positional argument after keyword argument")
		}
		v, err := p.expr()
		if err != nil {
			return nil, nil, err
		}
		args = append(args, v)
	}
	p.next()
	return args, kwargs, nil
}

func (p *parser) filterCall(target expr) (*filterExpr, error) {
	name, err := p.expectName()
	if err != nil {
		return nil, err
	}
	f := &filterExpr{pos: name.pos, target: target, name: name.val}
	for p.isOp(".") { // dotted filter names
		p.next()
		n, err := p.expectName()
		if err != nil {
			return nil, err
		}
		f.name += "." + n.val
	}
	if p.isOp("(") {
		if f.args, f.kwargs, err = p.callArgs(); err != nil {
			return nil, err
		}
	}
	return f, nil
}

func (p *parser) filters(e expr) (expr, error) {
	for {
		switch {
		case p.isOp("|"):
			p.next()
			f, err := p.filterCall(e)
			if err != nil {
				return nil, err
			}
			e = f
		case p.isName("is"):
			t := p.next()
			te := &testExpr{pos: t.pos, target: e}
			if p.isName("not") {
				p.next()
				te.negate = true
			}
			name, err := p.expectName()
			if err != nil {
				return nil, err
			}
			te.name = name.val
			nt := p.peek()
			switch {
			case nt.kind == tOp && nt.val == "(":
				args, _, err := p.callArgs()
				if err != nil {
					return nil, err
				}
				te.args = args
			case nt.kind == tString || nt.kind == tInt || nt.kind == tFloat ||
				nt.kind == tOp && (nt.val == "[" || nt.val == "{") ||
				nt.kind == tName && !isKeyword(nt.val):
				a, err := p.primary()
				if err != nil {
					return nil, err
				}
				if a, err = p.postfix(a); err != nil {
					return nil, err
				}
				te.args = []expr{a}
			}
			e = te
		default:
			return e, nil
		}
	}
}

func isKeyword(s string) bool {
	switch s {
	case "else", "or", "and", "if", "in", "not", "is", "recursive":
		return true
	}
	return false
}
