#!/usr/bin/env python3
"""Helpers for scripts/gpu-check.sh (run on the GPU machine; needs numpy, and torch +
transformers for the timing parts). Subcommands:

  plugin                         print the CUDA PJRT plugin path of this Python's jax wheels
  nvidia-libs                    print the nvidia-* wheels' lib folders, ':'-joined
  ids REF.json                   print the reference prompt ids, comma-separated
  compare REF.json DTYPE LOGITS.json GEN.json   check infty's output against the reference
  make-model DIR                 write a DeepSeek-R1-Distill-Qwen-1.5B-shaped random BF16 Qwen2
  hf-bench DIR PROMPT NEW RUNS   time transformers prefill/decode on the GPU (JSON)
  hbm                            device-to-device copy bandwidth with torch (JSON)
  weight-bytes DIR               bytes of weights read per decoded token (all but the embedding)
  summary INFTY.json HF.json HBM.json BYTES   print the ratios
"""
import glob
import importlib.util
import json
import os
import struct
import sys
import time


def plugin():
    for mod in ("jax_plugins.xla_cuda13", "jax_plugins.xla_cuda12"):
        try:
            spec = importlib.util.find_spec(mod)  # does not import jax itself
        except ModuleNotFoundError:
            continue
        if spec and spec.submodule_search_locations:
            for d in spec.submodule_search_locations:
                p = os.path.join(d, "xla_cuda_plugin.so")
                if os.path.isfile(p):
                    print(p)
                    return 0
    print("no jax_plugins/xla_cuda13 or xla_cuda12 in this Python (pip install 'jax[cuda13]')", file=sys.stderr)
    return 1


def nvidia_libs():
    spec = importlib.util.find_spec("nvidia")
    if not spec or not spec.submodule_search_locations:
        print("no nvidia-* wheels in this Python", file=sys.stderr)
        return 1
    dirs = []
    for root in spec.submodule_search_locations:
        dirs += sorted(d for d in glob.glob(os.path.join(root, "*", "lib")) if os.path.isdir(d))
    print(":".join(dirs))
    return 0


def ids(ref):
    print(",".join(str(i) for i in json.load(open(ref))["prompt_ids"]))
    return 0


def compare(ref_path, dtype, logits_path, gen_path):
    import numpy as np
    tol = float(os.environ.get("GPU_CHECK_TOL_" + dtype.upper(), "1e-3" if dtype == "f32" else "3e-2"))
    ref = json.load(open(ref_path))[dtype]
    want = np.array(ref["prompt_logits"], dtype=np.float64)
    got = np.array(json.load(open(logits_path))["logits"], dtype=np.float64)
    ok = True
    if got.shape != want.shape:
        print(f"  logits shape {got.shape}, want {want.shape}: FAIL")
        return 1
    # Error relative to each row's largest magnitude, as the fixture README states it.
    rel = (np.abs(got - want).max(axis=1) / np.abs(want).max(axis=1)).max()
    status = "ok" if rel <= tol else "FAIL"
    ok &= rel <= tol
    print(f"  logits: max row-relative error {rel:.2e} (tolerance {tol:.0e}): {status}")
    gen = json.load(open(gen_path))["ids"]
    greedy = ref["greedy_ids"]
    same = 0
    while same < min(len(gen), len(greedy)) and gen[same] == greedy[same]:
        same += 1
    match = same == len(greedy) and len(gen) == len(greedy)
    ok &= match
    print(f"  greedy: {same}/{len(greedy)} ids agree (min reference margin {ref['min_greedy_margin']:.3f}): "
          + ("ok" if match else f"FAIL\n    got  {gen}\n    want {greedy}"))
    return 0 if ok else 1


def make_model(out):
    import torch
    from transformers import AutoConfig, AutoModelForCausalLM
    if os.path.exists(os.path.join(out, "model.safetensors.index.json")):
        print("exists:", out)
        return 0
    # The config is written as a hub model's config.json is: transformers reads its legacy
    # keys (rope_theta, ...) on every version, and infty reads this same file afterwards.
    cfg = {"architectures": ["Qwen2ForCausalLM"], "model_type": "qwen2", "hidden_size": 1536,
           "intermediate_size": 8960, "num_hidden_layers": 28, "num_attention_heads": 12,
           "num_key_value_heads": 2, "vocab_size": 151936, "rope_theta": 10000.0, "rms_norm_eps": 1e-6,
           "tie_word_embeddings": False, "max_position_embeddings": 131072, "hidden_act": "silu",
           "torch_dtype": "bfloat16", "bos_token_id": 151643, "eos_token_id": 151645,
           "use_sliding_window": False}
    os.makedirs(out, exist_ok=True)
    path = os.path.join(out, "config.json")
    json.dump(cfg, open(path, "w"), indent=2)
    torch.manual_seed(0)
    with torch.device("cuda"):
        model = AutoModelForCausalLM.from_config(AutoConfig.from_pretrained(out)).to(torch.bfloat16)
    model.save_pretrained(out, max_shard_size="1GB", safe_serialization=True)
    json.dump(cfg, open(path, "w"), indent=2)  # keep the hub-style file, whatever save_pretrained wrote
    print("wrote", out)
    return 0


