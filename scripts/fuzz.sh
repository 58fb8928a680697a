#!/usr/bin/env bash
# Runs every fuzz target for FUZZTIME (default 30s) each. New failing inputs land in the
# package's testdata/fuzz folder: commit them, they become regression tests.
set -euo pipefail
cd "$(dirname "$0")/.."
t=${FUZZTIME:-30s}
go test -run '^$' -fuzz '^FuzzIDScanner$' -fuzztime "$t" ./extract/
go test -run '^$' -fuzz '^FuzzDecode$' -fuzztime "$t" ./transform/
go test -run '^$' -fuzz '^FuzzDecodeMatchesEncodingJSON$' -fuzztime "$t" ./transform/
go test -run '^$' -fuzz '^FuzzText$' -fuzztime "$t" ./internal/sanitize/
