package e2e

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/interview-export/interview-export/internal/fakeapi"
)

// summaryOf reads a --summary-file.
func summaryOf(t *testing.T, path string) (exit int, failed, known int64) {
	t.Helper()
	raw, err := os.ReadFile(path)
	require.NoError(t, err)
	var s struct {
		ExitStatus int `json:"exit_status"`
		Counts     struct {
			Failed      int64 `json:"failed"`
			FailedKnown int64 `json:"failed_known"`
		} `json:"counts"`
	}
	require.NoError(t, json.Unmarshal(raw, &s))
	return s.ExitStatus, s.Counts.Failed, s.Counts.FailedKnown
}

// Three nights of --updates: new 403s and transient failures fail night 1;
// a night with nothing new fetches only the transient ones and exits 0; a
// week later the 403s are re-checked, fail the same way, and are reported
// as known, still exit 0.
func TestThreeNightsOfFailures(t *testing.T) {
	t.Parallel()
	cfg := baseConfig()
	cfg.Jobs, cfg.ProposalsPerJob, cfg.ForbiddenShare = 3, 100, 0.03
	cfg.Faults = fakeapi.Faults{ServerError: 0.05, OnlyFirst: 2} // fails twice, then answers
	e := setup(t, cfg)
	summary := filepath.Join(e.dir, "summary.json")
	args := updatesArgs("--max-attempts", "2", "--summary-file", summary)

	r := e.run("", args...)
	assert.Equal(t, 1, r.code, "night 1: new failures\n%s", r.stderr)
	permanent := e.count(`SELECT count(*) FROM failure_ledger WHERE class = 'permanent' AND error_code = 'forbidden'`)
	transient := e.count(`SELECT count(*) FROM failure_ledger WHERE class = 'transient' AND error_code = 'server_error'`)
	require.Positive(t, permanent)
	require.Positive(t, transient)
	assert.Equal(t, permanent+transient, e.count(`SELECT count(*) FROM failure_ledger`))
	t.Logf("night 1: %d forbidden, %d server errors", permanent, transient)

	before := e.fake.Stats()
	r = e.run("", args...)
	assert.Equal(t, 0, r.code, "night 2, nothing new: the transient ones succeed, the 403s wait\n%s", r.stderr)
	assert.Equal(t, int64(transient), e.fake.Stats().InterviewRequests-before.InterviewRequests, "only the transient failures are fetched")
	assert.Equal(t, permanent, e.count(`SELECT count(*) FROM failure_ledger`))
	exit, failed, _ := summaryOf(t, summary)
	assert.Equal(t, 0, exit)
	assert.Zero(t, failed)

	// A week later: every 403 comes due.
	e.exec(`UPDATE failure_ledger SET recheck_at = now() - interval '1 second'`)
	before = e.fake.Stats()
	r = e.run("", args...)
	assert.Equal(t, 0, r.code, "a week later: the 403s fail as before, known\n%s", r.stderr)
	assert.Equal(t, int64(permanent), e.fake.Stats().InterviewRequests-before.InterviewRequests)
	exit, failed, known := summaryOf(t, summary)
	assert.Equal(t, 0, exit)
	assert.Equal(t, int64(permanent), failed)
	assert.Equal(t, int64(permanent), known)
	assert.Contains(t, r.stderr, "known, failing as before")
	assert.Equal(t, permanent, e.count(`SELECT count(*) FROM failure_ledger WHERE recheck_at > now() + interval '6 days'`),
		"each re-checked one waits another week")
}

// An event delivered again on the next page is skipped; a cursor the API
// refuses exits 2 and names the way out, which works.
func TestFeedNeverWedges(t *testing.T) {
	t.Parallel()
	cfg := baseConfig()
	cfg.FeedRepeat = true
	e := setup(t, cfg)
	_, received, _ := feedCounts(e.fake)

	r := e.run("", updatesArgs()...)
	require.Contains(t, []int{0, 1}, r.code, r.stderr)
	assert.Equal(t, expected(e.fake, received).Interviews, e.snapshot().Interviews, "every page repeats an event: all exported once")
	added := e.fake.AddProposals(5)
	r = e.run("", updatesArgs()...)
	require.Contains(t, []int{0, 1}, r.code, "an event seen again never stops a run\n%s", r.stderr)
	for id, v := range expected(e.fake, added).Interviews {
		assert.Equal(t, v, e.snapshot().Interviews[id])
	}

	feed := e.fake.Feed()
	last := feed[len(feed)-1].ID
	more := e.fake.AddProposals(3)
	e.fake.ExpireFeedBefore(last + 2)
	r = e.run("", updatesArgs()...)
	assert.Equal(t, 2, r.code, r.stderr)
	assert.Contains(t, r.stderr, "refuses the feed cursor")
	assert.Contains(t, r.stderr, "interview-export feed reset --shard 0/1 --to beginning")

	r = e.run("", "feed", "status")
	require.Equal(t, 0, r.code, r.stderr)
	assert.Contains(t, r.stdout, "0/1")

	r = e.run("", "feed", "reset", "--shard", "0/1", "--to", "latest")
	require.Equal(t, 0, r.code, r.stderr)
	assert.Contains(t, r.stdout, "skipped")
	r = e.run("", updatesArgs()...)
	require.Contains(t, []int{0, 1}, r.code, "from the latest event, the run goes on\n%s", r.stderr)
	assert.NotContains(t, e.snapshot().Interviews, more[0], "--to latest skipped the history")

	r = e.run("", "feed", "reset", "--shard", "0/1", "--to", "beginning")
	require.Equal(t, 0, r.code, r.stderr)
	r = e.run("", updatesArgs()...)
	require.Contains(t, []int{0, 1}, r.code, r.stderr)
	for id, v := range expected(e.fake, more).Interviews {
		assert.Equal(t, v, e.snapshot().Interviews[id], "from the beginning, nothing is missed")
	}
}
