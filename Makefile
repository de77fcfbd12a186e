# infty — the two commands a newcomer needs are `make run` and `make test`.
GO ?= go
BIN := bin/infty

.PHONY: run build test bench vet fmt e2e
run: build
	./$(BIN)

build:
	$(GO) build -o $(BIN) .

test:
	$(GO) vet ./...
	@test -z "$$(gofmt -l .)" || (echo "gofmt needed:"; gofmt -l .; exit 1)
	$(GO) test -timeout 20m ./...

bench:
	$(GO) test -run '^$$' -bench . -benchtime 3x ./...

# Drives the real binary in tmux through the workbench flow (installs tmux or skips, saying so).
e2e: build
	./scripts/e2e.sh $(BIN)
