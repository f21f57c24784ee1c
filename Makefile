# scn — the two commands a newcomer needs:
#   make run    build scn and run a drill on the free local target
#   make test   run the whole test suite (installs the Debian tools tests use)
GO      ?= go
BIN     ?= bin/scn
DRILL   ?= scenarios/realtime-sync.yaml
FUZZTIME ?= 30s

.PHONY: build run test test-short bench bench-snapshot fuzz lint schema docs deps clean

build:
	$(GO) build -o $(BIN) ./cmd/scn

run: build
	./$(BIN) run $(DRILL)

# Tests need a few Debian tools (xmllint, chromium, tar, lz4 ...): scripts/deps
# installs the missing ones when it can, or says what to install.
test: deps
	$(GO) test -race -timeout 20m ./...

test-short:
	$(GO) test -short ./...

deps:
	@scripts/deps

bench:
	$(GO) test -run '^$$' -bench . -benchmem ./...

# The script builds what it runs (benchsnap is scn's side itself) and
# installs the tools it compares with.
bench-snapshot:
	./scripts/bench-snapshot

fuzz:
	@scripts/fuzz $(FUZZTIME)

lint:
	@test -z "$$(gofmt -l $$(git ls-files '*.go'))" || { gofmt -l $$(git ls-files '*.go'); echo "gofmt needed"; exit 1; }
	$(GO) vet ./...

# Regenerate what is generated from the action registry (tests fail when stale).
schema docs: build
	./$(BIN) schema > schema/scenario.schema.json
	./$(BIN) actions --markdown > docs/actions.md

clean:
	rm -rf bin
