package load_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/interview-export/interview-export/load"
	"github.com/interview-export/interview-export/pipeline"
)

type removal struct {
	Reason  *string
	At      *time.Time
	Score   *string
	Summary *string
	Count   int
}

func readRemoval(t *testing.T, b *bundle, id string) removal {
	t.Helper()
	var r removal
	require.NoError(t, b.db.QueryRow(context.Background(), `SELECT content_removed, content_removed_at, score::text, summary, message_count
		FROM interviews WHERE proposal_id = $1`, id).Scan(&r.Reason, &r.At, &r.Score, &r.Summary, &r.Count))
	return r
}

// A transcript the API stops serving is marked deleted upstream, once, with
// when; served again, the mark goes.
func TestDeletedUpstreamIsMarkedAndCounted(t *testing.T) {
	t.Parallel()
	b := setup(t)
	write(t, b, available("A", new("7"), msg("a1", 0, "candidate", "hi", t0)), noInterview("N"))
	st := write(t, b, noInterview("A"), noInterview("N"))
	assert.Equal(t, int64(1), st.RemovedUpstream, "A was stored; N never had a transcript")
	r := readRemoval(t, b, "A")
	assert.Equal(t, new(load.RemovedUpstream), r.Reason)
	require.NotNil(t, r.At)
	assert.Nil(t, readRemoval(t, b, "N").Reason)
	st = write(t, b, noInterview("A"))
	assert.Zero(t, st.RemovedUpstream, "removed once")
	assert.Equal(t, r.At, readRemoval(t, b, "A").At, "the first time is kept")
	write(t, b, available("A", new("7"), msg("a1", 0, "candidate", "hi", t0)))
	assert.Nil(t, readRemoval(t, b, "A").Reason, "served again")
}

// An erasure removes the content in one transaction, records every ID
// (unknown ones too), is harmless twice, is kept out of every later write,
// and is lifted by Unerase. A dry run changes nothing.
func TestErasureSticks(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := context.Background()
	a := available("A", new("7"), msg("a1", 0, "candidate", "my words", t0), msg("a2", 1, "interviewer", "q", t0))
	a.Extra = []byte(`{"notes":"x"}`)
	write(t, b, a, available("B", new("9")))

	dry, err := b.store.Erase(ctx, []string{"A", "U", "A"}, "ticket 12", true)
	require.NoError(t, err)
	assert.Equal(t, load.Erasure{Requested: 2, Erased: 2, Unknown: 1, Interviews: 1, Messages: 2}, dry)
	assert.Len(t, readMessages(t, b, "A"), 2, "a dry run changes nothing")
	assert.Zero(t, countRows(t, b, `SELECT count(*) FROM erasures`))

	e, err := b.store.Erase(ctx, []string{"A", "U"}, "ticket 12", false)
	require.NoError(t, err)
	assert.Equal(t, dry, e)
	assert.Empty(t, readMessages(t, b, "A"))
	assert.Equal(t, removal{Reason: new(load.RemovedErased), At: readRemoval(t, b, "A").At}, readRemoval(t, b, "A"),
		"score, summary and count gone")
	assert.Zero(t, countRows(t, b, `SELECT count(*) FROM interviews WHERE proposal_id = 'A' AND extra IS NOT NULL`))
	var reason string
	var stored bool
	require.NoError(t, b.db.QueryRow(ctx, `SELECT reason, was_stored FROM erasures WHERE proposal_id = 'U'`).Scan(&reason, &stored))
	assert.Equal(t, "ticket 12", reason)
	assert.False(t, stored, "an unknown ID is recorded: it may arrive later")

	again, err := b.store.Erase(ctx, []string{"A"}, "again", false)
	require.NoError(t, err)
	assert.Equal(t, load.Erasure{Requested: 1, AlreadyErased: 1}, again, "erasing twice is harmless")

	// A batch fetched before the erasure, written after it: left out.
	st := write(t, b, a, available("U", new("1"), msg("u1", 0, "candidate", "late", t0)), available("B", new("9")))
	assert.Equal(t, int64(2), st.Withheld)
	assert.Empty(t, readMessages(t, b, "A"))
	_, ok := readInterview(t, b, "U")
	assert.False(t, ok, "an erased ID that arrives is not stored")

	assert.Equal(t, map[string]bool{"A": true, "U": true}, withheld(t, b, "A", "B", "U", "V"))

	n, err := b.store.Unerase(ctx, []string{"A", "V"})
	require.NoError(t, err)
	assert.Equal(t, int64(1), n)
	write(t, b, a)
	assert.Len(t, readMessages(t, b, "A"), 2, "lifted: written again")
	assert.Nil(t, readRemoval(t, b, "A").Reason)
}

