package e2e

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/interview-export/interview-export/internal/fakeapi"
)

// A redirect is refused: never followed, the token never leaves the
// configured origin, and no answer from elsewhere is stored.
func TestRedirectsAreRefusedAndTheTokenStaysHome(t *testing.T) {
	t.Parallel()
	var reached, withToken atomic.Int64
	collector := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		reached.Add(1)
		if r.Header.Get("Authorization") != "" {
			withToken.Add(1)
		}
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprint(w, `{"interview":{"interviewId":"evil","score":1,"messages":[]}}`)
	}))
	t.Cleanup(collector.Close)
	for _, target := range []string{collector.URL + "/evil/collect", "/evil/collect"} {
		cfg := baseConfig()
		cfg.RedirectTo = target
		e := setup(t, cfg)
		ids := e.fake.ProposalIDs()[:20]
		r := e.run("", exportArgs(e.idsFile("ids.txt", ids))...)
		assert.Equal(t, 1, r.code, r.stderr)
		got := e.snapshot()
		assert.Empty(t, got.Interviews, "%s: nothing stored from a redirect", target)
		assert.Len(t, got.Failures, 20)
		for _, f := range got.Failures {
			assert.Equal(t, "unexpected_redirect/302", f)
		}
		assert.Equal(t, 1, e.count(`SELECT count(DISTINCT message) FROM export_failures WHERE message LIKE '%evil/collect%'`),
			"the failure names the Location")
	}
	assert.Zero(t, reached.Load(), "no request reached the redirect's target")
	assert.Zero(t, withToken.Load())
}

// An API that echoes the Authorization header never gets the token into a
// table or stdout: it is redacted where API text enters the program.
func TestEchoedTokenIsRedactedEverywhere(t *testing.T) {
	t.Parallel()
	cfg := baseConfig()
	cfg.EchoAuthorization = true
	e := setup(t, cfg)
	ids := e.idsFile("ids.txt", []string{"forbidden-1", "forbidden-2", e.fake.ProposalIDs()[0]})
	r := e.run("", exportArgs(ids)...) // run asserts that stdout and stderr never hold the token
	require.Equal(t, 1, r.code, r.stderr)
	assert.Equal(t, 2, e.count(`SELECT count(*) FROM export_failures WHERE message LIKE '%Bearer [REDACTED]%'`))
	assert.Zero(t, e.count(`SELECT count(*) FROM export_failures f WHERE f::text LIKE '%`+token+`%'`))
	r = e.run("", exportArgs(ids, "--dry-run")...)
	require.Equal(t, 1, r.code, r.stderr)
	assert.Contains(t, r.stdout, "Bearer [REDACTED]")
}

// The least privilege: migrations by the owner, then export --no-migrate as
// a role with the grants the README lists, and nothing more.
func TestRestrictedRoleExportsWithNoMigrate(t *testing.T) {
	t.Parallel()
	e := setup(t, baseConfig())
	r := e.run("", "migrate")
	require.Equal(t, 0, r.code, r.stderr)
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, e.db)
	require.NoError(t, err)
	defer conn.Close(ctx)
	role := e.loginRole("ie_")
	q, s := role.quoted, pgx.Identifier{role.schema}.Sanitize()
	_, err = conn.Exec(ctx, `GRANT USAGE ON SCHEMA `+s+` TO `+q+`;
		GRANT SELECT, INSERT, UPDATE, DELETE ON interviews, export_runs, export_failures, failure_ledger,
			proposals, jobs, feed_cursors, pace_board, erasures, recheck_state TO `+q+`;
		GRANT SELECT, INSERT, UPDATE ON interview_messages TO `+q+`;
		GRANT SELECT ON interview_export_schema_version TO `+q)
	require.NoError(t, err)
	restricted := role.url

	ids := e.fake.ProposalIDs()[:50]
	// One grant short: exit 2 (a person must fix it) before any request.
	cmd := e.command(ctx, exportArgs(e.idsFile("ids.txt", ids), "--no-migrate")...)
	cmd.Env = append(cmd.Env, "DATABASE_URL="+restricted)
	out, _ := cmd.CombinedOutput()
	assert.Equal(t, 2, cmd.ProcessState.ExitCode(), string(out))
	assert.Contains(t, string(out), "DELETE on interview_messages")
	assert.Zero(t, e.fake.Stats().InterviewRequests, "no request before the grants are checked")
	_, err = conn.Exec(ctx, `GRANT DELETE ON interview_messages TO `+q)
	require.NoError(t, err)

	cmd = e.command(ctx, exportArgs(e.idsFile("ids.txt", ids), "--no-migrate")...)
	cmd.Env = append(cmd.Env, "DATABASE_URL="+restricted)
	out, _ = cmd.CombinedOutput()
	require.Contains(t, []int{0, 1}, cmd.ProcessState.ExitCode(), string(out))
	assert.Equal(t, expected(e.fake, ids).Interviews, e.snapshot().Interviews)
}

