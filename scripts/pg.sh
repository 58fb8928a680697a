#!/usr/bin/env bash
# Throwaway PostgreSQL for the demo and the tests.
#
#   scripts/pg.sh start [DBNAME]   start it (initdb on first use) and print a URL to DBNAME,
#                                  creating that database if needed (default: postgres)
#   scripts/pg.sh stop             stop it
#
# The cluster lives in $INTERVIEW_EXPORT_PGDIR (default /tmp/interview-export-pg) and listens on
# 127.0.0.1:$INTERVIEW_EXPORT_PGPORT (default 54329), with trust authentication and fsync off:
# it is for throwaway data only. As root, the server runs as the postgres user (initdb refuses root).
set -euo pipefail

pgdir=${INTERVIEW_EXPORT_PGDIR:-/tmp/interview-export-pg}
port=${INTERVIEW_EXPORT_PGPORT:-54329}

bindir=""
if command -v pg_config >/dev/null 2>&1; then
	bindir=$(pg_config --bindir)
fi
if [ ! -x "$bindir/initdb" ]; then
	bindir=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1 || true)
fi
if [ ! -x "$bindir/initdb" ] && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
	# The README's commands are the whole set-up: as root, install the server.
	echo "pg.sh: no PostgreSQL server found: installing it (apt-get install -y postgresql)" >&2
	apt-get update -qq >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null
	bindir=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1 || true)
fi
if [ ! -x "$bindir/initdb" ]; then
	echo "pg.sh: no PostgreSQL server binaries found (looked in pg_config --bindir and /usr/lib/postgresql/*/bin)." >&2
	echo "pg.sh: install them with: sudo apt-get install -y postgresql" >&2
	echo "pg.sh: (or set DATABASE_URL / TEST_DATABASE_URL to a server of yours)" >&2
	exit 1
fi

as_owner() {
	if [ "$(id -u)" = 0 ]; then
		runuser -u postgres -- "$@"
	else
		"$@"
	fi
}

url() { echo "postgres://postgres@127.0.0.1:$port/$1?sslmode=disable"; }

case "${1:-}" in
start)
	db=${2:-postgres}
	if ! "$bindir/pg_isready" -q -h 127.0.0.1 -p "$port"; then
		if [ ! -f "$pgdir/PG_VERSION" ]; then
			mkdir -p "$pgdir"
			[ "$(id -u)" = 0 ] && chown postgres: "$pgdir"
			chmod 700 "$pgdir"
			as_owner "$bindir/initdb" -D "$pgdir" -U postgres -A trust -E UTF8 --locale=C --no-sync >"$pgdir.initdb.log" 2>&1 ||
				{ cat "$pgdir.initdb.log" >&2; exit 1; }
		fi
		as_owner "$bindir/pg_ctl" -D "$pgdir" -l "$pgdir/server.log" -w -t 60 \
			-o "-p $port -k $pgdir -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=300" \
			start >/dev/null || { tail -n 20 "$pgdir/server.log" >&2; exit 1; }
	fi
	if [ "$db" != postgres ]; then
		psql -q -X "$(url postgres)" -tAc "SELECT 1 FROM pg_database WHERE datname = '$db'" | grep -q 1 ||
			psql -q -X "$(url postgres)" -c "CREATE DATABASE \"$db\"" >/dev/null
	fi
	url "$db"
	;;
stop)
	if [ -f "$pgdir/PG_VERSION" ]; then
		as_owner "$bindir/pg_ctl" -D "$pgdir" -m fast -w stop >/dev/null || true
	fi
	;;
*)
	echo "usage: scripts/pg.sh start [DBNAME] | stop" >&2
	exit 2
	;;
esac