// An erasure that loses its database half way leaves everything as it was.
func TestErasureIsAllOrNothing(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := context.Background()
	write(t, b, available("A", new("7"), msg("a1", 0, "candidate", "words", t0)))
	// A lock on one message holds the erasure's DELETE until its statement
	// times out: the erasure fails after its INSERT and its UPDATE.
	tx, err := b.db.Begin(ctx)
	require.NoError(t, err)
	defer tx.Rollback(ctx)
	_, err = tx.Exec(ctx, `SELECT 1 FROM interview_messages WHERE proposal_id = 'A' FOR UPDATE`)
	require.NoError(t, err)
	ectx, cancel := context.WithTimeout(ctx, 500*time.Millisecond)
	defer cancel()
	_, err = b.store.Erase(ectx, []string{"A", "U"}, "ticket", false)
	require.Error(t, err)
	require.NoError(t, tx.Rollback(ctx))
	assert.Len(t, readMessages(t, b, "A"), 1)
	assert.Nil(t, readRemoval(t, b, "A").Reason)
	assert.Zero(t, countRows(t, b, `SELECT count(*) FROM erasures`))
}

// Retention removes the content of what is past the cutoff, by the last
// message, keeps the score and the count, and withholds those IDs.
func TestRetentionKeepsScores(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := context.Background()
	old := available("OLD", new("6"), msg("o1", 0, "candidate", "long ago", t0.AddDate(-2, 0, 0)), msg("o2", 1, "interviewer", "q", t0.AddDate(-2, 0, 0)))
	recent := available("NEW", new("8"), msg("n1", 0, "candidate", "recently", t0))
	write(t, b, old, recent)
	cutoff := t0.AddDate(-1, 0, 0)
	n, err := b.store.RemoveExpired(ctx, cutoff, b.runID, true)
	require.NoError(t, err)
	assert.Equal(t, int64(1), n)
	assert.Len(t, readMessages(t, b, "OLD"), 2, "a dry run only counts")

	n, err = b.store.RemoveExpired(ctx, cutoff, b.runID, false)
	require.NoError(t, err)
	assert.Equal(t, int64(1), n)
	r := readRemoval(t, b, "OLD")
	assert.Equal(t, removal{Reason: new(load.RemovedRetention), At: r.At, Score: new("6"), Count: 2}, r)
	assert.Empty(t, readMessages(t, b, "OLD"))
	assert.Len(t, readMessages(t, b, "NEW"), 1)
	assert.Equal(t, 1, countRows(t, b, fmt.Sprintf(`SELECT removed_retention FROM export_runs WHERE id = %d`, b.runID)))
	assert.Equal(t, map[string]bool{"OLD": true}, withheld(t, b, "OLD", "NEW"))
	n, err = b.store.RemoveExpired(ctx, cutoff, b.runID, false)
	require.NoError(t, err)
	assert.Zero(t, n, "removed once")
	// The score views still count it, its content read as removed.
	_, err = b.db.Exec(ctx, `INSERT INTO proposals (proposal_id, job_id, status) VALUES ('OLD', 'J', 'HIRED')`)
	require.NoError(t, err)
	var score, reason string
	var count int
	require.NoError(t, b.db.QueryRow(ctx, `SELECT score::text, content_removed, message_count FROM interview_scores WHERE proposal_id = 'OLD'`).
		Scan(&score, &reason, &count))
	assert.Equal(t, []any{"6", load.RemovedRetention, 2}, []any{score, reason, count})
}

// withheld are the IDs of ids that the store's records withhold.
func withheld(t *testing.T, b *bundle, ids ...string) map[string]bool {
	t.Helper()
	records, err := b.store.Recorded(context.Background(), ids)
	require.NoError(t, err)
	out := map[string]bool{}
	for id, r := range records {
		if r.Withheld {
			out[id] = true
		}
	}
	return out
}

func countRows(t *testing.T, b *bundle, sql string) int {
	t.Helper()
	var n int
	require.NoError(t, b.db.QueryRow(context.Background(), sql).Scan(&n))
	return n
}

