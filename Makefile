# The commands of README.md. Each one does its own set-up.
.PHONY: demo test bench lint build fakeapi pg-stop fuzz

## demo: run the export on the built-in default (throwaway Postgres + fake API, 3,000 proposals)
demo:
	scripts/demo.sh

## test: the whole test suite (starts a throwaway Postgres when TEST_DATABASE_URL is not set)
test:
	scripts/test.sh

## bench: end-to-end throughput and memory of the real binary against the fake API
bench:
	scripts/bench.sh

## lint: gofmt, go vet and staticcheck (pinned, fetched through the Go module proxy)
lint:
	@test -z "$$(gofmt -l $$(git ls-files '*.go'))" || (gofmt -l $$(git ls-files '*.go'); exit 1)
	go vet ./...
	go run honnef.co/go/tools/cmd/staticcheck@v0.8.2 ./...

## fuzz: run each fuzz target for a while (FUZZTIME, default 30s)
fuzz:
	scripts/fuzz.sh

build:
	go build -o bin/interview-export .

fakeapi:
	go build -o bin/fakeapi ./cmd/fakeapi

## pg-stop: stop the throwaway Postgres of demo and test
pg-stop:
	scripts/pg.sh stop
