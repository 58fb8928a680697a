package load

import (
	"context"
	"fmt"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/interview-export/interview-export/internal/pgtest"
)

// The write statements reach interviews and interview_messages through
// their primary keys, for the batch's proposals only: with tables big enough
// that a scan would otherwise be chosen, no plan holds a Seq Scan of them.
func TestWritePlansUseIndexesNotScans(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	url := pgtest.Schema(t)
	store, err := Open(ctx, url, 2)
	require.NoError(t, err)
	t.Cleanup(store.Close)
	_, err = store.Migrate(ctx)
	require.NoError(t, err)
	runID, err := store.StartRun(ctx, RunStart{Shard: "0/1", Source: "test"})
	require.NoError(t, err)
	w, err := store.NewWriter(ctx, runID, WriterOptions{})
	require.NoError(t, err)
	t.Cleanup(w.Close)
	_, err = w.conn.Exec(ctx, `
		INSERT INTO interviews (proposal_id, status, interview_id, score, message_count, fetched_at, changed_at)
		SELECT 'pre-' || g, 'available', 'iv', g % 100, 10, now(), now() - interval '1 day' FROM generate_series(1, 20000) g;
		INSERT INTO interview_messages (proposal_id, message_id, position, role, content, sent_at)
		SELECT 'pre-' || g, 'm' || k, k, 'candidate', 'x', now() FROM generate_series(1, 20000) g, generate_series(0, 9) k;
		ANALYZE interviews, interview_messages`)
	require.NoError(t, err)

	err = pgx.BeginFunc(ctx, w.conn, func(tx pgx.Tx) error {
		// A batch of 500 proposals, half of them stored already, as writeBatch stages it.
		if _, err := tx.Exec(ctx, `
			INSERT INTO stage_interviews SELECT 'pre-' || g, 'available', 'iv', '1', NULL, 10, now(), '\x00'::bytea, g > 20000
			FROM generate_series(19751, 20250) g;
			INSERT INTO stage_messages SELECT proposal_id, 'm' || k, k, 'candidate', 'y', now() FROM stage_interviews, generate_series(0, 9) k;
			ANALYZE stage_interviews, stage_messages`); err != nil {
			return err
		}
		ids := make([]string, 500)
		at := make([]time.Time, 500)
		for i := range ids {
			ids[i], at[i] = fmt.Sprintf("pre-%d", 19751+i), time.Now()
		}
		for name, st := range map[string]struct {
			sql  string
			args []any
		}{
			"upsert_interviews.sql": {upsertInterviewsSQL, []any{int64(1)}},
			"upsert_messages.sql":   {upsertMessagesSQL, nil},
			"touch_unchanged.sql":   {touchUnchangedSQL, []any{ids, at, int64(1)}},
			"stored_records.sql":    {storedRecordsSQL, []any{ids}},
			"score_scales.sql":      {scoreScalesSQL, []any{ids}},
		} {
			rows, err := tx.Query(ctx, "EXPLAIN "+st.sql, st.args...)
			if err != nil {
				return err
			}
			lines, err := pgx.CollectRows(rows, pgx.RowTo[string])
			if err != nil {
				return err
			}
			plan := strings.Join(lines, "\n")
			assert.NotRegexp(t, `Seq Scan on (interviews|interview_messages)\b`, plan, "%s", name)
			// An index scan of a big table must be keyed by the batch's proposals, never a walk
			// of the whole index.
			for i, line := range lines {
				if bigIndexScan.MatchString(line) {
					require.Less(t, i+1, len(lines), name)
					assert.Contains(t, lines[i+1], "Index Cond: (proposal_id = ", "%s: %s", name, line)
				}
			}
			assert.NotContains(t, plan, "JIT", name)
			t.Logf("%s:\n%s", name, plan)
		}
		return errRollback
	})
	require.ErrorIs(t, err, errRollback)
}

var bigIndexScan = regexp.MustCompile(`Index (Only )?Scan (using|on) (interviews|interview_messages)_pkey`)

var errRollback = assertError("rolled back on purpose")

type assertError string

func (e assertError) Error() string { return string(e) }

// Pruning the history reads the failure ledger through its index on
// last_run_id: with a ledger big enough that the planner would otherwise
// scan it (and sort it) for every batch of runs pruned, no plan scans it.
func TestPrunePlanUsesTheLedgersIndex(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	url := pgtest.Schema(t)
	store, err := Open(ctx, url, 2)
	require.NoError(t, err)
	t.Cleanup(store.Close)
	_, err = store.Migrate(ctx)
	require.NoError(t, err)
	db := pgtest.Pool(t, url)
	for _, sql := range []string{
		`INSERT INTO export_runs (source, status, started_at, finished_at)
			SELECT 'old', 'succeeded', now() - interval '200 days', now() - interval '200 days' FROM generate_series(1, 20000)`,
		`INSERT INTO failure_ledger (proposal_id, error_code, class, first_failed_at, last_failed_at, last_run_id)
			SELECT 'L' || g, 'forbidden', 'permanent', now(), now(), 1 + g % 10000 FROM generate_series(1, 100000) g`,
		`ANALYZE export_runs, failure_ledger`,
	} {
		_, err := db.Exec(ctx, sql)
		require.NoError(t, err)
	}
	rows, err := db.Query(ctx, "EXPLAIN "+prunableRunsSQL, time.Now().Add(-90*24*time.Hour), pruneBatch)
	require.NoError(t, err)
	lines, err := pgx.CollectRows(rows, pgx.RowTo[string])
	require.NoError(t, err)
	plan := strings.Join(lines, "\n")
	assert.NotContains(t, plan, "Seq Scan on failure_ledger", plan)
	t.Logf("prunableRunsSQL:\n%s", plan)
}