def hf_bench(path, prompt_len, new, runs):
    import torch
    from transformers import AutoModelForCausalLM
    prompt_len, new, runs = int(prompt_len), int(new), int(runs)
    model = AutoModelForCausalLM.from_pretrained(path, dtype=torch.bfloat16, attn_implementation="sdpa").cuda().eval()
    vocab = model.config.vocab_size
    x = torch.tensor([[(i * 7919 + 13) % vocab for i in range(prompt_len)]], device="cuda")

    def timed(fn):
        torch.cuda.synchronize()
        t = time.perf_counter()
        fn()
        torch.cuda.synchronize()
        return time.perf_counter() - t

    def gen(n):
        return model.generate(x, attention_mask=torch.ones_like(x), max_new_tokens=n, min_new_tokens=n,
                              do_sample=False, pad_token_id=0)

    with torch.inference_mode():
        gen(new)  # warm-up
        prefill, decode = [], []
        for _ in range(runs):
            tp = timed(lambda: model(x, use_cache=True))
            t1 = timed(lambda: gen(1))
            tn = timed(lambda: gen(new))
            prefill.append(prompt_len / tp)
            decode.append((new - 1) / (tn - t1))
    med = lambda v: sorted(v)[len(v) // 2]
    print(json.dumps({"backend": f"transformers {__import__('transformers').__version__} torch {torch.__version__} "
                      f"({torch.cuda.get_device_name()})", "prompt_tokens": prompt_len, "new_tokens": new,
                      "prefill_tok_s": med(prefill), "decode_tok_s": med(decode),
                      "prefill_all_tok": prefill, "decode_all_tok": decode}))
    return 0


def hbm():
    import torch
    n = 2 << 30
    a = torch.empty(n, dtype=torch.uint8, device="cuda")
    b = torch.empty_like(a)
    for _ in range(3):
        b.copy_(a)
    start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
    iters = 20
    start.record()
    for _ in range(iters):
        b.copy_(a)
    end.record()
    torch.cuda.synchronize()
    secs = start.elapsed_time(end) / 1e3
    # Bytes read plus bytes written: a decode step only reads weights, so this is the
    # rate at which the device moves bytes through HBM.
    print(json.dumps({"copy_GBps_read_plus_write": 2 * n * iters / secs / 1e9, "device": torch.cuda.get_device_name()}))
    return 0


def weight_bytes(path):
    total = 0
    for f in glob.glob(os.path.join(path, "*.safetensors")):
        with open(f, "rb") as fh:
            n = struct.unpack("<Q", fh.read(8))[0]
            header = json.loads(fh.read(n))
        for name, info in header.items():
            if name == "__metadata__" or name.endswith("embed_tokens.weight"):
                continue
            total += info["data_offsets"][1] - info["data_offsets"][0]
    print(total)
    return 0


def summary(infty_path, hf_path, hbm_path, nbytes):
    infty, hf, bw = (json.load(open(p)) for p in (infty_path, hf_path, hbm_path))
    floor = bw["copy_GBps_read_plus_write"] * 1e9 / int(nbytes)
    print(f"device: {bw['device']}; HBM copy {bw['copy_GBps_read_plus_write']:.0f} GB/s; "
          f"weights per token {int(nbytes) / 1e9:.2f} GB; decode floor {floor:.0f} tok/s")
    print(f"infty ({infty['backend']}): prefill {infty['prefill_tok_s']:.0f} tok/s, decode {infty['decode_tok_s']:.1f} tok/s")
    print(f"HF    ({hf['backend']}): prefill {hf['prefill_tok_s']:.0f} tok/s, decode {hf['decode_tok_s']:.1f} tok/s")
    print(f"ratios: prefill infty/HF {infty['prefill_tok_s'] / hf['prefill_tok_s']:.2f}, "
          f"decode infty/HF {infty['decode_tok_s'] / hf['decode_tok_s']:.2f}, "
          f"decode infty/floor {infty['decode_tok_s'] / floor:.2f}, decode HF/floor {hf['decode_tok_s'] / floor:.2f}")
    return 0


if __name__ == "__main__":
    cmds = {"plugin": plugin, "nvidia-libs": nvidia_libs, "ids": ids, "compare": compare, "make-model": make_model,
            "hf-bench": hf_bench, "hbm": hbm, "weight-bytes": weight_bytes, "summary": summary}
    if len(sys.argv) < 2 or sys.argv[1] not in cmds:
        print(__doc__, file=sys.stderr)
        sys.exit(2)
    sys.exit(cmds[sys.argv[1]](*sys.argv[2:]))