// An API that goes away mid-run ends the run early with exit 75: committed
// work stays, only the IDs really tried have failures, the rest no outcome.
func TestOutageMidRunExits75(t *testing.T) {
	t.Parallel()
	for _, mode := range []string{"drop", "html404", "503"} {
		t.Run(mode, func(t *testing.T) {
			t.Parallel()
			cfg := baseConfig()
			cfg.Jobs, cfg.ProposalsPerJob = 20, 100
			cfg.Outage, cfg.DownAfter = mode, 150
			e := setup(t, cfg)
			ids := e.fake.ProposalIDs()
			// Stopped soon after the outage began: killed at the 30 s bound otherwise.
			r := e.runWithin(30*time.Second, "", exportArgs(e.idsFile("ids.txt", ids), "--concurrency", "4", "--outage-timeout", "3s")...)
			assert.Equal(t, 75, r.code, r.stderr)
			assert.Contains(t, r.stderr, "run again later")
			got := e.snapshot()
			assert.Equal(t, "failed", got.RunStatus)
			assert.Positive(t, len(got.Interviews), "what was done before the outage is committed")
			outage := 0
			for _, f := range got.Failures {
				if !strings.HasPrefix(f, "forbidden/") { // the fake forbids 1% of proposals on purpose
					outage++
				}
			}
			// The streak that opens the breaker (10), plus what was in flight around it.
			assert.LessOrEqual(t, outage, 10+2*4, "failures only for the IDs really tried: %v", got.Failures)
			assert.Less(t, len(got.Interviews)+len(got.Failures), 400, "the IDs not tried keep no outcome")
		})
	}
}

// At the start: an API that is down is 75 (try later); a 404 page where the
// API should be is a wrong base URL, 2.
func TestOutageAtTheStart(t *testing.T) {
	t.Parallel()
	for mode, code := range map[string]int{"drop": 75, "503": 75, "html404": 2} {
		t.Run(mode, func(t *testing.T) {
			t.Parallel()
			cfg := baseConfig()
			cfg.Outage = mode
			e := setup(t, cfg)
			r := e.run("", exportArgs(e.idsFile("ids.txt", e.fake.ProposalIDs()[:10]), "--max-attempts", "2")...)
			assert.Equal(t, code, r.code, r.stderr)
			assert.Zero(t, e.count(`SELECT count(*) FROM interviews`))
		})
	}
}

// A Retry-After longer than --max-retry-after stops the run at once with 75
// and says when the API allows the next request.
func TestLongRetryAfterExits75(t *testing.T) {
	t.Parallel()
	cfg := baseConfig()
	cfg.RetryAfter = 3600
	e := setup(t, cfg)
	// At once, not after the hour: killed at the 10 s bound otherwise.
	r := e.runWithin(10*time.Second, "", exportArgs(e.idsFile("ids.txt", e.fake.ProposalIDs()[:10]))...)
	assert.Equal(t, 75, r.code, r.stderr)
	assert.Contains(t, r.stderr, "run again after")
	assert.Contains(t, r.stderr, "1h0m0s")
	assert.Zero(t, e.count(`SELECT count(*) FROM export_failures`), "no ID was really tried")
}

// A SIGTERM during a pause ends the run without waiting for the drain
// deadline when nothing is in flight.
func TestSignalDuringPauseEndsAtOnce(t *testing.T) {
	t.Parallel()
	cfg := baseConfig()
	cfg.RetryAfter = 60
	e := setup(t, cfg)
	// No wait for the 60 s pause nor the 1 m drain: killed at the 20 s bound otherwise.
	cmd := e.command(within(t, 20*time.Second), exportArgs(e.idsFile("ids.txt", e.fake.ProposalIDs()[:10]), "--drain-timeout", "1m")...)
	require.NoError(t, cmd.Start())
	e.fake.Await(t, "a 429", func(st fakeapi.Stats) bool { return st.ByStatus[429] > 0 })
	require.NoError(t, cmd.Process.Signal(syscall.SIGTERM))
	_ = cmd.Wait()
	assert.Equal(t, 143, cmd.ProcessState.ExitCode())
	assert.Equal(t, "interrupted", e.snapshot().RunStatus)
}

