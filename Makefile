# infty — the two commands a newcomer needs are `make run` and `make test`.
GO ?= go
BIN := bin/infty
# The pure-Go GoMLX backend's AVX2/AVX-512 kernels (several times faster decoding) are behind
# Go's simd experiment; build, test and benchmark the same code, the code that ships.
export GOEXPERIMENT ?= simd
# gomlx v0.28.16 / gomlx/compute v0.1.14 need Go 1.27; the go command fetches this toolchain through
# the module proxy on first use (about 76 MB), and a machine's own Go ignores go.mod's toolchain line.
export GOTOOLCHAIN := go1.27.3

.PHONY: run build test bench vet fmt e2e tiny-model tiny-model-rl
run: build
	./$(BIN)

build:
	$(GO) build -o $(BIN) .

test:
	$(GO) vet ./...
	@test -z "$$(gofmt -l .)" || (echo "gofmt needed:"; gofmt -l .; exit 1)
	$(GO) test -timeout 20m ./...

# INFTY_BENCH_MODEL=DIR adds a large model to the runtime benchmarks (see README).
bench:
	$(GO) test -run '^$$' -bench . -benchtime 3x ./...

# Drives the real binary in tmux through the workbench flow (installs tmux or skips, saying so).
e2e: build
	./scripts/e2e.sh $(BIN)

# Retrains the embedded models from scratch with `infty train`: the SFT cold start and the
# vanilla baseline (deterministic; about an hour on 2 cores, side by side), then the RL stage.
tiny-model:
	GO=$(GO) ./scripts/tiny-model.sh

# Only the RL stage: `infty train rl` from runtime/tinymodel/coldstart into the embedded default
# model, 100 steps on problems of 1-60 steps, 30 on 1-20, then 40 on 11-20 (about an hour on the idle
# 2-core machine; see README).
tiny-model-rl:
	GO=$(GO) ./scripts/tiny-model-rl.sh
