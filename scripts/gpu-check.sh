#!/usr/bin/env bash
# gpu-check.sh — check infty's CUDA backend on a GPU machine, by hand.
#
# The GPU machine needs no Go toolchain and no network. On the development machine (x86-64, cgo):
#     CGO_ENABLED=1 go build -tags xla -o infty .
#     CGO_ENABLED=1 go test -c -tags xla -o runtime.test ./runtime     # for the batch part
#     CGO_ENABLED=1 go test -c -tags xla -o rl.test ./train/rl         # for the rltests part
# then copy the repository (testdata/, scripts/, runtime/ and train/ are what this script reads)
# with those binaries to the GPU machine and, from the repository root there, run
#     scripts/gpu-check.sh [./infty [./runtime.test [./rl.test]]]
# It needs a Python (PYTHON=..., default python3) holding jax-cuda13-pjrt (or -cuda12) with its
# nvidia-* wheels, numpy, and torch + transformers for the 1.5B model and the timing part.
#
# Parts (PARTS="fixtures bench rl rltests batch timing", the default, runs them all in this
# order; each has its own time limit, T_<part> seconds, and one that fails or runs out does not
# stop the rest):
#   fixtures  `infty logits` / `infty generate` on the four tiny fixtures, against
#             testdata/models/*.reference.json (F32 at 1e-3 of each row's largest logit with
#             TF32 off, BF16 at 3e-2; greedy ids all equal);
#   bench     `infty bench --synthetic --seed 777 --n 40` at --parallel 16 and --parallel 1
#             (#15: batching must not change a greedy table), with both wall times;
#   rl        three steps of `infty train rl` from the cold start (the recipe's stage A, but at
#             temperature 1, where the rollout records its log-probabilities), with the mean gap
#             between those and the trainer's recomputation (logp_gap; 0 at any other temperature);
#   rltests   the RL tests that compare numbers, run on the GPU (with TF32 off, as fixtures):
#             the rollout's log-probabilities against the trainer's, within 1e-4, on the embedded
#             cold start and on the random Qwen3 fixture; a resumed run equal to the bit to one
#             that was not; and the same update from one micro-batch as from six;
#   batch     BenchmarkBatch: aggregate decode tokens/s at 1 and 8 streams (STREAMS) of a
#             DeepSeek-R1-Distill-Qwen-1.5B-shaped random model with BF16 weights (BATCH_BENCH, a
#             -test.bench pattern, picks others: '^BenchmarkBatch$' adds the embedded model and
#             Float32 weights, which more than double the time, most of it loading and compiling);
#   timing    prefill and decode of that model with `infty backend bench` and with transformers
#             on the same GPU, the HBM copy bandwidth with torch, and the ratios.
# Before the parts it finds the PJRT CUDA plugin in that Python's jax_plugins and the nvidia-*
# library folders, and exports INFTY_PJRT_PLUGIN and LD_LIBRARY_PATH (the loader reads it only at
# start-up). BACKEND=go runs the same parts on the pure-Go backend (a dry run of this script on
# any machine; the model parts that need torch still need it). Work files go to $WORK (default
# /tmp/infty-gpu-check); the 3.5 GB random model is kept there between runs.
set -uo pipefail
cd "$(dirname "$0")/.."
BIN=$(realpath "${1:-./infty}")
RTEST=$(realpath "${2:-./runtime.test}")
RLTEST=$(realpath "${3:-./rl.test}")
PY=${PYTHON:-python3}
WORK=${WORK:-/tmp/infty-gpu-check}
BACKEND=${BACKEND:-cuda}
FIXTURE_BACKEND=${GPU_CHECK_BACKEND:-$BACKEND,notf32} # no TF32: F32 fixtures are checked at F32 accuracy
[ "$BACKEND" = go ] && FIXTURE_BACKEND=go
ALL_PARTS="fixtures bench rl rltests batch timing"
PARTS=${PARTS:-$ALL_PARTS}
PROMPT=${PROMPT:-512}
NEW=${NEW:-256}
RUNS=${RUNS:-3}
STREAMS=${STREAMS:-1,8}
BATCH_BENCH=${BATCH_BENCH:-BenchmarkBatch/big-bf16}
check="$PY $(pwd)/scripts/gpu_check.py"
mkdir -p "$WORK"
WORK=$(realpath "$WORK")
# MODEL=DIR times that folder instead of making the random 1.5B-shaped one (which needs torch).
model=${MODEL:-$WORK/qwen2-1.5b-random-bf16}

[ -x "$BIN" ] || { echo "no infty binary at $BIN (build it with: CGO_ENABLED=1 go build -tags xla -o infty .)"; exit 1; }
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader || echo "nvidia-smi failed"

if [ "$BACKEND" != go ]; then
  echo "== plugin and libraries"
  plugin=$($check plugin) || exit 1
  libs=$($check nvidia-libs) || exit 1
  export INFTY_PJRT_PLUGIN="$plugin"
  export LD_LIBRARY_PATH="$libs${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
  # XLA compiles PTX with ptxas: the nvidia-cuda-nvcc wheel's, else the CUDA toolkit's.
  IFS=: read -ra dirs <<<"$libs"
  for d in "${dirs[@]%/lib}" /usr/local/cuda; do [ -x "$d/bin/ptxas" ] && PATH="$PATH:$d/bin"; done
  echo "INFTY_PJRT_PLUGIN=$INFTY_PJRT_PLUGIN"
  echo "LD_LIBRARY_PATH=$LD_LIBRARY_PATH"
  echo "ptxas: $(command -v ptxas || echo none)"
  "$BIN" backend --backend "$BACKEND" --open || exit 1
fi
export INFTY_BACKEND=$BACKEND

