// Reference chat-template renderer: renders the Jinja chat_template of a tokenizer_config.json
// with @huggingface/jinja, the Hugging Face JavaScript implementation of Jinja.
// usage: node chatref.mjs TOKENIZER_DIR < conversations.jsonl > rendered.jsonl
//   each input line: {"messages": [...], "add_generation_prompt": bool, ...extra template variables}
//   each output line adds "rendered".
import { readFileSync } from "node:fs";
import { Template } from "@huggingface/jinja";
import { createInterface } from "node:readline";

const cfg = JSON.parse(readFileSync(`${process.argv[2]}/tokenizer_config.json`, "utf8"));
const tmpl = new Template(cfg.chat_template);
const tokenStr = (t) => (t && typeof t === "object" ? t.content : t);
for await (const line of createInterface({ input: process.stdin })) {
  if (!line.trim()) continue;
  const c = JSON.parse(line);
  let rendered; try { rendered = tmpl.render({
    bos_token: tokenStr(cfg.bos_token) ?? "", eos_token: tokenStr(cfg.eos_token) ?? "", ...c,
  });
  } catch (e) { console.log(JSON.stringify({ ...c, error: e.message })); continue; }
  console.log(JSON.stringify({ ...c, rendered }));
}
