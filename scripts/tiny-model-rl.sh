#!/bin/sh
# The RL stage of infty's embedded model: `infty train rl` (GRPO over whole iterative
# trajectories, task × efficiency reward, 100 steps of 8 questions × 8 rollouts at T = 1.2) from
# the supervised cold start in runtime/tinymodel/coldstart (what scripts/tiny-model.sh trains
# first), exported as BF16 into runtime/tinymodel/model. About 32 minutes on the idle 2-core
# machine (~19 s a step). Work files go to
# $TINY_WORK. With all rollouts of a step in flight the runtime's batches follow timing, so a
# rebuild follows the recipe but need not end bit-identical.
set -eu
GO=${GO:-go}
export GOEXPERIMENT="${GOEXPERIMENT-simd}"
WORK=${TINY_WORK:-${TMPDIR:-/tmp}/infty-tiny-model}
STEPS=${RL_STEPS:-100}
mkdir -p "$WORK"
$GO build -o "$WORK/infty" .
"$WORK/infty" train rl --model runtime/tinymodel/coldstart --synthetic --length 1-60 --seed 31 \
	--out "$WORK/rl-task-eff" --steps "$STEPS" --batch 8 --group 8 --temperature 1.2 --lr 5e-4 \
	--reward task+eff --save-every 10 --quiet
rm -rf runtime/tinymodel/model.new
"$WORK/infty" train export "$(printf '%s/rl-task-eff/checkpoint-%06d' "$WORK" "$STEPS")" runtime/tinymodel/model.new --dtype bf16
rm -f runtime/tinymodel/model/*.json runtime/tinymodel/model/*.safetensors
mv runtime/tinymodel/model.new/* runtime/tinymodel/model/
rmdir runtime/tinymodel/model.new
echo "embedded model rebuilt from the cold start by RL; \`make build\` puts it in the binary"
