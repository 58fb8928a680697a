#!/usr/bin/env bash
# Checks the Prometheus alert rules of deploy/prometheus with promtool: their syntax, and their
# unit tests (alerts_test.yml: a stale shard, a missing series, new against known failures).
# As root, a missing promtool is installed (apt-get install -y prometheus); it never skips.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/need.sh
need rules-test promtool prometheus "the alert rules are checked with promtool"
cd deploy/prometheus
promtool check rules alerts.yml
promtool test rules alerts_test.yml
