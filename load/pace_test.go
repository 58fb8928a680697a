package load_test

import (
	"context"
	"math"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/interview-export/interview-export/load"
)

// Shards see each other's pace while they are heard from, and not once
// they leave or go quiet.
func TestSharePace(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := context.Background()
	peers, err := b.store.SharePace(ctx, "0/2", load.Pace{Rate: math.Inf(1)}, 3*time.Second)
	require.NoError(t, err)
	assert.Empty(t, peers, "alone")

	peers, err = b.store.SharePace(ctx, "1/2", load.Pace{Rate: 4.5, Probing: true, Limited: 3}, 3*time.Second)
	require.NoError(t, err)
	assert.Equal(t, map[string]load.Pace{"0/2": {Rate: math.Inf(1)}}, peers, "unlimited is stored as NULL and read back")

	peers, err = b.store.SharePace(ctx, "0/2", load.Pace{Rate: 5}, 3*time.Second)
	require.NoError(t, err)
	assert.Equal(t, map[string]load.Pace{"1/2": {Rate: 4.5, Probing: true, Limited: 3}}, peers)

	_, err = b.db.Exec(ctx, `UPDATE pace_shares SET seen_at = now() - interval '4 seconds' WHERE shard = '1/2'`)
	require.NoError(t, err)
	peers, err = b.store.SharePace(ctx, "0/2", load.Pace{Rate: 5}, 3*time.Second)
	require.NoError(t, err)
	assert.Empty(t, peers, "not heard from for 4 s: ended")

	require.NoError(t, b.store.LeavePace(ctx, "0/2"))
	var n int
	require.NoError(t, b.db.QueryRow(ctx, `SELECT count(*) FROM pace_shares WHERE shard = '0/2'`).Scan(&n))
	assert.Zero(t, n)
}
