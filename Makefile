# The commands of README.md. Each one does its own set-up. `make help` lists them.
.PHONY: help demo test bench lint build man image image-smoke release-snapshot fakeapi pg-stop fuzz rules-test

VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
COMMIT  ?= $(shell git rev-parse HEAD 2>/dev/null)
DATE    ?= $(shell date -u +%Y-%m-%dT%H:%M:%SZ)
PKG     := github.com/interview-export/interview-export/command
LDFLAGS := -X $(PKG).Version=$(VERSION) -X $(PKG).Commit=$(COMMIT) -X $(PKG).BuildDate=$(DATE)

## help: list the targets
help:
	@grep -E '^## ' Makefile | sed 's/^## /  make /'

## demo: run the export on the built-in default (throwaway Postgres + fake API, 3,000 proposals)
demo:
	scripts/demo.sh

## test: the whole test suite (starts a throwaway Postgres when TEST_DATABASE_URL is not set)
test:
	scripts/test.sh

## bench: throughput beside the machine's load limit, memory, and the unknown-quota scenarios
bench:
	scripts/bench.sh

## lint: gofmt, go vet and staticcheck (pinned, fetched through the Go module proxy)
lint:
	@test -z "$$(gofmt -l $$(git ls-files '*.go'))" || (gofmt -l $$(git ls-files '*.go'); exit 1)
	go vet ./...
	go run honnef.co/go/tools/cmd/staticcheck@v0.8.2 ./...

## rules-test: check the Prometheus alert rules of deploy/prometheus with promtool (installs it as root)
rules-test:
	scripts/rules-test.sh

## fuzz: run each fuzz target for a while (FUZZTIME, default 30s)
fuzz:
	scripts/fuzz.sh

## build: bin/interview-export, with its version, commit and build date
build:
	go build -ldflags "$(LDFLAGS)" -o bin/interview-export .

## man: bin/interview-export.1, the manual page (man -l bin/interview-export.1)
man:
	go run . man > bin/interview-export.1

## image: the OCI image interview-export:$(VERSION) (Containerfile: FROM scratch, static binary, CA bundle; buildah)
image:
	scripts/image.sh build

## image-smoke: build the image, then run its binary for version and a short export (fake API, test database)
image-smoke:
	scripts/image.sh smoke

## release-snapshot: the release files in dist/ (archives for linux and darwin on amd64 and arm64, SBOMs, checksums.txt, the OCI image, the changelog), offline
release-snapshot:
	scripts/release.sh snapshot

## fakeapi: bin/fakeapi, the fake OpenTrain API (go run ./cmd/fakeapi --help)
fakeapi:
	go build -o bin/fakeapi ./cmd/fakeapi

## pg-stop: stop the throwaway Postgres of demo and test
pg-stop:
	scripts/pg.sh stop
