#!/usr/bin/env python3
"""Writes adversarial tokenizer inputs as JSON Lines {"text": ...} to stdout.

(No empty text: the reference decoder rejects an empty id list.)
The reference ids come from the independent implementation in shared/tools:
    python3 gen_cases.py > cases.jsonl
    node /tmp/tools/tokref.mjs ../../../testdata/tokenizers/qwen3 < cases.jsonl | gzip -9 > qwen3.adversarial.jsonl.gz
    node /tmp/tools/tokref.mjs ../../../testdata/models/qwen3-tiny-f32 < cases.jsonl | gzip -9 > tiny.adversarial.jsonl.gz
(the Qwen tokenizer.json must be gunzipped into a folder for tokref first).

U+0085 and U+FEFF are left out on purpose: the reference (JavaScript RegExp) and the Rust
tokenizers the models were trained with disagree on whether they are \\s; the Go package follows
Rust there, and tests that separately. Characters newer than Unicode 15 are left out too.
"""
import json
import random
import unicodedata

rnd = random.Random(20261124)
cases = []


def add(s):
    cases.append(s)


# Hand-written cases ----------------------------------------------------------------------
fixed = [
    " ", "  ", "\n", "\t", "\r\n", " \n", "\n ", "a", "'", "''", "'s", "x's", "'S'T'RE'VE'M'LL'D",
    "it's I'm you're we've they'll he'd", "IT'S I'M YOU'RE WE'VE THEY'LL HE'D",
    "It'S i'M yoU'Re wE'vE thEY'lL hE'd", "'ll've'd're", "''s '''t", "rock'n'roll", "o'clock",
    "y'all'd've", "'sorry", "' s", "'s'", "don’t (curly) it’s", "l'été c'est", "'1 '2 '12",
    "ﬁ ligature and ſ long s: 'ſ 'ſſ", "'\u017f 'K", "dogs' toys'", "the '90s", "'\n's", "'Ls 'lL",
    "hello world", "Hello World  ", "trailing   ", "   leading", "a  b   c    d", "a\tb\t\tc",
    "line1\nline2\r\nline3\rline4", "\n\n\n\n", "\r\r\n\n\r", " \t \n \t ", "x \n y", "x  \n\n  y",
    "end with newline\n", "end with spaces and newline   \n", "tabs\t\t\t", "\t\tindented\n\t\tcode",
    "a\u00a0b\u00a0\u00a0c", "ideographic\u3000space\u3000\u3000end\u3000", "em\u2003space en\u2002space",
    "line\u2028sep para\u2029sep", "nbsp at end\u00a0", "\u00a0\u00a0lead", "thin\u2009space\u202fnarrow",
    "\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200a", "\u205f\u3000\u1680x",
    "vertical\x0btab\x0cformfeed", "zero\u200bwidth\u200cnon\u200djoiner", "soft\u00adhyphen",
    "12345678901234567890123456789012345678901234567890", "3.14159265358979323846", "-42 +7 1e-10 0xDEADbeef",
    "1,234,567.89 €1.000,00 ¥500", "٠١٢٣٤٥٦٧٨٩ arabic-indic", "۰۱۲۳ persian", "०१२३४ devanagari", "１２３ fullwidth",
    "x² + y³ = z⁴", "½ ⅓ ¼ ⅞", "Ⅻ ⅻ roman", "①②③ circled", "2024-11-24T16:25:00Z", "v1.2.3-rc.4+build.5",
    "a1b2c3", "abc123def456", "100%", "$5", "#1", "3rd 21st 42nd", "۱۲۳abc", "𝟏𝟐𝟑 math digits",
    "The quick brown fox jumps over the lazy dog.", "THE QUICK BROWN FOX", "Ünïcödé façade naïve café",
    "Größe Straße", "Ελληνικά γλώσσα", "Русский язык, Ёё", "Українська мова ґ", "Հայերեն",
    "עברית עם ניקוד: שָׁלוֹם", "العربية مع التشكيل: مَرْحَبًا", "فارسی ‌ نیم‌فاصله", "हिन्दी भाषा", "বাংলা ভাষা",
    "தமிழ் மொழி", "తెలుగు", "ಕನ್ನಡ", "മലയാളം", "ગુજરાતી", "ਪੰਜਾਬੀ", "ଓଡ଼ିଆ", "සිංහල", "ภาษาไทย", "ພາສາລາວ",
    "བོད་ཡིག", "ქართული ენა", "한국어 텍스트입니다", "日本語のテキスト、カタカナ、ひらがな。", "中文文本，标点符号。",
    "繁體中文測試", "ትግርኛ አማርኛ", "ខ្មែរ", "မြန်မာ", "ᠮᠣᠩᠭᠣᠯ", "ᏣᎳᎩ", "ᚠᚢᚦᚨᚱᚲ runes", "𐌰𐌱𐌲 gothic",
    "𝐀𝐁𝐂 𝑎𝑏𝑐 𝔄𝔅 math letters", "Ⓐⓑ enclosed", "ａｂｃ ＡＢＣ fullwidth", "ｶﾀｶﾅ halfwidth",
    "emoji 😀😃😄 faces", "👩‍👩‍👧‍👦 family", "👨🏽‍💻 technologist", "🏳️‍🌈 flag", "🇺🇸🇯🇵🇫🇷 flags",
    "1️⃣ #️⃣ keycaps", "❤️ ❤ heart", "🤔🧮💡🔥✅❌", "👍🏻👍🏼👍🏽👍🏾👍🏿", "🧑‍🤝‍🧑", "a😀b😀c", "😀" * 30,
    "e\u0301 e\u0301\u0301 combining", "A\u030a Å Å", "n\u0303o", "\u1100\u1161\u11a8 jamo", "か\u3099 が",
    "Å ﬀ ™ ㎏ compat (NFC keeps)", "q\u0307\u0323 order", "\u0344 \u0958 singleton", "ḱṷṓn", "Z̤͔ͧ̑̓ä͖̭̈̇lͮ̒ͫǧ̗͚̚o̙̔ͮ̇͐̇",
    "\u0301 leading mark", "x\u0301y\u0302z\u0303", "ﷺ ﷽", "\u0e01\u0e34\u0e4a thai marks",
    "<|im_start|>user\nhello<|im_end|>\n<|im_start|>assistant\n", "<|endoftext|>", "<|endoftext|><|endoftext|>",
    "text<|im_end|>text", "<|im_start|", "<|im_start", "|im_start|>", "<<|im_end|>>", "<|im_end|><|im_start|>",
    "<think></think>", "<think>\n\n</think>\n\n", "</think>answer", "<think>reasoning</think><summary>sum</summary>",
    "<history>\nprev\n</history><think>\nnew\n</think>", "< think>", "<think >", "<THINK>", "<think", "think>",
    "</summary></history>", "<summary>\n* bullet\n</summary>", "<tool_call>{\"name\": \"f\"}</tool_call>",
    "<|fim_prefix|>def f():<|fim_suffix|>\n<|fim_middle|>", "<|vision_start|><|image_pad|><|vision_end|>",
    "<|object_ref_start|>x<|object_ref_end|><|box_start|>(1,2)<|box_end|>", " <|im_end|> ", "\n<|im_end|>\n",
    "a<|endoftext|>b<|im_start|>c<|im_end|>d", "<|repo_name|>r<|file_sep|>f", "<|quad_start|><|quad_end|><|vision_pad|><|video_pad|>",
    "<|endoftext|" , "<|ENDOFTEXT|>", "<|im_end|>" * 5,
    "def f(x):\n    return x ** 2\n\n\nprint(f(3))\n", "for i in range(10):\n\tif i % 2 == 0:\n\t\tcontinue\n",
    "func main() {\n\tfmt.Println(\"hi\")\n}\n", "if (a && b || !c) { x += 1; }", "let v: Vec<u8> = vec![0; 10];",
    "#include <stdio.h>\nint main(void){return 0;}", "SELECT * FROM t WHERE a = 'x' AND b <> 2;",
    "<div class=\"a\">Hello &amp; goodbye</div>", "{\"key\": [1, 2, {\"n\": null}], \"b\": true}",
    "$ echo \"$HOME\" | grep -E '^/r' && ls -la ~/", "git commit -m 'fix: it's done'", "x=>x*2; a?.b ?? c",
    "/^(?:[a-z0-9!#$%&'*+/=?^_`{|}~-]+)$/i", "path/to/file.go:12:3: error", "https://example.com/a?b=c&d=e#f",
    "user@example.com", "C:\\Users\\name\\file.txt", "    indented four\n        eight\n", "// comment\n/* block */",
    "a+=b-=c*=d/=e", "!!!???...", "---===+++", "...\n\n---\n\n", "—–‐-", "«guillemets» „quotes“ ‚single‘",
    "$$\\int_0^\\infty e^{-x^2}\\,dx = \\frac{\\sqrt{\\pi}}{2}$$", "\\boxed{\\frac{1}{2}}", "\\begin{align}\na &= b \\\\\nc &= d\n\\end{align}",
    "$x_{i,j}^{(k)}$ and $\\alpha\\beta\\gamma$", "\\sum_{n=1}^{N} n^2 = \\frac{N(N+1)(2N+1)}{6}", "\\left( \\right) \\{ \\}",
    "∀x∈ℝ, ∃y: x² ≤ y", "∑∏∫√∞≈≠≤≥±×÷", "α + β = γ", "f'(x) = 2x, f''(x)", "10^{10} 2^{-3}",
    "a" * 200, " " * 300, "\n" * 50, "\t" * 40, "ab" * 150, "1" * 120, "あ" * 60, "-" * 100, "=" * 77,
    "Supercalifragilisticexpialidocious" * 5, " " * 20 + "x" + " " * 20, "x" + " " * 50, "\u00a0" * 30 + "x",
    "\r\n" * 20, " \n" * 20, "!" * 65, "é" * 40, "\U0001F600" * 12, "😀 " * 10,
]
for s in fixed:
    add(s)