// A lock held for good stops the run with exit 3, naming who holds it.
func TestLockHeldStopsWithExit3(t *testing.T) {
	t.Parallel()
	e := setup(t, baseConfig())
	ids := e.fake.ProposalIDs()[:30]
	r := e.run("", exportArgs(e.idsFile("ids.txt", ids))...)
	require.Contains(t, []int{0, 1}, r.code, r.stderr)
	ctx := context.Background()
	holder, err := pgx.Connect(ctx, e.db+"&application_name=hand-edit")
	require.NoError(t, err)
	defer holder.Close(ctx)
	tx, err := holder.Begin(ctx)
	require.NoError(t, err)
	defer tx.Rollback(ctx)
	_, err = tx.Exec(ctx, `UPDATE interviews SET summary = summary WHERE proposal_id = $1`, ids[0])
	require.NoError(t, err)
	var pid int
	require.NoError(t, tx.QueryRow(ctx, `SELECT pg_backend_pid()`).Scan(&pid))

	// Five tries of 200 ms, not a wait for the holder: killed at the 30 s bound otherwise.
	r = e.runWithin(30*time.Second, "", exportArgs(e.idsFile("ids.txt", ids), "--lock-timeout", "200ms")...)
	assert.Equal(t, 3, r.code, r.stderr)
	assert.Contains(t, r.stderr, "lock")
	assert.Contains(t, r.stderr, fmt.Sprintf("pid %d", pid))
	assert.Contains(t, r.stderr, "hand-edit")
}

// timeout(1) sends SIGTERM twice within milliseconds: that is one request
// to stop, so the drain still happens and the run is recorded.
func TestDoubleSIGTERMWithinASecondStillDrains(t *testing.T) {
	t.Parallel()
	cfg := baseConfig()
	cfg.Latency = 20 * time.Millisecond
	e := setup(t, cfg)
	cmd := e.command(context.Background(), exportArgs(e.idsFile("ids.txt", e.fake.ProposalIDs()), "--concurrency", "2")...)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	require.NoError(t, cmd.Start())
	e.fake.Await(t, "20 requests", func(st fakeapi.Stats) bool { return st.InterviewRequests >= 20 })
	// Two signals at once, as timeout(1) and some supervisors send them.
	require.NoError(t, cmd.Process.Signal(syscall.SIGTERM))
	require.NoError(t, cmd.Process.Signal(syscall.SIGTERM))
	_ = cmd.Wait()
	assert.Equal(t, 143, cmd.ProcessState.ExitCode())
	got := e.snapshot()
	assert.Equal(t, "interrupted", got.RunStatus, "the run was drained and recorded, not killed")
	assert.NotEmpty(t, got.Interviews)
	assert.Equal(t, 1, strings.Count(stderr.String(), "press Ctrl-C again to quit now"), "one line on the first signal:\n%s", stderr.String())
	assert.Contains(t, stderr.String(), "requests_in_flight=")
	assert.Contains(t, stderr.String(), "drain_deadline=")
}

// A UTF-8 byte-order mark at the start of a file is not part of the first ID.
func TestByteOrderMarkIsStripped(t *testing.T) {
	t.Parallel()
	e := setup(t, baseConfig())
	ids := e.fake.ProposalIDs()[:3]
	lines := append([]string{"\uFEFF" + ids[0]}, ids[1:]...)
	r := e.run("", exportArgs(e.idsFile("ids.txt", lines))...)
	require.Equal(t, 0, r.code, r.stderr)
	assert.Equal(t, expected(e.fake, ids).Interviews, e.snapshot().Interviews)
	r = e.run(strings.Join(lines, "\n"), append([]string{"export", "--ids-file", "-", "--dry-run"}, fast...)...)
	require.Equal(t, 0, r.code, r.stderr)
	assert.Contains(t, r.stdout, `"proposalId":"`+ids[0]+`"`)
	assert.NotContains(t, r.stdout, "\uFEFF")
}

// An empty value from --ids-query is skipped and counted, as a blank line is.
func TestEmptyQueryValuesAreSkipped(t *testing.T) {
	t.Parallel()
	e := setup(t, baseConfig())
	id := e.fake.ProposalIDs()[0]
	r := e.run("", append([]string{"export", "--ids-query", "SELECT unnest(ARRAY['', '  ', '" + id + "'])"}, fast...)...)
	require.Equal(t, 0, r.code, r.stderr)
	assert.Contains(t, r.stderr, "empty_rows_skipped=2")
	assert.Zero(t, e.count(`SELECT count(*) FROM export_failures`))
	assert.Equal(t, 1, e.count(`SELECT count(*) FROM interviews`))
}
