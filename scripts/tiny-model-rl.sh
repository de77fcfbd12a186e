#!/bin/sh
# The RL stage of infty's embedded model: `infty train rl` (GRPO over whole iterative
# trajectories, task × efficiency reward, 8 rollouts a question) from the supervised cold start
# in runtime/tinymodel/coldstart (what scripts/tiny-model.sh trains first), exported as BF16
# into runtime/tinymodel/model. Six stages:
#   A. 100 steps on problems of 1-60 steps (seed 31), 8 questions × 8 rollouts, lr 5e-4;
#   B. 30 steps more on problems of 1-20 steps (seed 32), from A's last checkpoint: the short
#      problems are where A's model still miscounts its first line, and drawn from all of 1-60
#      too few of each step's groups are short ones that a rollout solved;
#   C. 40 steps more on problems of 11-20 steps (seed 42), 16 questions a step, lr 1e-3: after
#      B the model writes the same first line for every n of 11-19, ignoring n's last digit, and
#      learns here to start at n+19 instead (the answer repeats every 20 steps), a line it
#      already writes right for n of 30-39. Whether it does rests on a few lucky samples: from
#      this B, seeds 33 and 41 left 11-19 unlearnt and 42 taught it by step 30 (README);
#   D. 70 steps more on problems of 41-60 steps, 16 questions a step, T = 1.5, lr 1e-3, from C's
#      best checkpoint: the efficiency reward teaches the model to start a long problem 20 steps
#      lower (n-21, the same answer), four iterations fewer. Twice, with seeds 35 and 38, and
#      best takes from both: which seed gets there is luck, as in C (on a 2-core AMD EPYC 35
#      did; on a 2-core Xeon 35 did not and 38 did, README);
#   E. 40 steps more on 11-20 and 41-60 in turn (seed 36), as D, from D's best checkpoint: D's new
#      first digit leaks into 11-19 when trained on long problems alone;
#   F. 10 steps more on 1-60 (seed 37), 16 questions a step, T = 1.2, lr 5e-4. The shipped
#      model's A-E ran while a run that broke the format still earned its answer's reward, and it
#      learned to write on past its boxed answer until the bound cut it; F, under the rule that
#      such a run earns nothing, taught it to end its turn again. (A rebuild runs every stage
#      under that rule.)
#   D, E and F go on from the checkpoint that earns the most on a validation seed (best, below)
#   among the stage before's checkpoints and that stage's own start, and the model exported is
#   F's best by the same rule: a stage that made the model worse is passed over (in a rebuild
#   under lockstep, E and F both did; README).
#   Only task+eff has a reason for D, E and F, so REWARD=task stops after C, and names C's best
#   by accuracy alone (each reward's row is the checkpoint that earns the most of that reward).
# About 2¼ hours from an empty $TINY_WORK on a 2-core Xeon (~9 s a step in A, ~7 s in B, ~17 s
# in C, ~33 s in each D, ~15-55 s in E, ~25 s in F, and ~5 s a checkpoint to pick each best).
# Run again after a kill, it goes on where it stopped: each stage resumes from its last
# checkpoint (a finished one at once), to the same bits.
# Work files go to $TINY_WORK. The rollouts run in lockstep, so each stage trains the same bits
# every time on one machine (best's greedy bench, 16 in flight, could pick otherwise only
# through a near-tie; a CPU whose kernels round otherwise draws C's luck again, but a 2-core
# Xeon on the AVX2 kernels, as infty runs them by default, reproduced A-C's held-out figures
# digit for digit, though its D drifted apart: README, "The rebuild on another CPU").
# The shipped model's stages ran before lockstep, so a rebuild need not end where it did, and
# it does not: on a 2-core AMD EPYC the rebuild (D on seed 35 alone) exports D's step 70, which
# meets #16's accuracy goals in 7.10 iterations, fewer than the rebuilt ✓T's 7.76 but more than
# the shipped run's ✓T's 6.61; on the Xeon, with D on both seeds, F's step 10 from seed 38's D
# step 70, which meets them in 6.57 iterations, fewer than either ✓T (with D on seed 35 alone,
# F's step 10 from D's step 10: 7.76) (README, "D, E and F of the rebuild" and "The rest of the
# recipe on that Xeon"). Either way the shipped model (6.46) stays the default. REWARD=task
# trains the ✓T row of README's table instead (into $TINY_WORK only, nothing is exported).
set -eu
GO=${GO:-go}
export GOEXPERIMENT="${GOEXPERIMENT-simd}"
WORK=${TINY_WORK:-${TMPDIR:-/tmp}/infty-tiny-model}
REWARD=${REWARD:-task+eff}
EFF=0
[ "$REWARD" = task+eff ] && EFF=1
STEPS_A=${RL_STEPS:-100}
STEPS_B=${RL_STEPS_B:-30}
STEPS_C=${RL_STEPS_C:-40}
STEPS_D=${RL_STEPS_D:-70}
STEPS_E=${RL_STEPS_E:-40}
STEPS_F=${RL_STEPS_F:-10}
A="$WORK/rl-$REWARD-a"
B="$WORK/rl-$REWARD-b"
C="$WORK/rl-$REWARD-c"
D="$WORK/rl-$REWARD-d"
D2="$WORK/rl-$REWARD-d38"
E="$WORK/rl-$REWARD-e"
F="$WORK/rl-$REWARD-f"
mkdir -p "$WORK"
$GO build -o "$WORK/infty" .
rl() { # model out length seed steps batch lr [temperature]
	"$WORK/infty" train rl --model "$1" --out "$2" --synthetic --length "$3" --seed "$4" --steps "$5" \
		--batch "$6" --group 8 --temperature "${8:-1.2}" --lr "$7" --reward "$REWARD" --save-every 10 --quiet
}
# score CHECKPOINT prints what a checkpoint earns of its own reward on problems of a seed no
# stage trains on and bench does not use (5151, 120 of 1-60 steps, greedy): accuracy × R_eff
# at the mean iterations (accuracy alone for REWARD=task), then the checkpoint.
score() {
	"$WORK/infty" bench --synthetic --seed 5151 --n 120 --length 1-60 --modes iterative \
		--parallel 16 --model "$1" | awk -v c="$1" -v eff="$EFF" '$1 == "iterative" { x = eff * ($5 - 1) / 16; printf "%.6f %s\n", $2 / 100 * (1 - x * x), c }'
}
# best START DIR... prints, of a stage's start (score's line for it, scored once) and the
# checkpoints in the DIRs, the score line that earns the most, the latest of equals (stage
# folders sort in stage order). D can fall into a shortcut late: a rerun of it solved 95.8% of
# these at steps 40-60 and 72.5% at step 70, by skipping 20 steps partway through.
best() {
	start=$1
	shift
	{
		echo "$start"
		for d in "$@"; do
			for c in "$d"/checkpoint-*; do score "$c"; done
		done
	} | sort -k1,1g -k2,2 | tail -1
}
rl runtime/tinymodel/coldstart "$A" 1-60 31 "$STEPS_A" 8 5e-4
rl "$(printf '%s/checkpoint-%06d' "$A" "$STEPS_A")" "$B" 1-20 32 "$STEPS_B" 8 5e-4
rl "$(printf '%s/checkpoint-%06d' "$B" "$STEPS_B")" "$C" 11-20 42 "$STEPS_C" 16 1e-3
from_c=$(best "$(score "$(printf '%s/checkpoint-%06d' "$B" "$STEPS_B")")" "$C")
echo "best of B's end and C: $from_c"
if [ "$REWARD" != task+eff ]; then
	echo "trained ${from_c#* } (not exported: the embedded model is the task+eff run)"
	exit 0
fi
rl "${from_c#* }" "$D" 41-60 35 "$STEPS_D" 16 1e-3 1.5
rl "${from_c#* }" "$D2" 41-60 38 "$STEPS_D" 16 1e-3 1.5
from_d=$(best "$from_c" "$D" "$D2")
echo "best of D's start and both Ds: $from_d"
rl "${from_d#* }" "$E" 11-20,41-60 36 "$STEPS_E" 16 1e-3 1.5
from_e=$(best "$from_d" "$E")
echo "best of E's start and E: $from_e"
rl "${from_e#* }" "$F" 1-60 37 "$STEPS_F" 16 5e-4
last=$(best "$from_e" "$F")
echo "best of F's start and F: $last"
last=${last#* }
echo "exporting $last"
rm -rf runtime/tinymodel/model.new
"$WORK/infty" train export "$last" runtime/tinymodel/model.new --dtype bf16
rm -f runtime/tinymodel/model/*.json runtime/tinymodel/model/*.safetensors
mv runtime/tinymodel/model.new/* runtime/tinymodel/model/
rmdir runtime/tinymodel/model.new
echo "embedded model rebuilt from the cold start by RL; \`make build\` puts it in the binary"
