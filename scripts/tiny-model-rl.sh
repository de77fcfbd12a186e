#!/bin/sh
# The RL stage of infty's embedded model: `infty train rl` (GRPO over whole iterative
# trajectories, task × efficiency reward, 8 rollouts a question at T = 1.2) from the
# supervised cold start in runtime/tinymodel/coldstart (what scripts/tiny-model.sh trains
# first), exported as BF16 into runtime/tinymodel/model. Three stages:
#   A. 100 steps on problems of 1-60 steps (seed 31), 8 questions × 8 rollouts, lr 5e-4;
#   B. 30 steps more on problems of 1-20 steps (seed 32), from A's last checkpoint: the short
#      problems are where A's model still miscounts its first line, and drawn from all of 1-60
#      too few of each step's groups are short ones that a rollout solved;
#   C. 40 steps more on problems of 11-20 steps (seed 33), 16 questions a step, lr 1e-3: after
#      B the model writes the same first line for every n of 11-19, ignoring n's last digit, and
#      learns here to start at n+19 instead (the answer repeats every 20 steps), a line it
#      already writes right for n of 30-39.
# About an hour on the idle 2-core machine (~19 s a step in A, ~13 s in B, ~25 s in C). Work
# files go to $TINY_WORK. With all rollouts of a step in flight the runtime's batches follow
# timing, so a rebuild follows the recipe but need not end bit-identical. REWARD=task trains
# the ✓T row of README's table instead (into $TINY_WORK only, nothing is exported).
set -eu
GO=${GO:-go}
export GOEXPERIMENT="${GOEXPERIMENT-simd}"
WORK=${TINY_WORK:-${TMPDIR:-/tmp}/infty-tiny-model}
REWARD=${REWARD:-task+eff}
STEPS_A=${RL_STEPS:-100}
STEPS_B=${RL_STEPS_B:-30}
STEPS_C=${RL_STEPS_C:-40}
A="$WORK/rl-$REWARD-a"
B="$WORK/rl-$REWARD-b"
C="$WORK/rl-$REWARD-c"
mkdir -p "$WORK"
$GO build -o "$WORK/infty" .
rl() { # model out length seed steps batch lr
	"$WORK/infty" train rl --model "$1" --out "$2" --synthetic --length "$3" --seed "$4" --steps "$5" \
		--batch "$6" --group 8 --temperature 1.2 --lr "$7" --reward "$REWARD" --save-every 10 --quiet
}
rl runtime/tinymodel/coldstart "$A" 1-60 31 "$STEPS_A" 8 5e-4
rl "$(printf '%s/checkpoint-%06d' "$A" "$STEPS_A")" "$B" 1-20 32 "$STEPS_B" 8 5e-4
rl "$(printf '%s/checkpoint-%06d' "$B" "$STEPS_B")" "$C" 11-20 33 "$STEPS_C" 16 1e-3
last=$(printf '%s/checkpoint-%06d' "$C" "$STEPS_C")
if [ "$REWARD" != task+eff ]; then
	echo "trained $last (not exported: the embedded model is the task+eff run)"
	exit 0
fi
rm -rf runtime/tinymodel/model.new
"$WORK/infty" train export "$last" runtime/tinymodel/model.new --dtype bf16
rm -f runtime/tinymodel/model/*.json runtime/tinymodel/model/*.safetensors
mv runtime/tinymodel/model.new/* runtime/tinymodel/model/
rmdir runtime/tinymodel/model.new
echo "embedded model rebuilt from the cold start by RL; \`make build\` puts it in the binary"
