package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/interview-export/interview-export/internal/fakeapi"
	"github.com/interview-export/interview-export/load"
)

func baseConfig() fakeapi.Config {
	cfg := fakeapi.DefaultConfig()
	cfg.Jobs, cfg.ProposalsPerJob = 4, 100
	return cfg
}

// mixedIDs are the data set plus one ID of each special kind, odd but valid
// IDs, and lines that must be skipped or refused.
func mixedIDs(fake *fakeapi.Server) (lines, valid []string) {
	valid = append(fake.ProposalIDs(),
		"notfound-1", "forbidden-1", "badrequest-1", "html404-1", "invalid-1", "always500-1",
		"empty-1", "huge-1", "available-a/b", "available-..", "available-提案", "available-%2F")
	lines = append([]string{"# proposal IDs", ""}, valid...)
	lines = append(lines, "  "+valid[0]+"  \r", valid[1], "bad id", "bad\x01id", strings.Repeat("x", 300), "\xffbad")
	return lines, valid
}

func TestMixedRunWithEveryFaultEndsWithExpectedTables(t *testing.T) {
	t.Parallel()
	cfg := baseConfig()
	cfg.Faults = fakeapi.Faults{ServerError: 0.04, HTML502: 0.04, Drop: 0.04, Truncate: 0.04, Stall: 0.02,
		TooMany: 0.005, StallFor: 4 * time.Second, OnlyFirst: 2}
	e := setup(t, cfg)
	lines, valid := mixedIDs(e.fake)
	ids := e.idsFile("ids.txt", lines)

	// The timeout must cover the 1.6 MB huge-1 transcript under the race detector; stalls last longer.
	args := exportArgs(ids, "--concurrency", "8", "--max-attempts", "4", "--request-timeout", "2s")
	r := e.run("", args...)
	require.Equal(t, 1, r.code, "partial: some IDs fail by design\n%s", r.stderr)

	want := expected(e.fake, valid)
	want.Failures["bad id"] = "invalid_id/0"
	want.Failures["bad\x01id"] = "invalid_id/0"
	want.Failures[strings.Repeat("x", 300)] = "invalid_id/0"
	want.Failures["\uFFFDbad"] = "invalid_id/0"
	got := e.snapshot()
	assert.Equal(t, "partial", got.RunStatus)
	assert.Equal(t, want.Failures, got.Failures)
	assert.Equal(t, len(want.Interviews), len(got.Interviews))
	for _, id := range sortedKeys(want.Interviews) {
		assert.Equal(t, want.Interviews[id], got.Interviews[id], "interview %s", id)
		assertSameMessages(t, want.Messages[id], got.Messages[id], id)
	}
	st := e.fake.Stats()
	assert.Positive(t, st.ByStatus[500]+st.ByStatus[502], "faults were injected")
	assert.Positive(t, st.ByStatus[-1], "connections were dropped")
	assert.Zero(t, st.EarlyAfter429, "no request before a 429's Retry-After")
	assert.Contains(t, r.stderr, "partial")

	// A second run over unchanged data rewrites no message row.
	before := messageXmins(t, e.db)
	r = e.run("", args...)
	require.Equal(t, 1, r.code, r.stderr)
	assert.Equal(t, before, messageXmins(t, e.db), "unchanged messages are not rewritten")
	again := e.snapshot()
	assert.Equal(t, got.Interviews, again.Interviews)
	assert.True(t, assert.ObjectsAreEqual(got.Messages, again.Messages), "second run left the messages as they were")
}

func messageXmins(t *testing.T, db string) map[string]string {
	t.Helper()
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, db)
	require.NoError(t, err)
	defer conn.Close(ctx)
	rows, _ := conn.Query(ctx, `SELECT proposal_id || '/' || message_id, xmin::text FROM interview_messages`)
	out := map[string]string{}
	for rows.Next() {
		var k, v string
		require.NoError(t, rows.Scan(&k, &v))
		out[k] = v
	}
	require.NoError(t, rows.Err())
	return out
}

func TestUpstreamChangesAreMirrored(t *testing.T) {
	t.Parallel()
	e := setup(t, baseConfig())
	ids := e.fake.ProposalIDs()
	file := e.idsFile("ids.txt", ids)
	require.Equal(t, 1, e.run("", exportArgs(file)...).code) // 403s make it partial

	e.fake.SetEpoch(1) // edited, shrunk, grown, re-scored and vanished transcripts
	r := e.run("", exportArgs(file)...)
	require.Equal(t, 0, r.code, "the same 403s again are known failures\n%s", r.stderr)
	want := expected(e.fake, ids)
	got := e.snapshot()
	for _, id := range sortedKeys(want.Interviews) {
		assert.Equal(t, want.Interviews[id], got.Interviews[id], "interview %s", id)
		assertSameMessages(t, want.Messages[id], got.Messages[id], id)
	}
	assert.Equal(t, len(want.Interviews), len(got.Interviews))
}

