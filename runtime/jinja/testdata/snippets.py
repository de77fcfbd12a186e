# Renders template snippets with jinja2 set up as transformers sets it up, writing the
# expected output (or the fact of an error) for the Go interpreter's tests.
# usage: python3 snippets.py > snippets.jsonl   (needs jinja2 3.1)
import json
import re
from jinja2.sandbox import ImmutableSandboxedEnvironment
from jinja2.exceptions import TemplateError

def raise_exception(message):
    raise TemplateError(message)

def tojson(x, ensure_ascii=False, indent=None, separators=None, sort_keys=False):
    return json.dumps(x, ensure_ascii=ensure_ascii, indent=indent, separators=separators, sort_keys=sort_keys)

env = ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True, extensions=["jinja2.ext.loopcontrols"])
env.filters["tojson"] = tojson
env.globals["raise_exception"] = raise_exception

VARS = {"l": [3, 1, 2], "d": {"b": 1, "a": [1, {"c": "é\n<>&'\"\u2028"}], "e": None, "f": 1.5},
        "n": None, "s": "  Hello, World!  ", "u": "héllo 😀 wörld", "t": True, "f": 1.0, "i": 7,
        "msgs": [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "<think>\nr\n</think>\n\nok"}],
        "e": "", "big": 12345678901234, "neg": -7, "tiny": 1e-7, "huge": 1e22, "fl": [0.1, 2.5, -0.0, 100.0]}

