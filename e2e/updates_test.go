package e2e

import (
	"context"
	"sort"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/interview-export/interview-export/internal/fakeapi"
)

func updatesArgs(extra ...string) []string {
	return append(append([]string{"export", "--updates"}, fast...), extra...)
}

// feedCounts are what the fake's history holds, as a token with
// proposals:read sees it.
func feedCounts(fake *fakeapi.Server) (events int, received []string, status map[string]string) {
	status = map[string]string{}
	for _, e := range fake.Feed() {
		switch e.Type {
		case "message.received", "payment.pending":
			continue // filtered: the token lacks messages:read and payments:read
		case "proposal.received":
			received = append(received, e.ProposalID)
		case "proposal.status_changed":
			status[e.ProposalID] = e.Status
		}
		events++
	}
	return events, received, status
}

// Night 1 reads the whole history; night 2 fetches only what is new and
// what failed before, within the request budget.
func TestUpdatesBacklogThenIncremental(t *testing.T) {
	t.Parallel()
	cfg := baseConfig()
	cfg.Jobs, cfg.ProposalsPerJob = 10, 100
	e := setup(t, cfg)
	events, received, _ := feedCounts(e.fake)

	r := e.run("", updatesArgs()...)
	require.Contains(t, []int{0, 1}, r.code, r.stderr)
	want := expected(e.fake, received)
	got := e.snapshot()
	assert.Equal(t, want.Interviews, got.Interviews, "night 1: the backlog")
	assert.Equal(t, want.Failures, got.Failures)
	st := e.fake.Stats()
	n1 := st.Requests
	jobs := cfg.Jobs
	assert.LessOrEqual(t, n1, int64(len(received)+(events+199)/200+2+jobs+(jobs+99)/100),
		"N + ⌈events/200⌉ + 2, and a listing page per job with new proposals plus ⌈jobs/100⌉ of /jobs/mine")
	failed := len(got.Failures)
	t.Logf("night 1: %d events, %d transcripts fetched, %d requests, %d failed", events, st.InterviewRequests, n1, failed)

	added := e.fake.AddProposals(40)
	e.fake.AddEvent(fakeapi.Event{Type: "proposal.status_changed", ProposalID: received[0], JobID: "job-0000", Status: "HIRED"})
	before := e.fake.Stats()
	r = e.run("", updatesArgs()...)
	require.Contains(t, []int{0, 1}, r.code, r.stderr)
	after := e.fake.Stats()
	fetched := after.InterviewRequests - before.InterviewRequests
	assert.Equal(t, int64(40), fetched, "night 2: the new proposals; the 403s wait for their re-check")
	assert.LessOrEqual(t, after.Requests-before.Requests, int64(40+1+2+2), "and job-0000's listing page and /jobs/mine")
	t.Logf("night 2: 41 new events, %d transcripts fetched (%d new; %d 403s wait), %d requests",
		fetched, len(added), failed, after.Requests-before.Requests)
	got = e.snapshot()
	for id, v := range expected(e.fake, added).Interviews {
		assert.Equal(t, v, got.Interviews[id])
	}
	assert.Equal(t, "HIRED", e.text(`SELECT status FROM proposals WHERE proposal_id = $1`, received[0]))

	// Nothing new: at most F + 3 requests.
	before = e.fake.Stats()
	r = e.run("", updatesArgs()...)
	require.Contains(t, []int{0, 1}, r.code, r.stderr)
	assert.LessOrEqual(t, e.fake.Stats().Requests-before.Requests, int64(failed+3))
}

// Statuses land in proposals: the latest event by id wins, whatever its
// createdAt; unknown event types are counted and skipped.
func TestUpdatesRecordsStatusesAndSkipsUnknownTypes(t *testing.T) {
	t.Parallel()
	cfg := baseConfig()
	e := setup(t, cfg)
	_, received, status := feedCounts(e.fake)
	e.fake.AddEvent(fakeapi.Event{Type: "proposal.status_changed", ProposalID: received[1], Status: "DECLINED"})
	e.fake.AddEvent(fakeapi.Event{Type: "proposal.status_changed", ProposalID: received[1], Status: "HIRED",
		CreatedAt: time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC)}) // later in the feed, older by its clock
	e.fake.AddEvent(fakeapi.Event{Type: "interview.rescored", ProposalID: received[2]})
	status[received[1]] = "HIRED"
	r := e.run("", updatesArgs()...)
	require.Contains(t, []int{0, 1}, r.code, r.stderr)
	for id, s := range status {
		assert.Equal(t, s, e.text(`SELECT coalesce(status, '') FROM proposals WHERE proposal_id = $1`, id), id)
	}
	assert.Equal(t, len(received), e.count(`SELECT count(*) FROM proposals WHERE received_at IS NOT NULL AND job_id IS NOT NULL`))
	assert.Equal(t, 1, e.count(`SELECT (events_by_type->>'interview.rescored')::int FROM export_runs`))
	assert.Positive(t, e.count(`SELECT (events_by_type->>'proposal.archived')::int FROM export_runs`))

	r = e.run("", "report")
	require.Equal(t, 0, r.code, r.stderr)
	assert.Contains(t, r.stdout, "Scores by proposal status")
	assert.Contains(t, r.stdout, "SHORTLISTED")
}