# Random mixes of fragments ---------------------------------------------------------------
pools = {
    "word": ["hello", "World", "the", "of", "tokenizer", "naïve", "Straße", "мир", "κόσμος", "世界", "こんにちは",
             "안녕", "שלום", "مرحبا", "नमस्ते", "ไทย", "a", "I", "x", "ABC", "CamelCase", "snake_case", "kebab-case"],
    "num": ["0", "7", "42", "1234567", "3.14", "-1", "1e9", "٣", "½", "²", "Ⅳ", "０", "1,000", "99%"],
    "space": [" ", "  ", "\t", "\n", "\r\n", "\n\n", " \n ", "\u00a0", "\u3000", "\u2009", "   \t", "\u2028"],
    "punct": [".", ",", "!", "?", "'", "\"", "(", ")", "[", "]", "{", "}", "<", ">", "/", "\\", "-", "_", "*", "&",
              "#", "@", "$", "%", "^", "~", "`", "|", ":", ";", "…", "。", "、", "！", "「", "」", "—", "•", "§"],
    "contr": ["'s", "'t", "'re", "'ve", "'m", "'ll", "'d", "'S", "'T", "'RE", "'Ve", "'M", "'LL", "'D", "'x"],
    "special": ["<|endoftext|>", "<|im_start|>", "<|im_end|>", "<think>", "</think>", "<summary>", "</summary>",
                "<history>", "</history>", "<tool_call>", "</tool_call>", "<|im_", "</", "<|"],
    "emoji": ["😀", "👩‍👩‍👧", "👍🏽", "🇫🇷", "1️⃣", "❤️", "🧮", "\u200d", "\ufe0f", "🏳️‍🌈"],
    "mark": ["\u0301", "\u0308", "\u0323", "\u0327", "\u093f", "\u0e34", "\u05b8", "\u064e", "\u3099", "\u20e3"],
    "latex": ["\\frac{", "}{", "}", "\\sqrt", "^{", "_", "$", "\\\\", "\\alpha", "\\boxed{", "&=", "\\cdot"],
    "code": ["func", "(", ")", "{", "}", "=>", ":=", "==", "!=", "//", "/*", "*/", "\t", "    ", "return", "nil"],
}
names = list(pools)
for _ in range(260):
    k = rnd.randint(1, 14)
    parts = []
    for _ in range(k):
        pool = pools[rnd.choice(names)]
        parts.append(rnd.choice(pool))
    add("".join(parts))

