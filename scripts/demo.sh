#!/usr/bin/env bash
# The export on its built-in default: when DATABASE_URL is not set, a throwaway local PostgreSQL
# (scripts/pg.sh); when OT_API_URL is not set, the bundled fake API (cmd/fakeapi) with 3,000
# synthetic proposals. Then one export run, its summary, and a peek at the tables.
#
# Extra arguments go to `interview-export export`, e.g. scripts/demo.sh --concurrency 4.
set -euo pipefail
cd "$(dirname "$0")/.."
mkdir -p .tmp bin

go build -o bin/interview-export .
go build -o bin/fakeapi ./cmd/fakeapi

if [ -z "${DATABASE_URL:-}" ]; then
	DATABASE_URL=$(scripts/pg.sh start interview_export_demo)
	echo "demo: using a throwaway PostgreSQL at $DATABASE_URL (stop it with: make pg-stop)"
fi
export DATABASE_URL

ids=.tmp/demo-ids.txt
if [ -z "${OT_API_URL:-}" ]; then
	rm -f .tmp/fakeapi.url
	bin/fakeapi --addr 127.0.0.1:0 --jobs 20 --proposals-per-job 150 \
		--write-ids "$ids" --url-file .tmp/fakeapi.url >/dev/null &
	fake=$!
	trap 'kill $fake 2>/dev/null || true' EXIT
	for _ in $(seq 100); do [ -s .tmp/fakeapi.url ] && break; sleep 0.1; done
	OT_API_URL=$(cat .tmp/fakeapi.url)
	export OT_API_URL OT_API_TOKEN=ot_pat_demo_token_not_secret
	echo "demo: using the bundled fake API at $OT_API_URL ($(wc -l <"$ids") proposal IDs in $ids)"
	set -- --rate 0 --concurrency 16 "$@"
else
	[ -s "$ids" ] || { echo "demo: OT_API_URL is set: put the proposal IDs to export in $ids" >&2; exit 2; }
fi

status=0
bin/interview-export export --ids-file "$ids" "$@" || status=$?

echo
echo "demo: the tables now hold:"
psql -X -q "$DATABASE_URL" -c "
SELECT status, count(*) AS proposals, sum(message_count) AS messages,
       round(avg(CASE score_scale WHEN 100 THEN score WHEN 10 THEN score * 10 END), 1) AS avg_score_100,
       count(score) FILTER (WHERE score_scale IS NULL) AS scores_of_unknown_scale
FROM interviews GROUP BY status ORDER BY status;" \
	-c "SELECT id, status, available, no_interview, failed, messages_written, requests,
       finished_at - started_at AS took FROM export_runs ORDER BY id DESC LIMIT 3;"
echo "demo: explore with: psql '$DATABASE_URL'"
echo "demo: or read the report: DATABASE_URL='$DATABASE_URL' bin/interview-export report"
if [ "$status" = 1 ]; then
	# The fake answers 403 for 1% of proposals on purpose: exit status 1 is the expected "partial".
	echo "demo: exit status 1 means some IDs failed; see export_failures (the fake forbids 1% of proposals on purpose)"
	status=0
fi
exit "$status"
