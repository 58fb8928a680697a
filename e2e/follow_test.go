package e2e

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/interview-export/interview-export/internal/fakeapi"
)

// follower is a running export --updates --follow.
type follower struct {
	t      *testing.T
	cmd    *exec.Cmd
	addr   string
	stderr *lockedBuffer
}

// lockedBuffer is a bytes.Buffer that the process's output goroutine and
// the test may use at once.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

// startFollower starts a follower with args and waits until its first
// cycle is done (/readyz answers 200).
func (e *env) startFollower(databaseURL string, args ...string) *follower {
	e.t.Helper()
	f := &follower{t: e.t, addr: freeAddr(e.t), stderr: &lockedBuffer{}}
	all := append([]string{"export", "--updates", "--follow", "--rate", "0", "--progress-interval", "0"}, args...)
	if !slices.Contains(args, "--webhook-listen") {
		all = append(all, "--listen", f.addr)
	} else {
		f.addr = args[slices.Index(args, "--webhook-listen")+1]
	}
	f.cmd = e.command(context.Background(), all...)
	if databaseURL != "" {
		f.cmd.Env = append(f.cmd.Env, "DATABASE_URL="+databaseURL)
	}
	f.cmd.Stderr = f.stderr
	require.NoError(e.t, f.cmd.Start())
	e.t.Cleanup(func() { f.cmd.Process.Kill(); f.cmd.Wait() })
	f.waitFor("/readyz", http.StatusOK)
	return f
}

func (f *follower) get(path string) (int, string) {
	resp, err := http.Get("http://" + f.addr + path)
	if err != nil {
		return 0, ""
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body)
}

func (f *follower) waitFor(path string, status int) {
	f.t.Helper()
	eventually(f.t, func() bool {
		code, _ := f.get(path)
		return code == status
	}, "%s answering %d (stderr:\n%s)", path, status, f.stderr)
}

// stop sends SIGTERM and returns the exit status.
func (f *follower) stop() int {
	require.NoError(f.t, f.cmd.Process.Signal(syscall.SIGTERM))
	_ = f.cmd.Wait()
	return f.cmd.ProcessState.ExitCode()
}

// hasOutcome reports whether proposal id has an outcome (a row in
// interviews or export_failures).
func (e *env) hasOutcome(id string) bool {
	return e.count(fmt.Sprintf(`SELECT count(*) FROM (SELECT proposal_id FROM interviews WHERE proposal_id = '%s'
		UNION ALL SELECT proposal_id FROM export_failures WHERE proposal_id = '%s') x`, id, id)) > 0
}

// landed waits until proposal id has an outcome and returns how long that
// took from since: a figure to log, never to assert (the bench's follower
// pass measures freshness).
func (e *env) landed(t *testing.T, id string, since time.Time) time.Duration {
	t.Helper()
	eventually(t, func() bool { return e.hasOutcome(id) }, "an outcome for %s", id)
	return time.Since(since)
}

// percentile returns the p-th percentile (nearest rank) of ds.
func percentile(ds []time.Duration, p int) time.Duration {
	s := slices.Clone(ds)
	slices.Sort(s)
	return s[max((len(s)*p+99)/100-1, 0)]
}

