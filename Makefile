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
# scn's agent is built for these beside $(BIN) (scn-agent-<os>-<arch>): scn
# copies the one matching a machine to it (docs/decisions.md, "Data plane").
AGENTS  ?= linux/amd64 linux/arm64

.PHONY: image build run test test-short bench bench-snapshot fuzz lint schema docs deps clean

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

# scn's container image as an OCI archive, built without a container daemon
# and without pulling anything (FROM scratch: see docs/schedule.md): a static
# linux scn for IMAGE_ARCH, the agents, the scenarios. Load it with
# `podman load -i`, `docker load -i` (Docker >= 25) or skopeo/crane.
IMAGE      ?= bin/scn-image.tar
IMAGE_TAG  ?= scn:latest
IMAGE_ARCH ?= $(shell $(GO) env GOARCH)
image: build
	CGO_ENABLED=0 GOOS=linux GOARCH=$(IMAGE_ARCH) $(GO) build -trimpath -o $(dir $(BIN))linux-$(IMAGE_ARCH)/scn ./cmd/scn
	$(GO) run ./cmd/scn-image -scn $(dir $(BIN))linux-$(IMAGE_ARCH)/scn -agents $(dir $(BIN)) -arch $(IMAGE_ARCH) \
		-version "$$(git describe --always --dirty 2>/dev/null || echo devel)" \
		-tag $(IMAGE_TAG) -o $(IMAGE)

# Tests need a few Debian tools (xmllint, chromium, tar, lz4 ...): scripts/deps
# installs the missing ones when it can, or says what to install. Under -race
# the scn binaries the CLI tests start are race-built too (internal/testbin).
test: deps lint
	$(GO) test -race -timeout 20m ./...
	$(GO) test -tags purego ./internal/lz4frame/  # its loads checked: see load_other.go
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

# actionlint checks the workflows (and the shell in them, with shellcheck);
# scripts/deps installs both.
ACTIONLINT ?= $(shell command -v actionlint || echo $$($(GO) env GOPATH)/bin/actionlint)

# gofmt on the tracked Go files (an empty list would make gofmt read stdin
# and pass), go vet (also as macOS, which the README says make run and make
# test work on: it type-checks the tests too, where Linux-only calls hide),
# shellcheck on the shell scripts and actionlint on the GitHub workflows
# (it also shellchecks their run: steps).
lint:
	@files=$$(git ls-files '*.go') && [ -n "$$files" ] || { echo "make lint: git ls-files lists no Go files (run it in a git clone)" >&2; exit 1; }; \
	unformatted=$$($(GOFMT) -l $$files) || exit 1; \
	[ -z "$$unformatted" ] || { echo "gofmt needed (gofmt -w FILE):" >&2; echo "$$unformatted" >&2; exit 1; }
	$(GO) vet ./...
	GOOS=darwin $(GO) vet ./...
	shellcheck -x .ci/run scripts/github/*.sh $$(grep -lsE '^#!(/bin/sh|/bin/bash|/usr/bin/env (ba)?sh)' scripts/*)
	$(ACTIONLINT) -shellcheck shellcheck .github/workflows/*.yml

# Regenerate what is generated from the action registry (tests fail when stale).
schema docs: build
	./$(BIN) schema > schema/scenario.schema.json
	./$(BIN) actions --markdown > docs/actions.md

clean:
	rm -rf bin