// The re-checks of stored transcripts over 60 nights, on 10,000 stored
// proposals: every night's run takes RecheckDue's IDs and fetches them
// (their fetched_at moves to the night). Two warehouses: one backfilled the
// night before the first run, one whose fetches spread over the 90 days
// before it. Some proposals are deleted upstream at random nights; each
// leaves the warehouse at its next re-check.
func TestRechecksAreSpreadEvenly(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		// fetchedDaysAgo is the age of proposal i's fetch before the first night.
		fetchedDaysAgo func(i int) float64
		shards         uint64
	}{
		{"backfilled the night before", func(int) float64 { return 1 }, 1},
		{"fetched over the 90 days before", func(i int) float64 { return float64(i%90) + 0.5 }, 1},
		{"fetched over the 90 days before, 4 shards", func(i int) float64 { return float64(i%90) + 0.5 }, 4},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			b := setup(t)
			ctx := context.Background()
			const stored, nights = 10000, 60
			const window = 30 * 24 * time.Hour
			first := time.Date(2026, 1, 1, 2, 0, 0, 0, time.UTC)
			_, err := b.db.Exec(ctx, `INSERT INTO interviews (proposal_id, status, message_count, fetched_at, changed_at)
				SELECT 'p' || g, 'available', 0, $1::timestamptz - make_interval(secs => ($2::float8[])[g] * 86400), $1
				FROM generate_series(1, $3) g`, first, ages(stored, tc.fetchedDaysAgo), stored)
			require.NoError(t, err)
			rng := rand.New(rand.NewPCG(1, 2))
			lastFetch := make(map[string]time.Time, stored)
			for i := 1; i <= stored; i++ {
				// A fetch already overdue on the first night counts from
				// when it fell due: the first night catches up on it.
				at := first.Add(-time.Duration(tc.fetchedDaysAgo(i) * float64(24*time.Hour)))
				lastFetch[fmt.Sprintf("p%d", i)] = maxTime(at, first.Add(-window))
			}
			deletedAt := map[string]int{} // proposal → night deleted upstream
			for len(deletedAt) < 100 {
				deletedAt[fmt.Sprintf("p%d", 1+rng.IntN(stored))] = rng.IntN(nights - 31)
			}
			var perNight []int
			worstGap, worstLeave := time.Duration(0), 0
			for night := range nights {
				now := first.Add(time.Duration(night) * 24 * time.Hour)
				var plan load.Recheck
				for i := range tc.shards {
					sh := pipeline.Shard{Index: i, Count: tc.shards}
					p, err := b.store.RecheckDue(ctx, load.RecheckPlan{Now: now, Window: window, Shard: sh.String(), Holds: sh.Holds, Shards: int(tc.shards)})
					require.NoError(t, err)
					plan.IDs = append(plan.IDs, p.IDs...)
				}
				perNight = append(perNight, len(plan.IDs))
				var gone []string
				for _, id := range plan.IDs {
					worstGap = max(worstGap, now.Sub(lastFetch[id]))
					lastFetch[id] = now
					if d, ok := deletedAt[id]; ok && d <= night {
						gone = append(gone, id)
						worstLeave = max(worstLeave, night-d)
					}
				}
				_, err = b.db.Exec(ctx, `UPDATE interviews SET fetched_at = $2 WHERE proposal_id = ANY ($1)`, plan.IDs, now)
				require.NoError(t, err)
				_, err = b.db.Exec(ctx, `UPDATE interviews SET status = 'no_interview', content_removed = 'deleted_upstream',
					content_removed_at = $2 WHERE proposal_id = ANY ($1)`, gone, now)
				require.NoError(t, err)
			}
			// The longest a proposal went without a fetch, the wait that
			// was still running at the last night included.
			end := first.Add(time.Duration(nights-1) * 24 * time.Hour)
			for id, at := range lastFetch {
				if _, deleted := deletedAt[id]; !deleted {
					worstGap = max(worstGap, end.Sub(at))
				}
			}
			stillHeld := countRows(t, b, `SELECT count(*) FROM interviews WHERE content_removed IS NULL`)
			left := 0
			for id := range deletedAt {
				if readRemoval(t, b, id).Reason != nil {
					left++
				}
			}
			total := 0
			for _, n := range perNight[1:] {
				total += n
			}
			avg := float64(total) / float64(nights-1)
			t.Logf("%s: first night %d re-checks; later nights %d–%d, average %.0f (goal: at most 2× %d); "+
				"longest without a fetch %s (goal: at most %s + a night); deleted upstream: %d of 100 left within %d nights",
				tc.name, perNight[0], slices.Min(perNight[1:]), slices.Max(perNight[1:]), avg, stored*24*int(time.Hour)/int(window),
				worstGap, window, left, worstLeave)
			assert.LessOrEqual(t, slices.Max(perNight[1:]), 2*333, "no night after the first re-checks more than twice the average")
			assert.LessOrEqual(t, worstGap, window+24*time.Hour, "nothing waits longer than the window and a night")
			assert.LessOrEqual(t, worstLeave, 31, "a deletion leaves within the window and a night")
			assert.Equal(t, 100, left, "every deleted proposal left")
			assert.Equal(t, stored-100, stillHeld)
		})
	}
}

func maxTime(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

func ages(n int, f func(int) float64) []float64 {
	out := make([]float64, n+1)
	for i := 1; i <= n; i++ {
		out[i] = f(i)
	}
	return out[1:]
}
