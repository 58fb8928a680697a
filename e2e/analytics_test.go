package e2e

import (
	"testing"

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
