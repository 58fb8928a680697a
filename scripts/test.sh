#!/usr/bin/env bash
# The whole test suite: formatting, vet, and every test (unit, integration, end-to-end) with the
# race detector, against a real PostgreSQL. When TEST_DATABASE_URL is not set, a throwaway local
# PostgreSQL is started (scripts/pg.sh). Extra arguments go to `go test`, e.g. -run TestName.
set -euo pipefail
cd "$(dirname "$0")/.."

unformatted=$(gofmt -l $(git ls-files '*.go' 2>/dev/null || find . -name '*.go'))
if [ -n "$unformatted" ]; then
	echo "test: gofmt would change:" $unformatted >&2
	exit 1
fi
go vet ./...

# -race needs cgo, and cgo a C compiler: as root, install one when missing (as pg.sh does
# PostgreSQL); otherwise say the one command that does.
if ! command -v "${CC:-gcc}" >/dev/null 2>&1 && ! command -v cc >/dev/null 2>&1; then
	if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
		echo "test: the race detector needs a C compiler: installing gcc (apt-get install -y gcc)" >&2
		apt-get update -qq >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq gcc >/dev/null
	else
		echo "test: the race detector (-race) needs cgo and a C compiler: run 'sudo apt-get install -y gcc' and try again" >&2
		exit 1
	fi
fi
export CGO_ENABLED=1

if [ -z "${TEST_DATABASE_URL:-}" ]; then
	TEST_DATABASE_URL=$(scripts/pg.sh start interview_export_test)
	echo "test: using a throwaway PostgreSQL at $TEST_DATABASE_URL"
fi
export TEST_DATABASE_URL

go test -race -count=1 -timeout 30m "$@" ./...
