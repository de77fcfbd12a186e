#!/usr/bin/env bash
# gpu-check.sh — check infty's CUDA backend on a GPU machine, by hand.
#
# The GPU machine needs no Go toolchain and no network. On the development machine (x86-64, cgo):
#     CGO_ENABLED=1 go build -tags xla -o infty .
# then copy the repository (testdata/ and scripts/ are what this script reads) with that binary
# to the GPU machine and, from the repository root there, run
#     scripts/gpu-check.sh [./infty]
# It needs a Python (PYTHON=..., default python3) holding jax-cuda13-pjrt (or -cuda12) with its
# nvidia-* wheels, numpy, and torch + transformers for the timing part.
#
# What it does:
#   1. finds the PJRT CUDA plugin in that Python's jax_plugins and the nvidia-* library folders,
#      and exports INFTY_PJRT_PLUGIN and LD_LIBRARY_PATH (the loader reads it only at start-up);
#   2. runs `infty logits` / `infty generate` with --backend cuda on the four tiny fixtures and
#      compares with testdata/models/*.reference.json;
#   3. times prefill and decode of a DeepSeek-R1-Distill-Qwen-1.5B-shaped random BF16 model with
#      `infty backend bench` and with transformers on the same GPU, measures the HBM copy
#      bandwidth with torch, and prints the ratios.
# Set SKIP_TIMING=1 to stop after the fixture checks. Work files go to $WORK (default
# /tmp/infty-gpu-check); the 3.5 GB random model is kept there between runs.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${1:-./infty}
PY=${PYTHON:-python3}
WORK=${WORK:-/tmp/infty-gpu-check}
BACKEND=${GPU_CHECK_BACKEND:-cuda,notf32}  # no TF32: F32 fixtures are checked at F32 accuracy
BENCH_BACKEND=${GPU_CHECK_BENCH_BACKEND:-cuda}
PROMPT=${PROMPT:-512}
NEW=${NEW:-256}
RUNS=${RUNS:-3}
check="$PY scripts/gpu_check.py"
mkdir -p "$WORK"

[ -x "$BIN" ] || { echo "no infty binary at $BIN (build it with: CGO_ENABLED=1 go build -tags xla -o infty .)"; exit 1; }
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader || echo "nvidia-smi failed"

echo "== 1. plugin and libraries"
plugin=$($check plugin)
libs=$($check nvidia-libs)
export INFTY_PJRT_PLUGIN="$plugin"
export LD_LIBRARY_PATH="$libs${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
echo "INFTY_PJRT_PLUGIN=$INFTY_PJRT_PLUGIN"
echo "LD_LIBRARY_PATH=$LD_LIBRARY_PATH"
"$BIN" backend --backend cuda --open

echo "== 2. fixtures on --backend $BACKEND"
fail=0
for m in qwen2-tiny qwen3-tiny; do
  ref=testdata/models/$m.reference.json
  ids=$($check ids "$ref")
  for dt in f32 bf16; do
    echo "$m-$dt"
    if ! "$BIN" logits --model "testdata/models/$m-$dt" --ids "$ids" --backend "$BACKEND" >"$WORK/$m-$dt.logits.json" ||
       ! "$BIN" generate --model "testdata/models/$m-$dt" --ids "$ids" --max-tokens 24 --backend "$BACKEND" >"$WORK/$m-$dt.gen.json"; then
      echo "  infty failed: FAIL"; fail=1; continue
    fi
    $check compare "$ref" "$dt" "$WORK/$m-$dt.logits.json" "$WORK/$m-$dt.gen.json" || fail=1
  done
done
[ "$fail" = 0 ] && echo "fixtures: all ok" || echo "fixtures: FAILURES above"

if [ "${SKIP_TIMING:-0}" = 1 ]; then exit "$fail"; fi

echo "== 3. timing (prompt $PROMPT, $NEW new tokens, median of $RUNS)"
model=$WORK/qwen2-1.5b-random-bf16
$check make-model "$model"
"$BIN" backend bench --model "$model" --backend "$BENCH_BACKEND" --prompt "$PROMPT" --new "$NEW" --runs "$RUNS" | tee "$WORK/infty-bench.json"
$check hf-bench "$model" "$PROMPT" "$NEW" "$RUNS" | tee "$WORK/hf-bench.json"
$check hbm | tee "$WORK/hbm.json"
$check summary "$WORK/infty-bench.json" "$WORK/hf-bench.json" "$WORK/hbm.json" "$($check weight-bytes "$model")"
exit "$fail"
