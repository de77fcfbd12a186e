#!/usr/bin/env bash
# Compares single-stream decode speed of the working tree against a git revision (default: the
# last main on gomlx v0.28.2, f399016) in one run, so both see the same machine load.
#
# usage: scripts/bench-baseline.sh [REV] [ROUNDS] [BENCH]
#   REV     the baseline revision (default f399016)
#   ROUNDS  how many times each side runs, alternating (default 5)
#   BENCH   the benchmark both trees have (default BenchmarkTiny/f32: the embedded-size fixture)
#   METRIC  (environment) the reported metric compared (default decode_tok/s; e.g. tok/s@64 of
#           BenchmarkBatch/tiny, the aggregate rate of 64 streams); BENCHTIME (default 10x)
#
# It builds the runtime package's test binary of REV in a temporary detached worktree and of
# the working tree, then runs them alternately, reading the decode_tok/s metric both report,
# and prints each side's median and the ratio. Each tree builds with its own dependencies and
# the toolchain its go.mod names (f399016's gomlx/compute v0.1.2 does not compile with Go
# 1.27's simd package), both with GOEXPERIMENT=simd as the Makefile sets it.
set -euo pipefail
rev=${1:-f399016}
rounds=${2:-5}
bench=${3:-BenchmarkTiny/f32}
metric=${METRIC:-decode_tok/s}
benchtime=${BENCHTIME:-10x}
export GOTOOLCHAIN=${GOTOOLCHAIN:-go1.27.3} GOEXPERIMENT=${GOEXPERIMENT:-simd}
GO=${GO:-go}

root=$(git rev-parse --show-toplevel)
tmp=$(mktemp -d)
cleanup() {
	git -C "$root" worktree remove --force "$tmp/base" >/dev/null 2>&1 || true
	rm -rf "$tmp"
}
trap cleanup EXIT

git -C "$root" worktree add --detach "$tmp/base" "$rev" >/dev/null
echo "building $rev ($(git -C "$root" rev-parse --short "$rev")) and the working tree ..." >&2
# A go line naming a release (1.26.8) is the toolchain that tree was built with; a language
# version (1.27) is not a toolchain the proxy serves, so that tree gets ours. BASE_GOTOOLCHAIN
# overrides both.
base_go=$(awk '$1 == "go" {print $2}' "$tmp/base/go.mod")
case $base_go in
*.*.*) base_go=go$base_go ;;
*) base_go=$GOTOOLCHAIN ;;
esac
base_go=${BASE_GOTOOLCHAIN:-$base_go}
(cd "$tmp/base/runtime" && GOTOOLCHAIN=$base_go $GO test -c -o "$tmp/base.test" .)
(cd "$root/runtime" && $GO test -c -o "$tmp/new.test" .)

# run DIR BIN prints the benchmark's metric (the test binary runs in its package folder,
# where the fixtures' relative paths resolve).
run() {
	(cd "$1/runtime" && "$2" -test.run '^$' -test.bench "^${bench%%/*}\$/^${bench#*/}\$" -test.benchtime "$benchtime") |
		awk -v m="$metric" '{for (i = 2; i <= NF; i++) if ($i == m) print $(i-1)}' | head -1
}

base=() new=() ratios=()
for i in $(seq "$rounds"); do
	b=$(run "$tmp/base" "$tmp/base.test")
	n=$(run "$root" "$tmp/new.test")
	[ -n "$b" ] && [ -n "$n" ] || { echo "no $metric in round $i" >&2; exit 1; }
	r=$(echo "$n / $b" | bc -l)
	base+=("$b") new+=("$n") ratios+=("$r")
	printf 'round %d: %s %s %s, working tree %s, ratio %.2f\n' "$i" "$rev" "$b" "$metric" "$n" "$r"
done
median() { printf '%s\n' "$@" | sort -g | awk '{a[NR] = $1} END {print (NR % 2) ? a[(NR+1)/2] : (a[NR/2] + a[NR/2+1]) / 2}'; }
mb=$(median "${base[@]}") mn=$(median "${new[@]}")
# The median of the rounds' ratios follows the load less than the ratio of the medians: the
# two runs of a round are seconds apart.
printf '%s (%s) medians: %s %s, working tree %s; median ratio of the rounds %.2fx  [load: %s]\n' \
	"$bench" "$metric" "$rev" "$mb" "$mn" "$(median "${ratios[@]}")" "$(uptime | sed 's/.*load average: //')"
