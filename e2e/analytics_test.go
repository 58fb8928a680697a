package e2e

import (
	"context"
	"fmt"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/interview-export/interview-export/internal/fakeapi"
)

// Two nights of the README's recipe fill jobs and statuses, the analysts'
// views, and keep the members the schema does not name, within the
// request budget; a rerun over unchanged transcripts rewrites nothing.
func TestNightsFillJobsStatusesViewsAndExtra(t *testing.T) {
	t.Parallel()
	cfg := baseConfig()
	cfg.Jobs, cfg.ProposalsPerJob, cfg.ExtraMembers = 5, 100, true
	e := setup(t, cfg)
	events, received, _ := feedCounts(e.fake)

	r := e.run("", updatesArgs()...)
	require.Contains(t, []int{0, 1}, r.code, r.stderr)
	n1 := e.fake.Stats().Requests
	assert.LessOrEqual(t, n1, int64(len(received)+(events+199)/200+2+cfg.Jobs+1), "N + ⌈events/200⌉ + 2 + a listing page per job + /jobs/mine")
	t.Logf("night 1: %d events, %d requests", events, n1)
	assert.Equal(t, len(received), e.count(`SELECT count(*) FROM proposals WHERE job_id IS NOT NULL AND status IS NOT NULL`),
		"every proposal has its job and a status")
	assert.Equal(t, cfg.Jobs, e.count(`SELECT count(*) FROM jobs WHERE title IS NOT NULL`))
	assert.Equal(t, len(received), e.count(`SELECT count(*) FROM interview_scores`))
	assert.Equal(t, cfg.Jobs, e.count(`SELECT count(*) FROM job_scores WHERE job_title IS NOT NULL AND proposals = 100`))
	available := e.count(`SELECT count(*) FROM interviews WHERE status = 'available'`)
	assert.Equal(t, available, e.count(`SELECT count(*) FROM interviews WHERE extra->>'language' = 'en' AND extra ? 'durationSeconds'`))
	assert.Equal(t, e.count(`SELECT count(*) FROM interview_messages`), e.count(`SELECT count(*) FROM interview_messages WHERE extra ? 'tokens'`))
	assert.Contains(t, r.stderr, "field=interview.language", "the first unknown field is logged once")
	assert.Equal(t, e.count(`SELECT count(*) FROM interview_scores WHERE score IS NOT NULL`),
		e.count(`SELECT count(*) FROM interviews WHERE score IS NOT NULL`))
	hired := e.count(`SELECT count(*) FROM proposals WHERE status = 'HIRED'`)
	assert.Equal(t, hired, e.count(`SELECT coalesce(sum(hired), 0)::int FROM job_scores`))

	// Night 2: new proposals and a hiring decision.
	added := e.fake.AddProposals(30)
	e.fake.AddEvent(fakeapi.Event{Type: "proposal.status_changed", ProposalID: received[3], JobID: "job-0000", Status: "HIRED"})
	before := e.fake.Stats().Requests
	r = e.run("", updatesArgs()...)
	require.Contains(t, []int{0, 1}, r.code, r.stderr)
	n2 := e.fake.Stats().Requests - before
	assert.LessOrEqual(t, n2, int64(30+1+2+1+1), "30 transcripts, a feed page, /auth/me, job-0000's first listing page, /jobs/mine")
	t.Logf("night 2: 31 new events, %d requests", n2)
	assert.Equal(t, "HIRED", e.text(`SELECT status FROM interview_scores WHERE proposal_id = $1`, received[3]))
	for _, id := range added {
		assert.NotEmpty(t, e.text(`SELECT coalesce(status, '') FROM proposals WHERE proposal_id = $1`, id), id)
	}

	// Nothing new, same transcripts: a rerun of the history rewrites no message.
	msgs := e.count(`SELECT count(*) FROM interview_messages`)
	xmins := e.count(`SELECT count(DISTINCT xmin::text) FROM interview_messages`)
	r = e.run("", "feed", "reset", "--shard", "0/1", "--to", "beginning")
	require.Equal(t, 0, r.code, r.stderr)
	r = e.run("", updatesArgs()...)
	require.Contains(t, []int{0, 1}, r.code, r.stderr)
	assert.Equal(t, msgs, e.count(`SELECT count(*) FROM interview_messages`))
	assert.Equal(t, xmins, e.count(`SELECT count(DISTINCT xmin::text) FROM interview_messages`), "no message row rewritten, extra included")
	assert.Zero(t, e.count(`SELECT interviews_changed::int FROM export_runs ORDER BY id DESC LIMIT 1`))
}

// Each score's scale comes from evidence (a value above 10, or the job
// listing's metrics.interviewScore ten times apart); the views put the
// known ones on one scale, and report never mixes scales.
func TestScoreScalesEndToEnd(t *testing.T) {
	t.Parallel()
	e := setup(t, baseConfig())
	r := e.run("", "export", "--all-jobs", "--rate", "0", "--progress-interval", "0")
	require.Contains(t, []int{0, 1}, r.code, r.stderr)
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, e.db)
	require.NoError(t, err)
	defer conn.Close(ctx)
	rows, err := conn.Query(ctx, `SELECT proposal_id, score::text, score_scale, score_100::float8 FROM interview_scores
		WHERE interview_status = 'available' AND score IS NOT NULL`)
	require.NoError(t, err)
	counts := map[string]int{}
	for rows.Next() {
		var id, score string
		var scale *int16
		var s100 *float64
		require.NoError(t, rows.Scan(&id, &score, &scale, &s100))
		tr := e.fake.Transcript(id)
		var value float64
		fmt.Sscan(score, &value)
		switch {
		case tr.ScoreScale == 10:
			counts["0–10"]++
			if assert.NotNil(t, scale, "%s: the listing tells 0–10", id) {
				assert.Equal(t, int16(10), *scale)
				assert.InDelta(t, value*10, *s100, 1e-9)
			}
		case value > 10:
			counts["0–100"]++
			if assert.NotNil(t, scale, id) {
				assert.Equal(t, int16(100), *scale)
			}
		default:
			counts["0–100 at most 10: unknown"]++
			assert.Nil(t, scale, "%s: %s on 0–100 with an equal listing says nothing", id, score)
		}
	}
	require.NoError(t, rows.Err())
	t.Logf("scores by what the evidence told: %v", counts)
	assert.Positive(t, counts["0–10"])
	r = e.run("", "report")
	require.Equal(t, 0, r.code, r.stderr)
	assert.Contains(t, r.stdout, fmt.Sprintf("%d on 0–10 shown ×10, %d of unknown scale left out", counts["0–10"], counts["0–100 at most 10: unknown"]))
}
