package load_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/interview-export/interview-export/pace"
)

// The members of one account see each other's pace while they are heard
// from, and not once they leave or go quiet; another account's members are
// never seen.
func TestPaceBoard(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := context.Background()
	mine, theirs := b.store.PaceBoard("org_a"), b.store.PaceBoard("org_b")
	others, err := mine.Publish(ctx, "host/1", pace.Member{Rate: 4})
	require.NoError(t, err)
	assert.Empty(t, others, "alone")

	_, err = theirs.Publish(ctx, "host/9", pace.Member{Rate: 50, Busy: true})
	require.NoError(t, err)
	others, err = mine.Publish(ctx, "host/2", pace.Member{Rate: 4.5, Busy: true, Probing: true, Limited: 3})
	require.NoError(t, err)
	assert.Equal(t, map[string]pace.Member{"host/1": {Rate: 4}}, others, "the member of another account is not seen")

	others, err = mine.Publish(ctx, "host/1", pace.Member{Rate: 5})
	require.NoError(t, err)
	assert.Equal(t, map[string]pace.Member{"host/2": {Rate: 4.5, Busy: true, Probing: true, Limited: 3}}, others)

	_, err = b.db.Exec(ctx, `UPDATE pace_board SET seen_at = now() - interval '4 seconds' WHERE member = 'host/2'`)
	require.NoError(t, err)
	others, err = mine.Publish(ctx, "host/1", pace.Member{Rate: 5})
	require.NoError(t, err)
	assert.Empty(t, others, "not heard from for 4 s: ended")

	require.NoError(t, mine.Leave(ctx, "host/1"))
	var n int
	require.NoError(t, b.db.QueryRow(ctx, `SELECT count(*) FROM pace_board WHERE account = 'org_a' AND member = 'host/1'`).Scan(&n))
	assert.Zero(t, n)
	require.NoError(t, b.db.QueryRow(ctx, `SELECT count(*) FROM pace_board WHERE account = 'org_b'`).Scan(&n))
	assert.Equal(t, 1, n, "leaving one account's board touches no other")
}
