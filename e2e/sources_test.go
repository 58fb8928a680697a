package e2e

import (
	"context"
	"fmt"
	"os/exec"
	"sort"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/interview-export/interview-export/internal/fakeapi"
)

func (e *env) exec(sql string, args ...any) {
	e.t.Helper()
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, e.db)
	require.NoError(e.t, err)
	defer conn.Close(ctx)
	_, err = conn.Exec(ctx, sql, args...)
	require.NoError(e.t, err)
}

// count runs a query returning one integer.
func (e *env) count(sql string) int {
	e.t.Helper()
	var n int
	e.queryRow(sql, nil, &n)
	return n
}

// queryRow runs a query returning one row, scanned into dest.
func (e *env) queryRow(sql string, args []any, dest ...any) {
	e.t.Helper()
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, e.db)
	require.NoError(e.t, err)
	defer conn.Close(ctx)
	require.NoError(e.t, conn.QueryRow(ctx, sql, args...).Scan(dest...))
}

func TestIDsQuerySource(t *testing.T) {
	t.Parallel()
	e := setup(t, baseConfig())
	ids := e.fake.ProposalIDs()[:60]
	e.exec(`CREATE TABLE wanted (id text, n int, note text)`)
	e.exec(`INSERT INTO wanted (id, n) SELECT unnest($1::text[]), 1`, ids)
	e.exec(`INSERT INTO wanted (id) VALUES (NULL), ('  ` + ids[0] + `  '), ('bad id')`)

	r := e.run("", append([]string{"export", "--ids-query", "SELECT id FROM wanted"}, fast...)...)
	require.Contains(t, []int{0, 1}, r.code, r.stderr)
	got := e.snapshot()
	want := expected(e.fake, ids)
	want.Failures["bad id"] = "invalid_id/0"
	assert.Equal(t, want.Failures, got.Failures)
	assert.Equal(t, want.Interviews, got.Interviews)
	assert.Contains(t, r.stderr, "null_rows_skipped=1")

	// An integer column is accepted as text.
	r = e.run("", append([]string{"export", "--ids-query", "SELECT 42 UNION ALL SELECT 43", "--dry-run"}, fast...)...)
	assert.Equal(t, 0, r.code, r.stderr)
	assert.Contains(t, r.stdout, `"proposalId":"42"`)
}

func TestIDsQueryRefusedBeforeAnyAPICall(t *testing.T) {
	t.Parallel()
	e := setup(t, baseConfig())
	e.exec(`CREATE TABLE wanted (id text, created date)`)
	e.exec(`INSERT INTO wanted VALUES ('p-1', '2026-01-01')`)
	tests := []struct{ query, want string }{
		{"SELECT id, created FROM wanted", "returns 2 columns"},
		{"SELECT created FROM wanted", "of type date"},
		{"DELETE FROM wanted RETURNING id", "tried to write"},
		{"INSERT INTO wanted (id) VALUES ('x') RETURNING id", "tried to write"},
		{"SELECT pg_sleep(5)::text", "--ids-query-timeout"},
		{"SELEC id FROM wanted", "syntax error"},
		{"SELECT id FROM wanted; DELETE FROM wanted", "--ids-query"},
		{"COMMIT; DELETE FROM wanted RETURNING id", "--ids-query"},
		{"SELECT id FROM wanted; COMMIT; DELETE FROM wanted", "--ids-query"},
		{"CREATE TABLE x (a int)", "tried to write"},
	}
	for _, tt := range tests {
		r := e.run("", append([]string{"export", "--ids-query", tt.query, "--ids-query-timeout", "300ms"}, fast...)...)
		assert.Equal(t, 2, r.code, "%s: %s", tt.query, r.stderr)
		assert.Contains(t, r.stderr, tt.want, tt.query)
	}
	assert.Zero(t, e.fake.Stats().Requests, "refused before any API call")
	assert.Equal(t, 1, e.count(`SELECT count(*) FROM wanted`), "the query changed nothing")
	assert.Zero(t, e.count(`SELECT count(*) FROM export_runs`), "no run was started")
}

