#!/usr/bin/env bash
# Checks the Prometheus alert rules of deploy/prometheus with promtool: their syntax, and their
# unit tests (alerts_test.yml: a stale shard, a missing series, new against known failures).
# As root, a missing promtool is installed (apt-get install -y prometheus); it never skips.
set -euo pipefail
cd "$(dirname "$0")/../deploy/prometheus"
if ! command -v promtool >/dev/null 2>&1; then
	if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
		echo "rules-test: installing promtool (apt-get install -y prometheus)" >&2
		apt-get update -qq >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends prometheus >/dev/null
	else
		echo "rules-test: promtool is not installed: run 'sudo apt-get install -y prometheus' (Debian) and try again" >&2
		exit 1
	fi
fi
promtool check rules alerts.yml
promtool test rules alerts_test.yml
