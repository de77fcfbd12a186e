# Mirrors transformers' chat-template rendering (jinja2 ImmutableSandboxedEnvironment,
# trim_blocks, lstrip_blocks, loopcontrols, tojson override, raise_exception).
import json, sys
from datetime import datetime
import jinja2
from jinja2.sandbox import ImmutableSandboxedEnvironment
from jinja2.exceptions import TemplateError

def raise_exception(message):
    raise TemplateError(message)

def tojson(x, ensure_ascii=False, indent=None, separators=None, sort_keys=False):
    return json.dumps(x, ensure_ascii=ensure_ascii, indent=indent, separators=separators, sort_keys=sort_keys)

env = ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True, extensions=["jinja2.ext.loopcontrols"])
env.filters["tojson"] = tojson
env.globals["raise_exception"] = raise_exception
env.globals["strftime_now"] = lambda f: datetime.now().strftime(f)
cfg = json.load(open(sys.argv[1] + "/tokenizer_config.json"))
tmpl = env.from_string(cfg["chat_template"])
tok = lambda t: t["content"] if isinstance(t, dict) else t
for line in sys.stdin:
    if not line.strip():
        continue
    c = json.loads(line)
    c.pop("rendered", None)
    kw = dict(bos_token=tok(cfg.get("bos_token")) or "", eos_token=tok(cfg.get("eos_token")) or "")
    kw.setdefault("tools", None); kw.setdefault("documents", None)
    kw.update(c)
    try:
        c["rendered"] = tmpl.render(**kw)
    except Exception as e:
        c["error"] = str(e)
    print(json.dumps(c, ensure_ascii=False))
