#!/bin/sh
# Rebuilds infty's embedded models from scratch with infty's own trainer: the iterative
# (InftyThink+) cold start into runtime/tinymodel/coldstart and the vanilla long-chain-of-thought
# baseline (same size, window and training budget) into runtime/tinymodel/vanilla, then the RL
# stage from the cold start into runtime/tinymodel/model (scripts/tiny-model-rl.sh).
# Deterministic: the same build on the same kind of CPU gives the same weights, bit for bit.
# Work files go to $TINY_WORK.
set -eu
GO=${GO:-go}
# The shipped weights came from a build with the SIMD kernels (as `make` builds); float sums in
# other kernels round differently, so without them training takes another path to another model.
export GOEXPERIMENT="${GOEXPERIMENT-simd}"
WORK=${TINY_WORK:-${TMPDIR:-/tmp}/infty-tiny-model}
RECIPE=runtime/tinymodel/recipe
mkdir -p "$WORK"
$GO build -o "$WORK/infty" .
INFTY="$WORK/infty"

# Cold-start data: 20,000 problems each. The iterative model sees 1..60 steps in iterations that
# end when the steps left are a multiple of 5; the vanilla one sees 1..7 steps, the most whose
# whole chain of thought fits its 256-token window.
"$INFTY" train synth --mode iterative --seed 1 --n 20000 --min-len 1 --max-len 60 --out "$WORK/iterative.jsonl"
"$INFTY" train synth --mode vanilla --seed 1 --n 20000 --min-len 1 --max-len 7 --out "$WORK/vanilla.jsonl"

train() { # name data
	rm -rf "runtime/tinymodel/$1.new"
	"$INFTY" train sft --data "$2" --init-config "$RECIPE/config.json" --tokenizer "$RECIPE" \
		--out "$WORK/$1" --batch-size 16 --lr 1e-2 --warmup 50 --weight-decay 0.01 \
		--clip 1 --seed 1 --save-every 250 --save-dtype bf16 --steps 2500 \
		--export "runtime/tinymodel/$1.new" --quiet
}
# Both at once: the pure-Go backend leaves much of the second core idle during a step (its
# element-wise ops run on one), so two runs side by side take little longer than one.
train coldstart "$WORK/iterative.jsonl" &
it=$!
train vanilla "$WORK/vanilla.jsonl" &
va=$!
wait $it
wait $va
for name in coldstart vanilla; do
	rm -f runtime/tinymodel/$name/*.json runtime/tinymodel/$name/*.safetensors
	mv runtime/tinymodel/$name.new/* "runtime/tinymodel/$name/"
	rmdir "runtime/tinymodel/$name.new"
done
GO=$GO ./scripts/tiny-model-rl.sh
