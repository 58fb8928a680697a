package load_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/interview-export/interview-export/load"
)

// PruneRuns removes the finished runs older than the cutoff with their
// failures, and keeps what an open ledger entry or a feed cursor names, and
// runs still running.
func TestPruneRuns(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := context.Background()
	old := time.Now().Add(-100 * 24 * time.Hour)
	// Runs 2..6: four old finished ones (one named by the ledger, one by a
	// cursor), one old and still running; plus the setup's run, new.
	for _, sql := range []string{
		`INSERT INTO export_runs (started_at, finished_at, status, source) SELECT $1, $1, 'succeeded', 'old' FROM generate_series(1, 4)`,
		`INSERT INTO export_runs (started_at, status, source, shard) VALUES ($1, 'running', 'old', '9/10')`,
		`INSERT INTO export_failures (run_id, proposal_id, error_code, message) SELECT id, 'P' || id, 'forbidden', 'x' FROM export_runs WHERE source = 'old' AND $1::timestamptz IS NOT NULL`,
		`INSERT INTO failure_ledger (proposal_id, error_code, class, first_failed_at, last_failed_at, last_run_id)
			SELECT 'P' || min(id), 'forbidden', 'permanent', $1, $1, min(id) FROM export_runs WHERE source = 'old'`,
		`INSERT INTO feed_cursors (shard, cursor, run_id) SELECT '0/1', 1, max(id) FROM export_runs WHERE source = 'old' AND status = 'succeeded' AND $1::timestamptz IS NOT NULL`,
	} {
		_, err := b.db.Exec(ctx, sql, old)
		require.NoError(t, err, sql)
	}
	p, err := b.store.PruneRuns(ctx, time.Now().Add(-90*24*time.Hour))
	require.NoError(t, err)
	assert.Equal(t, load.Pruned{Runs: 2, Failures: 2}, p)
	assert.Equal(t, 4, countRows(t, b, `SELECT count(*) FROM export_runs`), "the new run, the ledger's, the cursor's and the running one stay")
	assert.Equal(t, 3, countRows(t, b, `SELECT count(*) FROM export_failures`))
	assert.Equal(t, 1, countRows(t, b, `SELECT count(*) FROM failure_ledger`), "an open failure is never pruned")
	p, err = b.store.PruneRuns(ctx, time.Now().Add(-90*24*time.Hour))
	require.NoError(t, err)
	assert.Zero(t, p.Runs)
}
