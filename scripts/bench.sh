#!/usr/bin/env bash
# End-to-end benchmark of the real binary (see cmd/bench): a fresh database on the throwaway
# PostgreSQL (or on the server of BENCH_DATABASE_URL), the fake API in-process with no latency,
# two passes over the same synthetic proposals. Extra arguments go to cmd/bench,
# e.g. scripts/bench.sh --proposals 20000 --concurrency 32.
set -euo pipefail
cd "$(dirname "$0")/.."
mkdir -p bin
go build -o bin/interview-export .
go build -o bin/bench ./cmd/bench
url=${BENCH_DATABASE_URL:-$(scripts/pg.sh start)}
bin/bench --binary bin/interview-export --database-url "$url" "$@"