T = r"""
{{ 1 }}|{{ 1.5 }}|{{ 1.0 }}|{{ 2.0 * 3 }}|{{ 1e3 }}|{{ 1_000 }}
{{ 3 / 2 }}|{{ 4 / 2 }}|{{ 7 // 2 }}|{{ -7 // 2 }}|{{ 7 % 3 }}|{{ -7 % 3 }}|{{ 7 % -3 }}|{{ 2 ** 10 }}|{{ 2 ** -1 }}|{{ 7.5 // 2 }}|{{ -7.5 % 2 }}
{{ 'ab' * 3 }}|{{ 3 * 'ab' }}|{{ [1] * 2 }}|{{ 'a' * 0 }}|{{ 'a' * -1 }}
{{ 1 + 2 * 3 }}|{{ (1 + 2) * 3 }}|{{ 2 ** 3 ** 2 }}|{{ -2 ** 2 }}|{{ 10 - 3 - 2 }}|{{ 'a' ~ 1 + 2 }}
{{ true }}|{{ false }}|{{ none }}|{{ True }}|{{ None }}|{{ n }}|{{ undefined_var }}|{{ t }}
{{ l }}|{{ d }}|{{ msgs }}|{{ [1, 'a', none, true, 1.5, [2]] }}|{{ {'k': 'v', 1: 2} }}|{{ (1, 2)|list }}|{{ ()|list }}|{{ (1,)|length }}
{{ "it's" }}|{{ ['it\'s'] }}|{{ ['say "hi"'] }}|{{ ['both \' and "'] }}|{{ ['tab\there'] }}|{{ ['nl\n'] }}|{{ ['\\'] }}|{{ [u] }}
{{ 'a\nb' }}|{{ 'tab\t' }}|{{ 'q\'q' }}|{{ "dq\"" }}|{{ 'x\\y' }}|{{ '\x41\u00e9\U0001F600' }}|{{ '\q' }}|{{ 'a' 'b' "c" }}
{{ f }}|{{ tiny }}|{{ huge }}|{{ fl }}|{{ big }}|{{ neg }}|{{ 0.1 + 0.2 }}|{{ 1e16 }}|{{ 1e15 }}|{{ 123456789.125 }}|{{ -0.0 }}
{{ 1 == 1.0 }}|{{ true == 1 }}|{{ 'a' == 'a' }}|{{ [1, 2] == [1, 2] }}|{{ none == none }}|{{ 1 != 2 }}|{{ 'a' < 'b' }}|{{ [1, 2] < [1, 3] }}|{{ 1 < 2 < 3 }}|{{ 3 > 2 > 5 }}|{{ 2 >= 2 }}|{{ 1 <= 0 }}
{{ 1 in [1, 2] }}|{{ 3 not in [1, 2] }}|{{ 'ell' in 'hello' }}|{{ 'b' in d }}|{{ 'z' in d }}|{{ not 1 in [1] }}|{{ 'x' in undefined_var }}
{{ 0 or 'x' }}|{{ 1 and 'y' }}|{{ '' and 1 }}|{{ none or none }}|{{ not 0 }}|{{ not 'a' }}|{{ not [] }}|{{ not {} }}|{{ not not 3 }}|{{ 1 if 0 else 2 }}|{{ 'a' if 1 }}|{{ 'a' if 0 }}|{{ 1 if 0 else 2 if 0 else 3 }}
{{ d.b }}|{{ d['b'] }}|{{ d.zz }}|{{ d['zz'] }}|{{ l[0] }}|{{ l[-1] }}|{{ l[5] }}|{{ l.0 }}|{{ 'abc'[1] }}|{{ 'abc'[-1] }}|{{ u[1] }}|{{ n.x }}|{{ 5.x }}
{{ l[1:] }}|{{ l[:1] }}|{{ l[::-1] }}|{{ l[::2] }}|{{ l[-2:] }}|{{ l[:-1] }}|{{ l[10:] }}|{{ l[1:1] }}|{{ 'hello'[1:3] }}|{{ 'hello'[::-1] }}|{{ u[::-1] }}|{{ 'abcdef'[5:0:-2] }}|{{ l[-10:2] }}|{{ l[2:-10:-1] }}|{{ l[none:2] }}
{{ msgs[::-1][0].role }}|{{ msgs|length }}|{{ msgs[0]['content'] }}|{{ msgs[-1].content.split('</think>')[-1].lstrip('\n') }}
{{ s.strip() }}|{{ s.lstrip() }}|{{ s.rstrip() }}|{{ 'xxaxx'.strip('x') }}|{{ '\n\n a \n'.strip('\n') }}|{{ 'abcba'.lstrip('ab') }}|{{ 'abcba'.rstrip('ab') }}|{{ s.strip(none) }}|{{ 'aXb'.strip('') }}
{{ 'a,b,,c'.split(',') }}|{{ ' a  b c '.split() }}|{{ 'a b c'.split(' ', 1) }}|{{ 'a b c'.split(none, 1) }}|{{ ' a  b c '.split(none, 1) }}|{{ 'a-b-c'.rsplit('-', 1) }}|{{ ' a  b c '.rsplit(none, 1) }}|{{ ''.split() }}|{{ ''.split(',') }}|{{ 'abc'.split('abc') }}
{{ 'abc'.startswith('ab') }}|{{ 'abc'.startswith(('x', 'a')) }}|{{ 'abc'.endswith('bc') }}|{{ 'abc'.endswith('') }}|{{ 'abc'.startswith('abcd') }}
{{ 'Hello World'.upper() }}|{{ 'Hello World'.lower() }}|{{ 'hello wORLD-x'.title() }}|{{ 'hello World'.capitalize() }}|{{ 'a-b-a'.replace('a', 'x') }}|{{ 'aaa'.replace('a', 'b', 2) }}|{{ 'abcb'.find('b') }}|{{ 'abcb'.rfind('b') }}|{{ 'abc'.find('z') }}|{{ 'abab'.count('ab') }}|{{ '-'.join(['a', 'b']) }}|{{ 'a\nb\n'.splitlines() }}|{{ '12'.isdigit() }}|{{ 'ab'.isalpha() }}|{{ ' '.isspace() }}|{{ 'AB'.isupper() }}|{{ 'ab'.islower() }}
{{ l|length }}|{{ u|length }}|{{ d|length }}|{{ undefined_var|length }}|{{ 'abc'|count }}|{{ l|first }}|{{ l|last }}|{{ 'abc'|first }}|{{ 'abc'|last }}|{{ []|first }}|{{ d|first }}
{{ s|trim }}|{{ 'xxhixx'|trim('x') }}|{{ 'Hi'|upper }}|{{ 'Hi'|lower }}|{{ 'hi there'|capitalize }}|{{ 'hello wORLD-x (y'|title }}|{{ 'a-b'|replace('-', '+') }}|{{ l|join }}|{{ l|join(', ') }}|{{ msgs|join('|', attribute='role') }}
{{ l|sort }}|{{ l|sort(reverse=true) }}|{{ ['b', 'A', 'c']|sort }}|{{ ['b', 'A', 'c']|sort(case_sensitive=true) }}|{{ msgs|sort(attribute='role', reverse=true)|map(attribute='role')|list }}|{{ l|reverse|list }}|{{ 'abc'|reverse }}|{{ [1, 2, 1, 3, 2]|unique|list }}|{{ ['A', 'b', 'a', 'B']|unique|list }}|{{ ['A', 'a']|unique(case_sensitive=true)|list }}|{{ [1, 1.0, true]|unique|list }}
{{ l|min }}|{{ l|max }}|{{ l|sum }}|{{ fl|sum }}|{{ []|sum }}|{{ l|sum(start=10) }}|{{ -3|abs }}|{{ -2.5|abs }}|{{ 2.567|round(2) }}|{{ 2.5|round }}|{{ 3.5|round }}|{{ -2.5|round }}|{{ 1.25|round(1) }}|{{ 2.1|round(0, 'ceil') }}|{{ 2.9|round(method='floor') }}
{{ '42'|int }}|{{ '4.7'|int }}|{{ 'x'|int }}|{{ 'x'|int(5) }}|{{ 4.7|int }}|{{ true|int }}|{{ '2.5'|float }}|{{ 'x'|float }}|{{ 3|float }}|{{ 3|string }}|{{ none|string }}|{{ l|string }}|{{ 3|string|length }}
{{ undefined_var|default('dflt') }}|{{ none|default('x') }}|{{ ''|default('x') }}|{{ ''|default('x', true) }}|{{ 0|d('z', true) }}|{{ d.zz|default(5) }}|{{ d.b|default(5) }}
{{ d|items|list|length }}|{{ d.items()|map('last')|list }}|{{ d.keys()|list }}|{{ d.values()|list }}|{{ d.get('b') }}|{{ d.get('zz') }}|{{ d.get('zz', 9) }}|{{ undefined_var|items|list }}|{{ d|list }}|{{ 'ab'|list }}|{{ d|dictsort|map('first')|join }}|{{ d|dictsort(reverse=true)|first|last }}|{{ d|dictsort(by='value', reverse=true)|map('first')|list if false }}
{% for k, v in {'a': 1, 'B': 2, 'c': 0}|dictsort %}{{ k }}{% endfor %}|{% for k, v in {'a': 1, 'B': 2, 'c': 0}|dictsort(true) %}{{ k }}{% endfor %}|{{ {'a': 'x', 'b': 'Y'}|dictsort(false, 'value')|map('first')|join }}|{{ {'a': 'x', 'b': 'Y'}|dictsort(case_sensitive=true, by='value')|map('first')|join }}|{{ ['b', 'A', 'a']|sort(case_sensitive=true)|join }}|{{ ['b', 'A', 'a']|sort|join }}
{{ l|map('string')|join('-') }}|{{ msgs|map(attribute='role')|list }}|{{ msgs|map(attribute='zz', default='dd')|list }}|{{ ['a','B']|map('upper')|list }}|{{ l|select('odd')|list }}|{{ l|reject('odd')|list }}|{{ msgs|selectattr('role', 'equalto', 'user')|list|length }}|{{ msgs|rejectattr('role', '==', 'user')|map(attribute='role')|first }}|{{ [0, 1, '', 'a']|select|list }}|{{ l|select('>', 1)|list }}|{{ l|select('in', [1, 2])|list }}
{{ d|tojson }}|{{ l|tojson }}|{{ 'é😀\u0001"\\/'|tojson }}|{{ none|tojson }}|{{ t|tojson }}|{{ f|tojson }}|{{ fl|tojson }}|{{ msgs|tojson }}|{{ {}|tojson }}|{{ []|tojson }}|{{ huge|tojson }}|{{ tiny|tojson }}
{{ d|tojson(indent=2) }}|{{ l|tojson(indent=0) }}|{{ {'a': [], 'b': {}}|tojson(indent=2) }}|{{ d|tojson(sort_keys=true) }}|{{ d|tojson(ensure_ascii=true) }}|{{ u|tojson(ensure_ascii=true) }}|{{ d|tojson(separators=(',', ':')) }}|{{ d|tojson(indent='\t') }}|{{ {1: 'a', none: 2, 1.5: 3, true: 4}|tojson }}
{{ 'x'|e }}|{{ '<a href="x">&\''|escape }}|{{ '<b>'|safe }}|{{ 'a\nb\n\nc'|indent }}|{{ 'a\nb\n\nc'|indent(2, true) }}|{{ 'a\nb\n\nc'|indent(2, blank=true) }}|{{ 'one two  three'|wordcount }}|{{ d|attr('b') }}
{{ undefined_var is defined }}|{{ d is defined }}|{{ d.zz is defined }}|{{ d.zz is undefined }}|{{ n is none }}|{{ d.e is none }}|{{ d.zz is none }}|{{ 'a' is string }}|{{ 1 is string }}|{{ d is mapping }}|{{ l is mapping }}|{{ 1 is number }}|{{ 1.5 is number }}|{{ t is number }}|{{ 'a' is number }}|{{ 1 is integer }}|{{ t is integer }}|{{ 1.0 is float }}|{{ 1 is float }}|{{ t is boolean }}|{{ t is true }}|{{ 1 is true }}|{{ false is false }}|{{ 0 is false }}
{{ l is iterable }}|{{ 'a' is iterable }}|{{ 1 is iterable }}|{{ d is iterable }}|{{ l is sequence }}|{{ 1 is sequence }}|{{ 3 is odd }}|{{ 3 is even }}|{{ 9 is divisibleby 3 }}|{{ 9 is divisibleby(4) }}|{{ 'ab' is lower }}|{{ 'AB' is upper }}|{{ 2 is in l }}|{{ 1 is eq 1 }}|{{ 1 is equalto 2 }}|{{ 1 is ne 2 }}|{{ 1 is lt 2 }}|{{ 1 is gt 2 }}|{{ 2 is ge 2 }}|{{ 2 is le 1 }}|{{ n is sameas none }}|{{ range is callable }}|{{ 1 is callable }}|{{ 1 is not none }}|{{ not 1 is none }}|{{ l is not string }}
{% for x in l %}{{ loop.index }}{{ loop.index0 }}{{ loop.revindex }}{{ loop.revindex0 }}{{ loop.first }}{{ loop.last }}{{ loop.length }}{{ loop.cycle('a', 'b') }}{{ loop.previtem }}{{ loop.nextitem }};{% endfor %}
{% for x in [] %}a{% else %}empty{% endfor %}|{% for x in l if x > 1 %}{{ x }}{{ loop.index }}{{ loop.length }}{% else %}none{% endfor %}|{% for x in l if x > 9 %}{{ x }}{% else %}none{% endfor %}|{% for k, v in d.items() %}{{ k }}={{ v }};{% endfor %}|{% for k in d %}{{ k }}{% endfor %}|{% for c in 'ab' %}{{ c }}.{% endfor %}|{% for x in undefined_var %}x{% else %}u{% endfor %}
{% for x in l %}{% if x == 1 %}{% continue %}{% endif %}{% if x == 2 %}{% break %}{% endif %}{{ x }}{% endfor %}|{% for a in [1, 2] %}{% for b in [3, 4] %}{{ a }}{{ b }}{{ loop.index }}{% endfor %}{{ loop.index }},{% endfor %}|{% for a, b in [[1, 2], [3, 4]] %}{{ a + b }}{% endfor %}|{% for a, b in d|items %}{{ a }}{% endfor %}
{% set x = 1 %}{% for i in l %}{% set x = x + i %}{{ x }},{% endfor %}{{ x }}|{% if true %}{% set y = 5 %}{% endif %}{{ y }}|{% set a, b = 1, 2 %}{{ a }}{{ b }}|{% set a, b = [3, 4] %}{{ a }}{{ b }}|{% set t %}in{{ 1 }}{% endset %}[{{ t }}]|{% set ns = namespace(c=0, items=[]) %}{% for i in l %}{% set ns.c = ns.c + i %}{% set ns.items = ns.items + [i] %}{% endfor %}{{ ns.c }}{{ ns.items }}|{% set ns2 = namespace({'a': 1}, b=2) %}{{ ns2.a }}{{ ns2.b }}{{ ns2.zz }}
{% macro m(a, b='B', c=none) %}<{{ a }}{{ b }}{{ c }}>{% endmacro %}{{ m(1) }}{{ m(2, 3) }}{{ m(4, c=5) }}{{ m() }}|{% macro rec(n) %}{{ n }}{% if n > 0 %}{{ rec(n - 1) }}{% endif %}{% endmacro %}{{ rec(3) }}|{% macro outer() %}{{ l|length }}{% endmacro %}{% set l = [1] %}{{ outer() }}
{% filter upper %}shout {{ 'this' }}{% endfilter %}|{% filter trim|upper %}  x  {% endfilter %}|{% raw %}{{ not }} {% rendered %}{% endraw %}|{{ range(3)|list }}|{{ range(1, 7, 2)|list }}|{{ range(5, 0, -2)|list }}|{{ range(0)|list }}|{{ dict(a=1, b=2) }}|{{ namespace(a=1).a }}
""".strip().split("\n")

