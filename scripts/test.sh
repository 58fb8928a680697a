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

# -race needs cgo, and cgo a C compiler (as pg.sh does PostgreSQL, this installs one as root).
. scripts/need.sh
command -v cc >/dev/null 2>&1 || need test "${CC:-gcc}" gcc "the race detector (-race) needs cgo and a C compiler"
export CGO_ENABLED=1

if [ -z "${TEST_DATABASE_URL:-}" ]; then
	TEST_DATABASE_URL=$(scripts/pg.sh start interview_export_test)
	echo "test: using a throwaway PostgreSQL at $TEST_DATABASE_URL"
fi
export TEST_DATABASE_URL

go test -race -count=1 -timeout 30m "$@" ./...