# model_ready makes the random 1.5B-shaped model unless MODEL names one (the batch and timing
# parts both time it; it is made once and kept in $WORK).
model_ready() { [ -n "${MODEL:-}" ] || $check make-model "$model"; }

fixtures() {
  local fail=0
  for m in qwen2-tiny qwen3-tiny; do
    ref=testdata/models/$m.reference.json
    ids=$($check ids "$ref")
    for dt in f32 bf16; do
      echo "$m-$dt"
      if ! "$BIN" logits --model "testdata/models/$m-$dt" --ids "$ids" --backend "$FIXTURE_BACKEND" >"$WORK/$m-$dt.logits.json" ||
         ! "$BIN" generate --model "testdata/models/$m-$dt" --ids "$ids" --max-tokens 24 --backend "$FIXTURE_BACKEND" >"$WORK/$m-$dt.gen.json"; then
        echo "  infty failed: FAIL"; fail=1; continue
      fi
      $check compare "$ref" "$dt" "$WORK/$m-$dt.logits.json" "$WORK/$m-$dt.gen.json" || fail=1
    done
  done
  return $fail
}

# The greedy table's columns that batching must not change: mode, acc, tok, iters, broke, n.
table() { awk '$1 == "iterative" || $1 == "vanilla" { print $1, $2, $3, $5, $6, $7 }' "$1"; }
bench() {
  local p t0
  for p in 16 1; do
    t0=$(date +%s%N)
    "$BIN" bench --synthetic --seed 777 --n 40 --parallel $p --backend "$BACKEND" >"$WORK/bench-p$p.txt" 2>"$WORK/bench-p$p.err" ||
      { cat "$WORK/bench-p$p.txt" "$WORK/bench-p$p.err"; return 1; }
    echo "--parallel $p: $((($(date +%s%N) - t0) / 1000000)) ms wall"
    cat "$WORK/bench-p$p.txt"
  done
  if [ "$(table "$WORK/bench-p16.txt")" = "$(table "$WORK/bench-p1.txt")" ]; then
    echo "bench: --parallel 16 and 1 print the same acc, tok, iters, broke: ok"
  else
    echo "bench: the tables differ: FAIL"; return 1
  fi
}

rl() {
  rm -rf "$WORK/rl"
  "$BIN" train rl --model runtime/tinymodel/coldstart --out "$WORK/rl" --synthetic --length 1-60 --seed 31 \
    --steps 3 --batch 8 --group 8 --temperature 1 --lr 5e-4 --reward task+eff --backend "$BACKEND" --quiet || return 1
  cat "$WORK/rl/metrics.jsonl"
}

rltests() {
  [ -x "$RLTEST" ] || { echo "no RL test binary at $RLTEST (CGO_ENABLED=1 go test -c -tags xla -o rl.test ./train/rl)"; return 1; }
  # From train/rl, where the test binary's package lives; its models are found from there.
  (cd train/rl && INFTY_BACKEND="$FIXTURE_BACKEND" "$RLTEST" -test.v -test.timeout 15m \
    -test.run 'TestRolloutLogProbsMatchTrainer|TestResumeIsExact|TestMicroBatchingKeepsTheUpdate')
}

batch() {
  [ -x "$RTEST" ] || { echo "no runtime test binary at $RTEST (CGO_ENABLED=1 go test -c -tags xla -o runtime.test ./runtime)"; return 1; }
  model_ready || return 1
  # From runtime/, where the test binary's package lives.
  (cd runtime && INFTY_BENCH_MODEL="$model" INFTY_BENCH_STREAMS="$STREAMS" \
    "$RTEST" -test.run '^$' -test.bench "$BATCH_BENCH" -test.benchtime 1x -test.timeout 20m)
}

timing() {
  model_ready || return 1
  "$BIN" backend bench --model "$model" --backend "$BACKEND" --prompt "$PROMPT" --new "$NEW" --runs "$RUNS" | tee "$WORK/infty-bench.json" || return 1
  $check hf-bench "$model" "$PROMPT" "$NEW" "$RUNS" | tee "$WORK/hf-bench.json" || return 1
  $check hbm | tee "$WORK/hbm.json" || return 1
  $check summary "$WORK/infty-bench.json" "$WORK/hf-bench.json" "$WORK/hbm.json" "$($check weight-bytes "$model")"
}

declare -A limit=([fixtures]=${T_fixtures:-120} [bench]=${T_bench:-180} [rl]=${T_rl:-240} [rltests]=${T_rltests:-300} [batch]=${T_batch:-300} [timing]=${T_timing:-240})
results=()
# A part runs in a bash of its own under timeout, so that it can be cut off alone; pipefail, as
# here, so that a part whose command fails before a tee fails too.
export -f model_ready fixtures table bench rl rltests batch timing
export BIN RTEST RLTEST PY WORK BACKEND FIXTURE_BACKEND PROMPT NEW RUNS STREAMS BATCH_BENCH check model MODEL
for part in $PARTS; do
  [ -n "${limit[$part]:-}" ] || { echo "unknown part $part ($ALL_PARTS)"; exit 2; }
  echo "== $part on --backend $BACKEND ($(date -u +%H:%M:%S), at most ${limit[$part]} s)"
  start=$(date +%s)
  timeout -k 10 "${limit[$part]}" bash -o pipefail -c "$part"
  rc=$?
  took=$(($(date +%s) - start))
  case $rc in
    0) results+=("$part: ok (${took} s)") ;;
    124|137) results+=("$part: TIMED OUT after ${took} s") ;;
    *) results+=("$part: FAIL (exit $rc, ${took} s)") ;;
  esac
done
echo "== summary"
printf '%s\n' "${results[@]}"
! printf '%s\n' "${results[@]}" | grep -qv ': ok'