// assertSameMessages reports the first difference only: transcripts are long.
func assertSameMessages(t *testing.T, want, got []string, id string) {
	t.Helper()
	for i := range min(len(want), len(got)) {
		if want[i] != got[i] {
			assert.Fail(t, "messages differ", "proposal %s message %d:\n want %.300s\n got  %.300s", id, i, want[i], got[i])
			return
		}
	}
	assert.Len(t, got, len(want), "proposal %s: messages", id)
}

func TestConcurrencyIsNeverExceeded(t *testing.T) {
	t.Parallel()
	cfg := baseConfig()
	e := setup(t, cfg)
	ids := e.idsFile("ids.txt", e.fake.ProposalIDs()[:120])
	args := []string{"export", "--ids-file", ids, "--rate", "40", "--concurrency", "8", "--progress-interval", "0"}
	r := e.run("", args...)
	require.Contains(t, []int{0, 1}, r.code, r.stderr)
	st := e.fake.Stats()
	assert.Equal(t, int64(120), st.InterviewRequests)
	assert.LessOrEqual(t, st.MaxInFlight, int64(8), "at most --concurrency in flight")
	// That --rate paces the requests is TestCeilingIsNeverExceeded (pace,
	// virtual time) and the bench's "busiest" column; here, that the flag
	// reached the run.
	assert.Equal(t, "40", e.text(`SELECT settings->>'rate' FROM export_runs`))
}

func TestServerRateLimitIsHonoured(t *testing.T) {
	t.Parallel()
	cfg := baseConfig()
	cfg.RateLimit = 30
	e := setup(t, cfg)
	list := e.fake.ProposalIDs()[:150]
	ids := e.idsFile("ids.txt", list)
	r := e.run("", exportArgs(ids, "--concurrency", "8")...)
	require.Contains(t, []int{0, 1}, r.code, r.stderr)
	st := e.fake.Stats()
	assert.Positive(t, st.ByStatus[429], "the fake did rate-limit")
	assert.Zero(t, st.EarlyAfter429, "no request left before the announced time")
	got := e.snapshot()
	assert.Equal(t, len(list), len(got.Interviews)+len(got.Failures), "every ID reached an outcome")
	for _, f := range got.Failures {
		assert.Equal(t, "forbidden/403", f)
	}
}

func TestRevokedTokenStopsWithExit2(t *testing.T) {
	t.Parallel()
	cfg := baseConfig()
	cfg.RevokeAfter = 60
	e := setup(t, cfg)
	ids := e.idsFile("ids.txt", e.fake.ProposalIDs())
	r := e.run("", exportArgs(ids, "--concurrency", "4", "--batch-size", "10")...)
	assert.Equal(t, 2, r.code, r.stderr)
	assert.Contains(t, r.stderr, "401")
	assert.Contains(t, r.stderr, "OT_API_TOKEN")
	got := e.snapshot()
	assert.Equal(t, "failed", got.RunStatus)
	assert.Positive(t, len(got.Interviews), "what was committed before the 401 stays")
	assert.Less(t, len(got.Interviews), 100)
	for id, f := range got.Failures {
		assert.Equal(t, "forbidden/403", f, "%s: a 401 is not recorded as a per-ID failure", id)
	}
}

func TestBadTokenFailsBeforeAnyTranscript(t *testing.T) {
	t.Parallel()
	e := setup(t, baseConfig())
	ids := e.idsFile("ids.txt", e.fake.ProposalIDs()[:10])
	cmd := e.command(context.Background(), exportArgs(ids)...)
	cmd.Env = append(cmd.Env, "OT_API_TOKEN=ot_pat_wrong")
	out, _ := cmd.CombinedOutput()
	assert.Equal(t, 2, cmd.ProcessState.ExitCode(), string(out))
	assert.Contains(t, string(out), "rejected the token")
	assert.Zero(t, e.fake.Stats().InterviewRequests)
	assert.NotContains(t, string(out), "ot_pat_wrong")
}

func TestMissingScopeFailsFast(t *testing.T) {
	t.Parallel()
	cfg := baseConfig()
	cfg.Scopes = []string{"jobs:read"}
	e := setup(t, cfg)
	r := e.run("", exportArgs(e.idsFile("ids.txt", []string{"p-1"}))...)
	assert.Equal(t, 2, r.code)
	assert.Contains(t, r.stderr, "proposals:read")
	assert.Zero(t, e.fake.Stats().InterviewRequests)
}