// Woken by signed webhooks, a follower has each new proposal's outcome in
// the database within seconds; forged, stale and duplicate deliveries wake
// nothing; it serves its metrics and health; SIGTERM stops it with exit 0.
func TestFollowerWokenByWebhooks(t *testing.T) {
	t.Parallel()
	cfg := baseConfig()
	cfg.Jobs, cfg.ProposalsPerJob = 2, 50
	e := setup(t, cfg)
	secret := []byte("whsec_e2e_follower_secret")
	secretFile := filepath.Join(e.dir, "webhook-secret")
	require.NoError(t, os.WriteFile(secretFile, secret, 0o600))
	addr := freeAddr(t)
	f := e.startFollower("", "--poll-interval", "1h", "--webhook-listen", addr, "--webhook-secret-file", secretFile)
	_, received, _ := feedCounts(e.fake)
	assert.Equal(t, len(received), e.count(`SELECT count(*) FROM (SELECT proposal_id FROM interviews UNION SELECT proposal_id FROM export_failures) x`),
		"the first cycle exported the history")
	url := "http://" + addr + "/webhooks/opentrain"

	var fresh []time.Duration
	for i := range 20 {
		id := e.fake.AddProposals(1)[0]
		start := time.Now()
		code, err := fakeapi.Deliver(http.DefaultClient, url, secret, fakeapi.Delivery{Event: e.fake.LastEvent(), ID: fmt.Sprint("d-", i)})
		require.NoError(t, err)
		require.Equal(t, http.StatusNoContent, code)
		fresh = append(fresh, e.landed(t, id, start))
	}
	// A figure, not a goal: the bench's follower pass holds p95 to 3 s.
	t.Logf("freshness with webhooks over %d proposals: p50 %s, p95 %s", len(fresh), percentile(fresh, 50), percentile(fresh, 95))

	// Forged, stale and duplicate deliveries make it fetch nothing.
	quiet := e.fake.AddProposals(1)[0]
	before := e.fake.Stats().Requests
	for _, d := range []fakeapi.Delivery{{ID: "f-1", Forged: true}, {ID: "f-2", Stale: true}, {ID: "d-0"}} {
		d.Event = e.fake.LastEvent()
		code, err := fakeapi.Deliver(http.DefaultClient, url, secret, d)
		require.NoError(t, err)
		if d.Forged || d.Stale {
			assert.Equal(t, http.StatusUnauthorized, code)
		} else {
			assert.Equal(t, http.StatusNoContent, code, "a duplicate is acknowledged")
		}
	}
	// A negative: nothing may happen, so there is no condition to wait on.
	// A woken cycle sends its first request within milliseconds; 1.5 s
	// leaves a wide margin.
	time.Sleep(1500 * time.Millisecond)
	assert.Equal(t, before, e.fake.Stats().Requests, "no request: nothing woke the follower")
	assert.False(t, e.hasOutcome(quiet))

	code, metrics := f.get("/metrics")
	assert.Equal(t, http.StatusOK, code)
	for _, series := range []string{`interview_export_proposals_total{outcome="available",shard="0/1"}`, "interview_export_requests_total",
		"interview_export_feed_newest_event_age_seconds", "interview_export_last_success_timestamp_seconds", "interview_export_request_rate",
		`interview_export_webhook_deliveries_total{result="refused",shard="0/1"} 2`, `interview_export_webhook_deliveries_total{result="duplicate",shard="0/1"} 1`} {
		assert.Contains(t, metrics, series)
	}
	code, _ = f.get("/healthz")
	assert.Equal(t, http.StatusOK, code)
	assert.NotContains(t, f.stderr.String(), string(secret))

	assert.Equal(t, 0, f.stop(), f.stderr.String())
	assert.Zero(t, e.count(`SELECT count(*) FROM export_runs WHERE status IN ('failed', 'running')`), "every cycle recorded as it ended")
	// At most one row a minute: the cycles of a minute add to one row, and
	// the rows' counts add up to what landed.
	assert.Zero(t, e.count(`SELECT count(*) FROM export_runs a JOIN export_runs b ON a.id < b.id AND b.started_at < a.started_at + interval '1 minute'`),
		"two rows started within a minute")
	assert.Equal(t, e.count(`SELECT count(*) FROM interviews`), e.count(`SELECT sum(available + no_interview) FROM export_runs`))
	t.Logf("the history and 20 woken cycles recorded in %d row(s)", e.count(`SELECT count(*) FROM export_runs`))
}

// Polling alone, a follower has each new proposal within the poll interval
// and a few seconds; restarted, it loses nothing; it rides out a database
// outage shorter than its bound.
func TestFollowerPollsRestartsAndRidesOutAnOutage(t *testing.T) {
	t.Parallel()
	cfg := baseConfig()
	cfg.Jobs, cfg.ProposalsPerJob = 1, 30
	e := setup(t, cfg)
	proxy, proxied := startDBProxy(t, e.db)
	f := e.startFollower(proxied, "--poll-interval", "1s", "--outage-timeout", "2s")

	id := e.fake.AddProposals(1)[0]
	t.Logf("landed %s after it was added, polling every second", e.landed(t, id, time.Now()))

	// The database goes away for 4 s (under 10 × --outage-timeout): the
	// follower waits, then goes on.
	proxy.cut()
	during := e.fake.AddProposals(2)
	time.Sleep(4 * time.Second) // the outage itself: its length is the scenario
	proxy.restore()
	for _, id := range during {
		e.landed(t, id, time.Now())
	}
	assert.Equal(t, 0, f.stop(), f.stderr.String())

	// Stopped, then started again: what arrived meanwhile is exported.
	meanwhile := e.fake.AddProposals(3)
	f = e.startFollower("", "--poll-interval", "1s")
	for _, id := range meanwhile {
		e.landed(t, id, time.Now())
	}
	assert.Equal(t, 0, f.stop())
	_, received, _ := feedCounts(e.fake)
	assert.Equal(t, len(received), e.count(`SELECT count(*) FROM (SELECT proposal_id FROM interviews UNION SELECT proposal_id FROM export_failures) x`),
		"every proposal of the feed has an outcome")
}