WS = [
  "  {% if true %}\n  yes\n  {% endif %}\n",
  "a\n  {% if true %}\n  b\n  {% endif %}\nc",
  "x  {% if true %}y{% endif %}  z",
  "  {{ 'v' }}  \n  {{ 'w' }}",
  "a  {{- ' b ' -}}  \n c {%- if true %} d  {%+ if true %}e{% endif %}{% endif %}",
  "{% for i in [1, 2] %}\n  {{ i }}\n{% endfor %}\n",
  "{% for i in [1, 2] -%}\n  {{ i }}\n{%- endfor %}",
  "<{# comment #}>\n  {# c2 #}\nafter\n  {#- c3 -#}  \nend",
  "{% if true %}x{% endif %}\n\n{% if true %}y{% endif %}",
  "line\n\t {% if true %}\t\n  in\n\t{% endif %} tail\n",
  "{% if true +%}\nkept newline{% endif +%}\nafter",
  "{%- if true -%}  \n  a  \n  {%- endif -%}  b",
  "{{ 'a' }}\n{{ 'b' }}\n",
  "{{- 'a' }}   {{- 'b' -}}   {{ 'c' }}",
  "text\r\nwith\rcr\r\n{% if true %}\r\nx\r\n{% endif %}\r\n",
  "{% raw -%}  raw {{ x }}  {%- endraw %}|",
  "  {%- set x = 1 %}\n  {{ x }}",
  "{% set x = 1 %}\n\n{{ x }}\n\n",
  "a {# unclosed",
  "{{ 'unterminated }}",
  "{% if %}x{% endif %}",
  "{% for x in l %}no end",
  "{% endif %}",
  "{{ 1 + }}",
  "{% bogus %}",
  "{{ l[} }}",
  "{% set 1 = 2 %}",
  "{{ d.b.c.d }}",
  "{{ undefined_var.attr }}",
  "{{ undefined_var + 1 }}",
  "{{ 'a' + 1 }}",
  "{{ 1 / 0 }}",
  "{{ raise_exception('custom message') }}",
  "{{ l.append(4) }}",
  "{{ n|length }}",
  "{% for x in 5 %}{% endfor %}",
  "{{ undefined_var|tojson }}",
  "{{ undefined_var() }}",
  "{{ 'abc'.split('') }}",
  "{% set n.x = 1 %}",
  "{{ {[1]: 2} }}",
]

cases = []
for line in T:
    # Snippets on a line are separated by "|" between a closing and an opening tag.
    cases += re.split(r"(?<=[}%]\})\|(?=\{)", line)
cases += WS
for t in cases:
    c = {"template": t}
    try:
        c["rendered"] = env.from_string(t).render(**VARS)
    except Exception as e:
        c["error"] = f"{type(e).__name__}: {e}"
    print(json.dumps(c, ensure_ascii=False))
print(json.dumps({"vars": VARS}, ensure_ascii=False))
