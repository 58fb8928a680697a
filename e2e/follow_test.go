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
	f.waitFor("/readyz", http.StatusOK, 60*time.Second)
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

func (f *follower) waitFor(path string, status int, within time.Duration) {
	f.t.Helper()
	deadline := time.Now().Add(within)
	for time.Now().Before(deadline) {
		if code, _ := f.get(path); code == status {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	require.FailNow(f.t, "the follower never answered", "%s %d within %s; stderr:\n%s", path, status, within, f.stderr.String())
}

// stop sends SIGTERM and returns the exit status and how long it took.
func (f *follower) stop() (int, time.Duration) {
	start := time.Now()
	require.NoError(f.t, f.cmd.Process.Signal(syscall.SIGTERM))
	_ = f.cmd.Wait()
	return f.cmd.ProcessState.ExitCode(), time.Since(start)
}

// outcomeWithin waits until proposal id has an outcome (a row in interviews
// or export_failures) and returns how long that took from since.
func (e *env) outcomeWithin(id string, since time.Time, within time.Duration) (time.Duration, bool) {
	deadline := since.Add(within)
	for time.Now().Before(deadline) {
		if e.count(fmt.Sprintf(`SELECT count(*) FROM (SELECT proposal_id FROM interviews WHERE proposal_id = '%s'
			UNION ALL SELECT proposal_id FROM export_failures WHERE proposal_id = '%s') x`, id, id)) > 0 {
			return time.Since(since), true
		}
		time.Sleep(20 * time.Millisecond)
	}
	return 0, false
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
		took, ok := e.outcomeWithin(id, start, 10*time.Second)
		require.True(t, ok, "proposal %s never landed", id)
		fresh = append(fresh, took)
	}
	t.Logf("freshness with webhooks over %d proposals: p50 %s, p95 %s", len(fresh), percentile(fresh, 50), percentile(fresh, 95))
	assert.LessOrEqual(t, percentile(fresh, 95), 3*time.Second, "p95 within 3 s of the event")

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
	time.Sleep(1500 * time.Millisecond)
	assert.Equal(t, before, e.fake.Stats().Requests, "no request: nothing woke the follower")
	_, landed := e.outcomeWithin(quiet, time.Now(), 100*time.Millisecond)
	assert.False(t, landed)

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

	exit, took := f.stop()
	assert.Equal(t, 0, exit, f.stderr.String())
	assert.Less(t, took, 20*time.Second)
	assert.Zero(t, e.count(`SELECT count(*) FROM export_runs WHERE status IN ('failed', 'running')`), "every cycle recorded as it ended")
	runs := e.count(`SELECT count(*) FROM export_runs`)
	assert.LessOrEqual(t, runs, 21, "one row per cycle that did work (the history, then each woken cycle); idle ones leave none")
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
	took, ok := e.outcomeWithin(id, time.Now(), 10*time.Second)
	require.True(t, ok)
	assert.LessOrEqual(t, took, 4*time.Second, "within --poll-interval + 3 s")

	// The database goes away for 4 s (under 10 × --outage-timeout): the
	// follower waits, then goes on.
	proxy.cut()
	during := e.fake.AddProposals(2)
	time.Sleep(4 * time.Second)
	proxy.restore()
	for _, id := range during {
		_, ok := e.outcomeWithin(id, time.Now(), 30*time.Second)
		assert.True(t, ok, "%s landed after the outage", id)
	}
	exit, _ := f.stop()
	assert.Equal(t, 0, exit, f.stderr.String())

	// Stopped, then started again: what arrived meanwhile is exported.
	meanwhile := e.fake.AddProposals(3)
	f = e.startFollower("", "--poll-interval", "1s")
	for _, id := range meanwhile {
		_, ok := e.outcomeWithin(id, time.Now(), 10*time.Second)
		assert.True(t, ok, "%s landed after the restart", id)
	}
	exit, _ = f.stop()
	assert.Equal(t, 0, exit)
	_, received, _ := feedCounts(e.fake)
	assert.Equal(t, len(received), e.count(`SELECT count(*) FROM (SELECT proposal_id FROM interviews UNION SELECT proposal_id FROM export_failures) x`),
		"every proposal of the feed has an outcome")
}
