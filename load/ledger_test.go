package load_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/interview-export/interview-export/load"
)

// A permanent failure found failing the same way again is known; a
// transient one never is; an outcome closes the ledger's row; the
// permanent ones come due only at their re-check time.
func TestFailureLedger(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	b := setup(t)
	night := func(fs ...load.Failure) load.Counts {
		st, err := b.w.Write(ctx, &load.Batch{Failures: fs})
		require.NoError(t, err)
		return st
	}
	forbidden := func(id string) load.Failure {
		return load.Failure{ProposalID: id, HTTPStatus: 403, Code: load.CodeForbidden, Message: "no", Attempts: 1}
	}
	timeout := load.Failure{ProposalID: "t", Code: load.CodeTimeout, Message: "slow", Attempts: 5}

	st := night(forbidden("f1"), forbidden("f2"), timeout)
	assert.Equal(t, int64(3), st.Failed)
	assert.Zero(t, st.FailedKnown, "first time: new")

	due, err := b.store.PendingFailures(ctx)
	require.NoError(t, err)
	assert.Equal(t, []string{"t"}, due, "a 403 waits for its re-check; a timeout is retried every run")

	st = night(forbidden("f1"), load.Failure{ProposalID: "f2", HTTPStatus: 400, Code: load.CodeBadRequest, Message: "bad", Attempts: 1}, timeout)
	assert.Equal(t, int64(1), st.FailedKnown, "f1 failed the same way: known; f2 failed another way: new; t is transient")
	assert.Equal(t, int64(2), st.FailedNew())

	_, err = b.db.Exec(ctx, `UPDATE failure_ledger SET recheck_at = now() - interval '1 second' WHERE proposal_id = 'f1'`)
	require.NoError(t, err)
	due, err = b.store.PendingFailures(ctx)
	require.NoError(t, err)
	assert.Equal(t, []string{"f1", "t"}, due, "f1's re-check came")

	_, err = b.w.Write(ctx, &load.Batch{Interviews: []load.Interview{available("t", new("5"), msg("m1", 0, "interviewer", "hello", t0))}})
	require.NoError(t, err)
	open, err := b.store.OpenFailures(ctx)
	require.NoError(t, err)
	var ids []string
	for _, f := range open {
		ids = append(ids, f.ProposalID)
	}
	assert.Equal(t, []string{"f1", "f2"}, ids, "an outcome closes the open failure")

	var known int64
	require.NoError(t, b.db.QueryRow(ctx, `SELECT count(*) FROM export_failures WHERE known`).Scan(&known))
	assert.Equal(t, int64(1), known)
}

// One value PostgreSQL refuses fails its proposal alone: the rest of the
// batch, its facts and its cursor are committed.
func TestOneRefusedValueFailsItsProposalNotItsBatch(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	b := setup(t)
	batch := &load.Batch{Cursor: &load.FeedCursor{Shard: "0/1", Value: 42},
		Proposals: []load.Proposal{{ProposalID: "p-3", Status: "HIRED"}}}
	for i := range 10 {
		score := fmt.Sprint(i)
		if i == 6 {
			score = "1e999999" // beyond numeric
		}
		batch.Interviews = append(batch.Interviews, available(fmt.Sprintf("p-%d", i), &score, msg("m1", 0, "interviewer", "hello", t0)))
	}
	st, err := b.w.Write(ctx, batch)
	require.NoError(t, err)
	assert.Equal(t, int64(9), st.Available)
	assert.Equal(t, int64(1), st.Failed)

	var n int
	require.NoError(t, b.db.QueryRow(ctx, `SELECT count(*) FROM interviews`).Scan(&n))
	assert.Equal(t, 9, n)
	var id, code, msg string
	require.NoError(t, b.db.QueryRow(ctx, `SELECT proposal_id, error_code, message FROM export_failures`).Scan(&id, &code, &msg))
	assert.Equal(t, "p-6", id)
	assert.Equal(t, load.CodeInvalidResponse, code)
	assert.True(t, strings.Contains(msg, "SQLSTATE 22003"), msg)
	cursor, ok, err := b.store.FeedCursor(ctx, "0/1")
	require.NoError(t, err)
	assert.True(t, ok)
	assert.Equal(t, int64(42), cursor)
	var status string
	require.NoError(t, b.db.QueryRow(ctx, `SELECT status FROM proposals WHERE proposal_id = 'p-3'`).Scan(&status))
	assert.Equal(t, "HIRED", status)
	var failed int64
	require.NoError(t, b.db.QueryRow(ctx, `SELECT available + failed FROM export_runs WHERE id = $1`, b.runID).Scan(&failed))
	assert.Equal(t, int64(10), failed, "the run's counts hold every part once")
}