# Random code points from many blocks (assigned in Unicode 15, no U+0085/U+FEFF) -------------
ranges = [(0x20, 0x7e), (0xa0, 0x24f), (0x300, 0x36f), (0x370, 0x3ff), (0x400, 0x4ff), (0x590, 0x5ff),
          (0x600, 0x6ff), (0x900, 0x97f), (0xe00, 0xe7f), (0x1100, 0x11ff), (0x2000, 0x206f), (0x2100, 0x22ff),
          (0x3000, 0x30ff), (0x4e00, 0x9fff), (0xac00, 0xd7a3), (0xff00, 0xffef), (0x1f300, 0x1f64f),
          (0x1d400, 0x1d7ff)]
for _ in range(120):
    n = rnd.randint(1, 25)
    chars = []
    while len(chars) < n:
        lo, hi = rnd.choice(ranges)
        c = chr(rnd.randint(lo, hi))
        cat = unicodedata.category(c)
        if cat in ("Cn", "Cs", "Co") or c in "\x85\ufeff":
            continue
        chars.append(c)
        if rnd.random() < 0.2:
            chars.append(rnd.choice([" ", "  ", "\n", "'s", "1"]))
    add("".join(chars))

for s in cases:
    print(json.dumps({"text": s}, ensure_ascii=False))