func TestHTMLNotFoundIsAFailureNotNoInterview(t *testing.T) {
	t.Parallel()
	e := setup(t, baseConfig())
	r := e.run("", exportArgs(e.idsFile("ids.txt", []string{"html404-1", "notfound-1"}))...)
	assert.Equal(t, 1, r.code, r.stderr)
	got := e.snapshot()
	assert.Equal(t, map[string]string{"html404-1": "not_found_without_envelope/404"}, got.Failures)
	assert.Equal(t, map[string]string{"notfound-1": "no_interview|<null>|<null>|<null>|0"}, got.Interviews)
}

// An API that cannot be reached at the start is exit 75 (try again later),
// with a hint at OT_API_URL; a 404 page there is exit 2 (TestOutageAtTheStart).
func TestUnreachableAPIFailsWithClearError(t *testing.T) {
	t.Parallel()
	e := setup(t, baseConfig())
	ids := e.idsFile("ids.txt", []string{"p-1"})
	cmd := e.command(context.Background(), exportArgs(ids)...)
	cmd.Env = append(cmd.Env, "OT_API_URL=http://127.0.0.1:1/api/public/v1")
	out, _ := cmd.CombinedOutput()
	assert.Equal(t, 75, cmd.ProcessState.ExitCode(), string(out))
	assert.Contains(t, string(out), "OT_API_URL")
}

func TestKilledRunThenRerunEqualsUninterruptedRun(t *testing.T) {
	t.Parallel()
	cfg := baseConfig()
	cfg.Jobs, cfg.ProposalsPerJob = 10, 100
	cfg.Latency = 2 * time.Millisecond
	killed := setup(t, cfg)
	ids := killed.idsFile("ids.txt", killed.fake.ProposalIDs())
	args := exportArgs(ids, "--concurrency", "4", "--batch-size", "25")

	cmd := killed.command(context.Background(), args...)
	require.NoError(t, cmd.Start())
	waitForRows(t, killed.db, 100)
	require.NoError(t, cmd.Process.Signal(syscall.SIGKILL))
	_ = cmd.Wait()
	partial := killed.snapshot()
	require.Less(t, len(partial.Interviews), 950, "killed mid-run")
	assert.Equal(t, "running", partial.RunStatus, "a killed run cannot mark itself")
	// Every proposal present is whole: its message count matches its messages.
	for id, row := range partial.Interviews {
		var n int
		fmt.Sscanf(row[strings.LastIndexByte(row, '|')+1:], "%d", &n)
		assert.Len(t, partial.Messages[id], n, "proposal %s is whole", id)
	}

	r := killed.run("", args...)
	require.Equal(t, 1, r.code, r.stderr)

	clean := setup(t, cfg)
	r = clean.run("", exportArgs(clean.idsFile("ids.txt", clean.fake.ProposalIDs()), "--concurrency", "4")...)
	require.Equal(t, 1, r.code, r.stderr)

	a, b := killed.snapshot(), clean.snapshot()
	assert.Equal(t, b.Interviews, a.Interviews)
	assert.True(t, assert.ObjectsAreEqual(b.Messages, a.Messages), "same messages as the uninterrupted run")
	for _, id := range sortedKeys(b.Messages) {
		assertSameMessages(t, b.Messages[id], a.Messages[id], id)
	}
	assert.Equal(t, b.Failures, a.Failures)
	var abandoned string
	conn, err := pgx.Connect(context.Background(), killed.db)
	require.NoError(t, err)
	defer conn.Close(context.Background())
	require.NoError(t, conn.QueryRow(context.Background(), `SELECT status FROM export_runs ORDER BY id LIMIT 1`).Scan(&abandoned))
	assert.Equal(t, "failed", abandoned, "the killed run is closed by the next one")
}

func waitForRows(t *testing.T, db string, n int) {
	t.Helper()
	ctx := context.Background()
	eventually(t, func() bool {
		conn, err := pgx.Connect(ctx, db)
		if err != nil {
			return false
		}
		defer conn.Close(ctx)
		var count int
		return conn.QueryRow(ctx, `SELECT count(*) FROM interviews`).Scan(&count) == nil && count >= n
	}, "%d interviews", n)
}

