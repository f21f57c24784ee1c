# scn — the two commands a newcomer needs:
#   make run    build scn and run a drill on the free local target
#   make test   run the whole test suite (installs the Debian tools tests use)
GO      ?= go
BIN     ?= bin/scn
DRILL   ?= scenarios/realtime-sync.yaml
FUZZTIME ?= 30s
# scn's agent is built for these beside $(BIN) (scn-agent-<os>-<arch>): scn
# copies the one matching a machine to it (docs/decisions.md, "Data plane").
AGENTS  ?= linux/amd64 linux/arm64

.PHONY: build run test test-short bench bench-snapshot fuzz lint schema docs deps clean

# Static (CGO_ENABLED=0): scn sends its own executable to machines of its
# own OS/arch when no agent binary fits, and it must run there.
build:
	CGO_ENABLED=0 $(GO) build -o $(BIN) ./cmd/scn
	@for p in $(AGENTS); do \
		echo "building $(dir $(BIN))scn-agent-$${p%/*}-$${p#*/}"; \
		CGO_ENABLED=0 GOOS=$${p%/*} GOARCH=$${p#*/} $(GO) build -trimpath -ldflags='-s -w' \
			-o $(dir $(BIN))scn-agent-$${p%/*}-$${p#*/} ./cmd/scn-agent || exit 1; \
	done

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
