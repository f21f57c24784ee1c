# scn — the two commands a newcomer needs:
#   make run    build scn and run a drill on the free local target
#   make test   the whole check, as .ci/run runs it: installs the Debian
#               tools the tests use, make lint, the suite under -race, then
#               every fuzz target for a few seconds
GO      ?= go
GOFMT    = $(shell $(GO) env GOROOT)/bin/gofmt
BIN     ?= bin/scn
DRILL   ?= scenarios/realtime-sync.yaml
# make fuzz gives each fuzz target FUZZTIME; make test only TEST_FUZZTIME,
# enough to catch a shallow crasher on every change, not to hunt.
FUZZTIME      ?= 30s
TEST_FUZZTIME ?= 4s

.PHONY: build run test test-short bench bench-snapshot fuzz lint schema docs deps clean

build:
	$(GO) build -o $(BIN) ./cmd/scn

run: build
	./$(BIN) run $(DRILL)

# Tests need a few Debian tools (xmllint, chromium, tar, lz4 ...): scripts/deps
# installs the missing ones when it can, or says what to install. Under -race
# the scn binaries the CLI tests start are race-built too (internal/testbin).
test: deps lint
	$(GO) test -race -timeout 20m ./...
	@GO=$(GO) scripts/fuzz $(TEST_FUZZTIME)

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
	@GO=$(GO) scripts/fuzz $(FUZZTIME)

# gofmt on the tracked Go files (an empty list would make gofmt read stdin
# and pass), then go vet.
lint:
	@files=$$(git ls-files '*.go') && [ -n "$$files" ] || { echo "make lint: git ls-files lists no Go files (run it in a git clone)" >&2; exit 1; }; \
	unformatted=$$($(GOFMT) -l $$files) || exit 1; \
	[ -z "$$unformatted" ] || { echo "gofmt needed (gofmt -w FILE):" >&2; echo "$$unformatted" >&2; exit 1; }
	$(GO) vet ./...

# Regenerate what is generated from the action registry (tests fail when stale).
schema docs: build
	./$(BIN) schema > schema/scenario.schema.json
	./$(BIN) actions --markdown > docs/actions.md

clean:
	rm -rf bin