func TestTokenAppearsNowhere(t *testing.T) {
	t.Parallel()
	cfg := baseConfig()
	cfg.Faults = fakeapi.Faults{ServerError: 0.2, Drop: 0.1, OnlyFirst: 1}
	e := setup(t, cfg)
	ids := e.idsFile("ids.txt", append(e.fake.ProposalIDs()[:50], "forbidden-1", "bad id"))
	r := e.run("", exportArgs(ids, "--log-level", "debug", "--log-format", "json")...) // run checks stdout and stderr
	require.Equal(t, 1, r.code, r.stderr)
	assert.Contains(t, r.stderr, `"level":"DEBUG"`, "debug logging was on")

	ctx := context.Background()
	conn, err := pgx.Connect(ctx, e.db)
	require.NoError(t, err)
	defer conn.Close(ctx)
	for _, table := range []string{"export_runs", "export_failures", "interviews", "interview_messages"} {
		var n int
		require.NoError(t, conn.QueryRow(ctx, fmt.Sprintf(`SELECT count(*) FROM %s t WHERE t::text LIKE '%%' || $1 || '%%'`, table), token).Scan(&n))
		assert.Zero(t, n, "token found in %s", table)
	}
}

func TestSecondExportOnSameDatabaseExits4(t *testing.T) {
	t.Parallel()
	e := setup(t, baseConfig())
	store, err := load.Open(context.Background(), e.db, 2)
	require.NoError(t, err)
	defer store.Close()
	_, err = store.Migrate(context.Background())
	require.NoError(t, err)
	release, err := store.LockRun(context.Background(), "0/1")
	require.NoError(t, err)
	defer release()
	r := e.run("", exportArgs(e.idsFile("ids.txt", []string{"p-1"}))...)
	assert.Equal(t, 4, r.code, r.stderr)
	assert.Contains(t, r.stderr, "another export")
	assert.Zero(t, e.fake.Stats().InterviewRequests)
}

func TestMigrateTwiceAndConcurrently(t *testing.T) {
	t.Parallel()
	e := setup(t, baseConfig())
	cmds := []*struct {
		out []byte
		err error
	}{{}, {}, {}}
	done := make(chan struct{})
	for _, c := range cmds {
		go func() {
			cmd := e.command(context.Background(), "migrate")
			c.out, c.err = cmd.CombinedOutput()
			done <- struct{}{}
		}()
	}
	for range cmds {
		<-done
	}
	for _, c := range cmds {
		require.NoError(t, c.err, string(c.out))
	}
	r := e.run("", "migrate")
	assert.Equal(t, 0, r.code)
	assert.Contains(t, r.stdout, "applied 0 migration(s)")
}

func TestDryRunWritesNothing(t *testing.T) {
	t.Parallel()
	e := setup(t, baseConfig())
	cmd := e.command(context.Background(), append([]string{"export", "--dry-run", "--ids-file", "-"}, fast...)...)
	cmd.Env = append(cmd.Env, "DATABASE_URL=") // works without a database
	cmd.Stdin = strings.NewReader("available-1\nnotfound-1\nforbidden-1\navailable-1\n")
	var stdout strings.Builder
	cmd.Stdout = &stdout
	require.NoError(t, func() error {
		err := cmd.Run()
		if cmd.ProcessState.ExitCode() == 1 {
			return nil // forbidden-1 failed, as meant
		}
		return err
	}())
	var statuses []string
	for _, line := range strings.Split(strings.TrimSpace(stdout.String()), "\n") {
		var obj struct {
			ProposalID string `json:"proposalId"`
			Status     string `json:"status"`
		}
		require.NoError(t, json.Unmarshal([]byte(line), &obj), line)
		statuses = append(statuses, obj.ProposalID+"="+obj.Status)
	}
	assert.ElementsMatch(t, []string{"available-1=available", "notfound-1=no_interview", "forbidden-1=failed"}, statuses)
	_, err := os.Stat(e.dir)
	require.NoError(t, err)
}

func TestNoMigrateRefusesAnOldSchema(t *testing.T) {
	t.Parallel()
	e := setup(t, baseConfig())
	ids := e.idsFile("ids.txt", []string{"notfound-1"})
	r := e.run("", exportArgs(ids, "--no-migrate")...)
	assert.Equal(t, 2, r.code)
	assert.Contains(t, r.stderr, "interview-export migrate")
	assert.Zero(t, e.fake.Stats().InterviewRequests)
	conn, err := pgx.Connect(context.Background(), e.db)
	require.NoError(t, err)
	var tables int
	require.NoError(t, conn.QueryRow(context.Background(),
		`SELECT count(*) FROM pg_tables WHERE schemaname = current_schema()`).Scan(&tables))
	conn.Close(context.Background())
	assert.Zero(t, tables, "--no-migrate created nothing")

	require.Equal(t, 0, e.run("", "migrate").code)
	r = e.run("", exportArgs(ids, "--no-migrate")...)
	assert.Equal(t, 0, r.code, r.stderr)
}