func TestJobsSourcePagesEverything(t *testing.T) {
	t.Parallel()
	cfg := baseConfig()
	cfg.Jobs, cfg.ProposalsPerJob = 103, 3 // /jobs/mine: two pages of 100
	e := setup(t, cfg)
	r := e.run("", append([]string{"export", "--all-jobs"}, fast...)...)
	require.Contains(t, []int{0, 1}, r.code, r.stderr)
	got := e.snapshot()
	want := expected(e.fake, e.fake.ProposalIDs())
	assert.Equal(t, want.Interviews, got.Interviews)
	assert.Equal(t, want.Failures, got.Failures)
	assert.Len(t, e.fake.ProposalIDs(), 309)
	assert.Equal(t, 103, e.count(`SELECT count(*) FROM jobs WHERE title IS NOT NULL AND proposals_total = 3`), "jobs from GET /jobs/mine")
	assert.Equal(t, 309, e.count(`SELECT count(*) FROM proposals WHERE job_id IS NOT NULL AND status IS NOT NULL`),
		"proposals from the listings, at no extra request")
}

func TestJobSourcePagesProposals(t *testing.T) {
	t.Parallel()
	cfg := baseConfig()
	cfg.Jobs, cfg.ProposalsPerJob = 3, 250 // three pages of proposals per job
	e := setup(t, cfg)
	r := e.run("", append([]string{"export", "--job", "job-0000", "--job", "job-0002"}, fast...)...)
	require.Contains(t, []int{0, 1}, r.code, r.stderr)
	var want []string
	for _, id := range e.fake.ProposalIDs() {
		if !strings.HasPrefix(id, "p-0001-") {
			want = append(want, id)
		}
	}
	got := e.snapshot()
	assert.Equal(t, expected(e.fake, want).Interviews, got.Interviews)
	assert.Equal(t, 500, len(got.Interviews)+len(got.Failures))

	r = e.run("", append([]string{"export", "--job", "job-9999"}, fast...)...)
	assert.Equal(t, 2, r.code, r.stderr)
	assert.Contains(t, r.stderr, "job-9999")
}

func TestAllJobsNeedsJobsScope(t *testing.T) {
	t.Parallel()
	cfg := baseConfig()
	cfg.Scopes = []string{"proposals:read"}
	e := setup(t, cfg)
	r := e.run("", append([]string{"export", "--all-jobs"}, fast...)...)
	assert.Equal(t, 2, r.code)
	assert.Contains(t, r.stderr, "jobs:read")
}

// The nightly scenario: a full run, then a run with --refresh-after that
// fetches only the new proposals and those whose outcome is stale.
func TestRefreshAfterFetchesOnlyNewAndStale(t *testing.T) {
	t.Parallel()
	e := setup(t, baseConfig())
	all := e.fake.ProposalIDs() // 400
	first := e.idsFile("first.txt", all[:300])
	r := e.run("", exportArgs(first)...)
	require.Equal(t, 1, r.code, r.stderr)
	// 50 of them were fetched two days ago.
	e.exec(`UPDATE interviews SET fetched_at = now() - interval '2 days' WHERE proposal_id = ANY($1)`, all[:50])
	before := e.fake.Stats().InterviewRequests

	nightly := e.idsFile("all.txt", all)
	r = e.run("", exportArgs(nightly, "--refresh-after", "20h")...)
	require.Equal(t, 1, r.code, r.stderr)
	fetched := e.fake.Stats().InterviewRequests - before
	failedFirst := 0 // of the first run's IDs that are not stale: a failure is no recorded outcome, so they are fetched again
	for _, id := range all[50:300] {
		if e.fake.KindOf(id) == fakeapi.KindForbidden {
			failedFirst++
		}
	}
	assert.Equal(t, int64(50+100+failedFirst), fetched, "stale, new and previously failed IDs only")
	var skipped int
	conn, err := pgx.Connect(context.Background(), e.db)
	require.NoError(t, err)
	defer conn.Close(context.Background())
	require.NoError(t, conn.QueryRow(context.Background(), `SELECT ids_skipped FROM export_runs ORDER BY id DESC LIMIT 1`).Scan(&skipped))
	assert.Equal(t, 400-50-100-failedFirst, skipped)
	assert.Contains(t, r.stderr, fmt.Sprintf("%d skipped as fresh", skipped))
}

