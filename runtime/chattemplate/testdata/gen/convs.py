# Generates chat conversations covering what chat templates branch on.
import json, random
random.seed(7)
W = lambda *m: list(m)
u = lambda c: {"role": "user", "content": c}
a = lambda c, **kw: dict({"role": "assistant", "content": c}, **kw)
s = lambda c: {"role": "system", "content": c}
t = lambda c, **kw: dict({"role": "tool", "content": c}, **kw)
tc = lambda name, args, **kw: dict({"type": "function", "function": {"name": name, "arguments": args}}, **kw)

texts = ["What is 2+2?", "", " ", "\n", "héllo wörld — ünïcode ✓ 日本語 😀", "line1\nline2\n\nline3",
         "  leading and trailing  ", "\n\nnewlines around\n\n", "tabs\tand \"quotes\" and 'apostrophes' and \\backslash",
         "<|im_start|>not special here<|im_end|>", "{{ not a template }} {% neither %}", "<tool_response>\nok\n</tool_response>",
         "math: $\\frac{1}{2}$ and \\boxed{42}", "x" * 300]
thinks = ["<think>\nSubtract 1.\n</think>\n\nx = 2", "<think>\n\n</think>\n\nshort", "<think>reason</think>answer",
          "no think tags at all", "<think>\nonly open", "prefix <think>\nmid\n</think>\n\nafter", "</think>only close",
          "<think>\n  indented reasoning  \n</think>\n\n  indented answer", "<think>\na\n</think>\n\nb</think>\n\nc",
          "<history>\n* a\n</history><think>\nr\n</think><summary>\n* s\n</summary>",
          "<history>\n* earlier summary\n* more\n</history><think>\nnew reasoning\n\nmore\n</think>\nThe answer is \\boxed{3}.\n",
          "<think>\nr1\n</think><summary>\n* s1\n</summary>", ""]
tools = [{"type": "function", "function": {"name": "get_weather", "description": "Get the weather — in °C", "parameters": {"type": "object", "properties": {"city": {"type": "string", "description": "City name"}, "days": {"type": "integer"}}, "required": ["city"]}}},
         {"type": "function", "function": {"name": "calc", "description": "Evaluate \"math\"", "parameters": {"type": "object", "properties": {"expr": {"type": "string"}}}}}]
cases = []
def add(msgs, agp=True, **kw):
    cases.append(dict({"messages": msgs, "add_generation_prompt": agp}, **kw))

for x in texts:
    add([u(x)])
    add([s("You are a careful mathematician."), u(x)], agp=False)
    add([u("q"), a(x)], agp=False)
for th in thinks:
    add([u("Solve x+1=3"), a(th), u("And x+2=3?")])
    add([u("Solve x+1=3"), a(th)], agp=False)
    add([s("sys"), u("q1"), a(th), u("q2"), a(th)], agp=False)
    add([u("q1"), a(th), u("q2"), a(th)], agp=True, enable_thinking=False)
for et in [True, False]:
    add([u("hi")], enable_thinking=et)
    add([s("S"), u("hi"), a("<think>\nx\n</think>\n\ny"), u("again")], enable_thinking=et)
    add([u("hi")], agp=False, enable_thinking=et)
# reasoning_content given explicitly
add([u("q"), a("answer", reasoning_content="because")], agp=False)
add([u("q"), a("answer", reasoning_content="")], agp=False)
add([u("q"), a("<think>\nin content\n</think>\n\nanswer", reasoning_content="explicit")], agp=False)
add([u("q"), a("a1", reasoning_content="r1"), u("q2"), a("a2", reasoning_content="r2")], agp=False)
# tools
add([u("Weather in Paris?")], tools=tools)
add([s("You are a bot."), u("Weather in Paris?")], tools=tools)
add([s("You are a bot."), u("Weather in Paris?"), a("", tool_calls=[tc("get_weather", {"city": "Paris", "days": 3})]),
     t("{\"temp\": 21}"), a("It is 21°C.")], agp=False, tools=tools)
add([u("Weather?"), a("Let me check.", tool_calls=[tc("get_weather", {"city": "Paris"}), tc("calc", "{\"expr\": \"1+1\"}")]),
     t("sunny"), t("2"), u("thanks")], tools=tools)
add([u("Weather?"), a("<think>\nneed tool\n</think>\n\n", tool_calls=[{"name": "get_weather", "arguments": {"city": "Köln", "nested": {"b": [1, 2.5, None, True], "a": "x"}}}]),
     t("<tool_response>\nraw\n</tool_response>")])
add([u("multi"), a("", tool_calls=[tc("calc", {"expr": "2*3"})]), t("6"), a("", tool_calls=[tc("calc", {"expr": "6+1"})]), t("7")])
add([u("tool first"), t("orphan tool message")], agp=False)
add([s("only system")], agp=True)
add([s("only system")], agp=False)
add([u("q"), s("late system message"), u("q2")])
# multi-turn, longer conversations
for n in range(8):
    msgs = [s("Be brief.")] if n % 2 else []
    for i in range(random.randint(1, 5)):
        msgs.append(u(random.choice(texts) or "x"))
        msgs.append(a(random.choice(thinks)))
    if n % 3 == 0:
        msgs.append(u("final question"))
    add(msgs, agp=n % 3 == 0, **({"enable_thinking": bool(n % 2)} if n % 4 else {}))
# InftyThink+ iteration layouts
q = "Find the sum of all integer bases b > 9 for which 17_b divides 97_b."
add([u(q)])
add([u(q), a("<history>\n* Tried b=10.\n</history>")], agp=False)
add([u(q), a("<history>\n* Tried b=10.\n</history><think>\nNow b=16.\n</think><summary>\n* Tried b=10 and b=16.\n</summary>")], agp=False)
add([u(q), a("<history>\n* s\n</history><think>\nr\n</think>\n\\boxed{70}\n")], agp=False)
add([u(q), a("<think>\nr1\n</think><summary>\n* s1\n</summary>"), u("Continue reasoning from the history.")])
print("\n".join(json.dumps(c, ensure_ascii=False) for c in cases))
