package command_test

import (
	"context"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/interview-export/interview-export/internal/golden"
	"github.com/interview-export/interview-export/internal/pgtest"
	"github.com/interview-export/interview-export/load"
)

// knownDataset is a database whose report never changes.
func knownDataset(t *testing.T) string {
	t.Helper()
	db := pgtest.Schema(t)
	ctx := context.Background()
	store, err := load.Open(ctx, db, 2)
	require.NoError(t, err)
	defer store.Close()
	_, err = store.Migrate(ctx)
	require.NoError(t, err)
	_, err = pgtest.Pool(t, db).Exec(ctx, `
		INSERT INTO export_runs (started_at, finished_at, status, shard, source, ids_read, ids_skipped, available,
			no_interview, failed, interviews_changed, requests, retries, rate_limited)
		VALUES ('2026-11-27 02:15:00+00', '2026-11-27 02:21:40+00', 'succeeded', '0/1', 'ids-file:ids.txt', 14, 0, 10, 4, 0, 14, 15, 1, 0),
		       ('2026-11-28 02:15:00+00', '2026-11-28 02:15:03.5+00', 'partial', '0/1', 'ids-file:ids.txt', 17, 12, 1, 1, 3, 1, 6, 2, 1);
		INSERT INTO export_failures (run_id, proposal_id, http_status, error_code, message, attempts, request_id)
		VALUES (2, 'p-15', 403, 'forbidden', 'This proposal is on another account''s job (proposalId=p-15)', 1, 'r1'),
		       (2, 'p-16', 403, 'forbidden', 'This proposal is on another account''s job (proposalId=p-16)', 1, 'r2'),
		       (2, 'bad id', NULL, 'invalid_id', 'line 17: contains whitespace U+0020', 0, NULL);
		INSERT INTO interviews (proposal_id, status, interview_id, score, score_scale, summary, message_count, fetched_at, changed_at, run_id)
		SELECT 'p-' || g, 'available', 'iv-' || g, (ARRAY[12, 35, 4.75, 5, 61, 68, 73, 86, 99, NULL])[g],
		       (ARRAY[100, 100, 10, NULL, 100, 100, 100, 100, 100, NULL])[g], 's', g * 2,
		       '2026-11-28 02:15:01+00', '2026-11-27 02:15:01+00', 2
		FROM generate_series(1, 10) AS g;
		INSERT INTO interviews (proposal_id, status, message_count, fetched_at, changed_at, run_id)
		SELECT 'p-' || g, 'no_interview', 0, '2026-11-28 02:15:01+00', '2026-11-27 02:15:01+00', 2
		FROM generate_series(11, 14) AS g;
		INSERT INTO interview_messages (proposal_id, message_id, position, role, content, sent_at)
		SELECT 'p-1', 'm' || g, g, 'candidate', 'x', '2026-06-11 15:20:00+00' FROM generate_series(0, 1) AS g;
		INSERT INTO jobs (job_id, title, status) VALUES ('j-1', 'Spanish sentiment, "quoted"', 'OPEN'), ('j-2', 'Code review', 'OPEN');
		INSERT INTO proposals (proposal_id, job_id, status)
		SELECT 'p-' || g, CASE WHEN g <= 6 THEN 'j-1' ELSE 'j-2' END, (ARRAY['HIRED', 'DECLINED', 'UNREVIEWED'])[g % 3 + 1]
		FROM generate_series(1, 15) AS g;`)
	require.NoError(t, err)
	return db
}

func TestReportGolden(t *testing.T) {
	db := knownDataset(t)
	for _, tt := range []struct {
		file string
		args []string
	}{
		{"report.golden.txt", []string{"report"}},
		{"report.golden.json", []string{"report", "--format", "json"}},
		{"runs.golden.txt", []string{"runs"}},
		{"runs.golden.json", []string{"runs", "--format", "json", "--limit", "1"}},
		{"runs.golden.csv", []string{"runs", "--format", "csv"}},
		{"report-by-job.golden.txt", []string{"report", "--by", "job"}},
		{"report-by-status.golden.csv", []string{"report", "--by", "status", "--format", "csv"}},
		{"report-by-job.golden.json", []string{"report", "--by", "job", "--format", "json"}},
	} {
		r := run(context.Background(), "", append(tt.args, "--database-url", db)...)
		require.Equal(t, 0, r.code, r.stderr)
		golden.Assert(t, tt.file, r.stdout)
	}
}

// The HTML report is one self-contained page: no script, nothing loaded
// from elsewhere, every chart an inline SVG.
func TestReportHTMLIsSelfContained(t *testing.T) {
	db := knownDataset(t)
	r := run(context.Background(), "", "report", "--format", "html", "--database-url", db)
	require.Equal(t, 0, r.code, r.stderr)
	page := r.stdout
	require.True(t, strings.HasPrefix(page, "<!DOCTYPE html>"))
	for _, banned := range []string{"<script", "src=", "href=", "@import", "url("} {
		require.NotContains(t, page, banned)
	}
	require.Equal(t, 5, strings.Count(page, "<svg"), "overall, two jobs, the statuses and the runs")
	require.Contains(t, page, "Spanish sentiment, &#34;quoted&#34;", "text is escaped")
	require.Contains(t, page, "Average score by hiring status")
	require.Contains(t, page, "Content removed: 0 deleted upstream, 0 erased, 0 past retention; 0 proposal IDs erased in all.")
}

func TestReportOnAnEmptyDatabase(t *testing.T) {
	r := run(context.Background(), "", "report", "--database-url", pgtest.Schema(t))
	require.Equal(t, 2, r.code)
	require.Contains(t, r.stderr, "no export yet")
	r = run(context.Background(), "", "report", "--database-url", pgtest.Schema(t), "--format", "xml")
	require.Equal(t, 2, r.code)
	require.Contains(t, r.stderr, "--format")
}