// kill -9 at any moment loses no event: the rerun goes on from the stored
// cursor and the tables end exactly as after an uninterrupted run.
func TestUpdatesKilledThenRerunIsExact(t *testing.T) {
	t.Parallel()
	cfg := baseConfig()
	cfg.Jobs, cfg.ProposalsPerJob = 10, 100
	cfg.Latency = 2 * time.Millisecond
	e := setup(t, cfg)
	_, received, _ := feedCounts(e.fake)
	cmd := e.command(context.Background(), updatesArgs("--concurrency", "4", "--batch-size", "50")...)
	require.NoError(t, cmd.Start())
	waitForRows(t, e.db, 200)
	require.NoError(t, cmd.Process.Signal(syscall.SIGKILL))
	_ = cmd.Wait()
	cursor := e.count(`SELECT coalesce(max(cursor), 0)::int FROM feed_cursors`)
	assert.Positive(t, cursor, "the cursor moved with the committed batches")

	r := e.run("", updatesArgs()...)
	require.Contains(t, []int{0, 1}, r.code, r.stderr)
	want := expected(e.fake, received)
	got := e.snapshot()
	assert.Equal(t, want.Interviews, got.Interviews)
	for _, id := range sortedKeys(want.Interviews) {
		assertSameMessages(t, want.Messages[id], got.Messages[id], id)
	}
	outcomes := e.count(`SELECT count(*) FROM (SELECT proposal_id FROM interviews UNION SELECT proposal_id FROM export_failures) x`)
	assert.Equal(t, len(received), outcomes, "every received proposal has an outcome: no event was lost")
}

// A failed proposal is retried by the next runs without holding the cursor
// (a permanent one once its re-check comes: here at once).
func TestUpdatesRetriesFailuresWithoutHoldingTheCursor(t *testing.T) {
	t.Parallel()
	cfg := baseConfig()
	cfg.ForbiddenShare = 0.05
	e := setup(t, cfg)
	updatesArgs := func() []string { return updatesArgs("--recheck-after", "1ms") }
	r := e.run("", updatesArgs()...)
	require.Equal(t, 1, r.code, r.stderr)
	failed := e.snapshot().Failures
	require.NotEmpty(t, failed)
	last := e.fake.Feed()[len(e.fake.Feed())-1].ID
	assert.Equal(t, int(last), e.count(`SELECT cursor::int FROM feed_cursors`), "the cursor is past every event, failures included")
	before := e.fake.Stats().InterviewRequests
	r = e.run("", updatesArgs()...)
	require.Equal(t, 0, r.code, "known failures: exit 0\n%s", r.stderr)
	assert.Equal(t, int64(len(failed)), e.fake.Stats().InterviewRequests-before, "each failure is tried again")
	assert.Equal(t, keys(failed), keys(e.snapshot().Failures))
}

// Shards read the feed each with its own cursor and take their own IDs.
func TestUpdatesWithShards(t *testing.T) {
	t.Parallel()
	e := setup(t, baseConfig())
	_, received, _ := feedCounts(e.fake)
	for i := range 3 {
		r := e.run("", updatesArgs("--shard", []string{"0/3", "1/3", "2/3"}[i])...)
		require.Contains(t, []int{0, 1}, r.code, r.stderr)
	}
	assert.Equal(t, 3, e.count(`SELECT count(*) FROM feed_cursors`))
	assert.Equal(t, int64(len(received)), e.fake.Stats().InterviewRequests, "each proposal fetched by one shard")
	assert.Equal(t, len(received), e.count(`SELECT count(*) FROM (SELECT proposal_id FROM interviews UNION SELECT proposal_id FROM export_failures) x`))
}

// A dry run reads from the stored cursor and stores nothing.
func TestUpdatesDryRunStoresNothing(t *testing.T) {
	t.Parallel()
	e := setup(t, baseConfig())
	r := e.run("", updatesArgs()...)
	require.Contains(t, []int{0, 1}, r.code, r.stderr)
	cursor := e.count(`SELECT cursor::int FROM feed_cursors`)
	added := e.fake.AddProposals(3)
	r = e.run("", updatesArgs("--dry-run")...)
	require.Contains(t, []int{0, 1}, r.code, r.stderr)
	for _, id := range added {
		assert.Contains(t, r.stdout, `"proposalId":"`+id+`"`)
	}
	assert.Equal(t, cursor, e.count(`SELECT cursor::int FROM feed_cursors`), "the cursor did not move")
	assert.Zero(t, e.count(`SELECT count(*) FROM interviews WHERE proposal_id LIKE 'p-new-%'`))
}

func keys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// text runs a query returning one text value.
func (e *env) text(sql string, args ...any) string {
	e.t.Helper()
	var s string
	e.queryRow(sql, args, &s)
	return s
}