func TestShardsCoverEveryIDExactlyOnce(t *testing.T) {
	t.Parallel()
	e := setup(t, baseConfig())
	ids := e.idsFile("ids.txt", e.fake.ProposalIDs())
	var wg sync.WaitGroup
	codes := make([]int, 3)
	for i := range 3 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			codes[i] = e.run("", exportArgs(ids, "--shard", fmt.Sprintf("%d/3", i))...).code
		}()
	}
	wg.Wait()
	for i, c := range codes {
		assert.Contains(t, []int{0, 1}, c, "shard %d", i)
	}
	assert.Equal(t, int64(400), e.fake.Stats().InterviewRequests, "every ID fetched exactly once")
	got := e.snapshot()
	want := expected(e.fake, e.fake.ProposalIDs())
	assert.Equal(t, want.Interviews, got.Interviews)
	var shards []string
	conn, err := pgx.Connect(context.Background(), e.db)
	require.NoError(t, err)
	defer conn.Close(context.Background())
	rows, _ := conn.Query(context.Background(), `SELECT shard FROM export_runs`)
	shards, err = pgx.CollectRows(rows, pgx.RowTo[string])
	require.NoError(t, err)
	sort.Strings(shards)
	assert.Equal(t, []string{"0/3", "1/3", "2/3"}, shards)
}

func TestConcurrentExportsSecondExits4(t *testing.T) {
	t.Parallel()
	cfg := baseConfig()
	cfg.Latency = 20 * time.Millisecond // the first run must still be going when it is signalled, on a loaded machine too
	e := setup(t, cfg)
	ids := e.idsFile("ids.txt", e.fake.ProposalIDs())
	first := e.command(context.Background(), exportArgs(ids, "--concurrency", "2")...)
	require.NoError(t, first.Start())
	waitForRows(t, e.db, 10)
	r := e.run("", exportArgs(ids)...)
	assert.Equal(t, 4, r.code, r.stderr)
	assert.Contains(t, r.stderr, "another export is running")
	require.NoError(t, first.Process.Signal(syscall.SIGTERM))
	_ = first.Wait()
	assert.Equal(t, 143, first.ProcessState.ExitCode())
}

func TestSIGTERMThenRerunEqualsUninterruptedRun(t *testing.T) {
	t.Parallel()
	cfg := baseConfig()
	cfg.Latency = 3 * time.Millisecond
	e := setup(t, cfg)
	ids := e.idsFile("ids.txt", e.fake.ProposalIDs())
	cmd := e.command(context.Background(), exportArgs(ids, "--concurrency", "4", "--batch-size", "1000")...)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	require.NoError(t, cmd.Start())
	e.fake.Await(t, "100 requests", func(st fakeapi.Stats) bool { return st.InterviewRequests >= 100 })
	require.NoError(t, cmd.Process.Signal(syscall.SIGTERM))
	_ = cmd.Wait()
	assert.Equal(t, 143, cmd.ProcessState.ExitCode(), stderr.String())
	assert.Contains(t, stderr.String(), "interrupted")
	partial := e.snapshot()
	assert.Equal(t, "interrupted", partial.RunStatus)
	assert.NotEmpty(t, partial.Interviews, "what was received before SIGTERM is committed, though no batch had filled")
	assert.Less(t, len(partial.Interviews), 390)

	r := e.run("", exportArgs(ids)...)
	require.Equal(t, 1, r.code, r.stderr)
	want := expected(e.fake, e.fake.ProposalIDs())
	got := e.snapshot()
	assert.Equal(t, want.Interviews, got.Interviews)
	for _, id := range sortedKeys(want.Messages) {
		assertSameMessages(t, want.Messages[id], got.Messages[id], id)
	}
}

func TestDryRunLeavesTheDatabaseUntouched(t *testing.T) {
	t.Parallel()
	e := setup(t, baseConfig())
	ids := e.idsFile("ids.txt", e.fake.ProposalIDs()[:50])
	require.Equal(t, 1, e.run("", exportArgs(ids)...).code)
	e.fake.SetEpoch(1)
	before := e.snapshot()
	runs := e.count(`SELECT count(*) FROM export_runs`)
	r := e.run("", exportArgs(ids, "--dry-run")...)
	require.Equal(t, 1, r.code, r.stderr)
	assert.Equal(t, 50, strings.Count(r.stdout, "\n"), "one JSON object per proposal")
	after := e.snapshot()
	assert.Equal(t, before, after)
	assert.Equal(t, runs, e.count(`SELECT count(*) FROM export_runs`), "no run recorded")
}

