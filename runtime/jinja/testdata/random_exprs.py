# Random expressions over a few values, rendered by jinja2 set up as transformers sets it up;
# the Go tests must print the same text, or fail where jinja2 fails.
# usage: python3 random_exprs.py | gzip -9 > random.jsonl.gz
import json, random
from jinja2.sandbox import ImmutableSandboxedEnvironment

def tojson(x, ensure_ascii=False, indent=None, separators=None, sort_keys=False):
    return json.dumps(x, ensure_ascii=ensure_ascii, indent=indent, separators=separators, sort_keys=sort_keys)

env = ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True, extensions=["jinja2.ext.loopcontrols"])
env.filters["tojson"] = tojson
rng = random.Random(1234)

VARS = {"a": 3, "b": -2, "x": 2.5, "z": 0, "s": " Ab c\n", "t": "abc", "e": "", "u": "é😀",
        "l": [1, "a", None, True, 2.5], "m": [3, 1, 2], "d": {"k": 1, "j": [1, 2], "n": None},
        "yes": True, "no": False, "nil": None, "msgs": [{"role": "user", "content": "q"}, {"role": "assistant", "content": "<think>r</think>a"}]}
ATOMS = ["a", "b", "x", "z", "s", "t", "e", "u", "l", "m", "d", "yes", "no", "nil", "msgs", "undef",
         "1", "0", "-1", "2.0", "0.5", "'x'", "''", "'a b'", "none", "true", "false", "[]", "[1, 2]", "{'k': 2}",
         "d.k", "d.j", "d.n", "d.zz", "l[1]", "l[-1]", "m[0]", "t[1:]", "m[::-1]", "msgs[0].role", "msgs[-1]['content']"]
BIN = ["+", "-", "*", "/", "//", "%", "~", "==", "!=", "<", ">", "<=", ">=", "and", "or", "in", "not in"]
FILTERS = ["length", "trim", "upper", "lower", "first", "last", "string", "list", "tojson", "int", "float", "abs",
           "default('D')", "default('D', true)", "join(',')", "sort", "reverse", "unique", "items", "capitalize", "title",
           "sum", "min", "max", "round", "map('string')", "select", "reject", "tojson(indent=1)", "count", "e"]
# Filters that return generators are consumed with |list: a generator prints its address.
# Tuples (item pairs) print differently from lists; the Go engine has no tuple type, so
# pairs are taken apart before printing.
FILTERS = [f + "|list" if f.split("(")[0] in ("map", "select", "reject", "unique", "reverse") else f for f in FILTERS]
FILTERS = [f + "|map('first')|list" if f == "items" else f for f in FILTERS]
TESTS = ["defined", "undefined", "none", "string", "number", "integer", "float", "mapping", "iterable", "sequence",
         "boolean", "true", "false", "odd", "even", "divisibleby(2)", "in [1, 'a']", "eq 3", "lower", "upper"]
METHODS = ["strip()", "lstrip()", "rstrip()", "strip('a')", "upper()", "lower()", "split()", "split('b')", "startswith('a')",
           "endswith('c')", "replace('a', 'Z')", "title()", "capitalize()", "find('b')", "count('a')", "index(1)", "items()|map('first')|list", "items()|map('last')|list", "keys()|list",
           "values()|list", "get('k')", "get('zz', 5)", "split('</think>')[-1]", "splitlines()", "isdigit()"]

def expr(depth=0):
    r = rng.random()
    if depth > 2 or r < 0.3:
        return rng.choice(ATOMS)
    if r < 0.55:
        return f"({expr(depth+1)} {rng.choice(BIN)} {expr(depth+1)})"
    if r < 0.7:
        return f"({expr(depth+1)})|{rng.choice(FILTERS)}"
    if r < 0.8:
        return f"({expr(depth+1)} is {rng.choice(['', 'not '])}{rng.choice(TESTS)})"
    if r < 0.9:
        return f"({expr(depth+1)}).{rng.choice(METHODS)}"
    if r < 0.95:
        return f"(not {expr(depth+1)})"
    return f"({expr(depth+1)} if {expr(depth+1)} else {expr(depth+1)})"

seen = set()
while len(seen) < 2500:
    src = "{{ " + expr() + " }}"
    if src in seen:
        continue
    seen.add(src)
    c = {"template": src}
    try:
        c["rendered"] = env.from_string(src).render(**VARS)
    except Exception as ex:
        c["error"] = f"{type(ex).__name__}: {ex}"
    print(json.dumps(c, ensure_ascii=False))
print(json.dumps({"vars": VARS}, ensure_ascii=False))