func TestSignalDrainDeadlineAndSecondSignal(t *testing.T) {
	t.Parallel()
	cfg := baseConfig()
	cfg.Faults = fakeapi.Faults{Stall: 1, StallFor: time.Minute} // every request hangs
	e := setup(t, cfg)
	ids := e.idsFile("ids.txt", e.fake.ProposalIDs()[:20])

	start := func(ctx context.Context) *exec.Cmd {
		cmd := e.command(ctx, exportArgs(ids, "--drain-timeout", "1s", "--request-timeout", "1m")...)
		require.NoError(t, cmd.Start())
		e.fake.Await(t, "a request", func(st fakeapi.Stats) bool { return st.InterviewRequests > 0 })
		return cmd
	}

	// One signal: requests in flight get the drain deadline, then the run ends interrupted.
	before := e.fake.Stats().InterviewRequests
	// The hanging requests are abandoned at the 1 s drain deadline (that
	// they get it is pipeline's TestSignalDrainsRequestsInFlight, in
	// virtual order); here the run ends interrupted, under a 20 s bound.
	cmd := start(within(t, 20*time.Second))
	require.NoError(t, cmd.Process.Signal(syscall.SIGINT))
	_ = cmd.Wait()
	assert.Equal(t, 130, cmd.ProcessState.ExitCode(), "interrupted, not killed at the bound")
	assert.Equal(t, "interrupted", e.snapshot().RunStatus)
	assert.LessOrEqual(t, e.fake.Stats().InterviewRequests-before, int64(8), "no new ID after the signal")

	// A second signal exits at once, without waiting for the drain.
	// Under a 20 s bound, far below the 1 m drain it would otherwise wait.
	waitFor := e.fake.Stats().InterviewRequests
	cmd = e.command(within(t, 20*time.Second), exportArgs(ids, "--drain-timeout", "1m", "--request-timeout", "1m")...)
	require.NoError(t, cmd.Start())
	e.fake.Await(t, "a request", func(st fakeapi.Stats) bool { return st.InterviewRequests > waitFor })
	require.NoError(t, cmd.Process.Signal(syscall.SIGTERM))
	// The scenario is two signals more than a second apart (main treats a
	// repeat within a second as the same request to stop).
	time.Sleep(1200 * time.Millisecond)
	require.NoError(t, cmd.Process.Signal(syscall.SIGTERM))
	_ = cmd.Wait()
	assert.Equal(t, 143, cmd.ProcessState.ExitCode(), "the second signal does not wait for the 1m drain (killed at the bound otherwise)")
	assert.Equal(t, "interrupted", e.snapshot().RunStatus, "recorded before quitting: the database answered within a second")
}

// Shards on one database share the API's quota: they tell each other their
// pace while they run, nobody sends before its own 429's Retry-After, the
// tables come out exact, and each shard deletes its pace row as it ends.
func TestShardsShareTheQuota(t *testing.T) {
	t.Parallel()
	cfg := baseConfig()
	cfg.Jobs, cfg.RateLimit, cfg.RateBurst = 2, 20, 5
	e := setup(t, cfg)
	ids := e.idsFile("ids.txt", e.fake.ProposalIDs())
	require.Zero(t, e.run("", "migrate").code)
	var wg sync.WaitGroup
	runs := make([]result, 2)
	for i := range runs {
		wg.Go(func() {
			runs[i] = e.run("", exportArgs(ids, "--shard", fmt.Sprintf("%d/2", i), "--concurrency", "4",
				"--log-level", "debug", "--log-format", "json")...)
		})
	}
	wg.Wait()
	shared := false
	for i, r := range runs {
		assert.Contains(t, []int{0, 1}, r.code, "shard %d: %s", i, r.stderr)
		shared = shared || strings.Contains(r.stderr, "sharing the account's quota with 1 other member")
	}
	assert.True(t, shared, "the shards' paces met")
	st := e.fake.Stats()
	assert.Positive(t, st.ByStatus[429], "the quota was reached")
	assert.Zero(t, st.EarlyAfter429, "no shard sent before its own 429's Retry-After")
	got := e.snapshot()
	assert.Equal(t, expected(e.fake, e.fake.ProposalIDs()).Interviews, got.Interviews)
	conn, err := pgx.Connect(context.Background(), e.db)
	require.NoError(t, err)
	defer conn.Close(context.Background())
	var left int
	require.NoError(t, conn.QueryRow(context.Background(), `SELECT count(*) FROM pace_board`).Scan(&left))
	assert.Zero(t, left, "each shard deleted its row of the pace board")
}
