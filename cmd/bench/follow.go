//go:build unix

package main

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/interview-export/interview-export/internal/fakeapi"
)

// followPart runs a follower (export --updates --follow, woken by signed
// webhooks) for o.followFor against a steady flow of new proposals, five a
// second, and prints its RSS at the start and the end and the freshness of
// each proposal: from its event to its outcome in the database.
func followPart(ctx context.Context, o options) error {
	cfg := fakeapi.DefaultConfig()
	cfg.Jobs, cfg.ProposalsPerJob = 10, 100
	fake := fakeapi.New(cfg)
	srv := httptest.NewServer(fake)
	defer srv.Close()
	dbURL, err := freshDatabase(ctx, o.dbURL, "interview_export_bench_follow")
	if err != nil {
		return err
	}
	dir, err := os.MkdirTemp("", "interview-export-bench")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	secret := []byte("whsec_bench_secret")
	secretFile := filepath.Join(dir, "secret")
	if err := os.WriteFile(secretFile, secret, 0o600); err != nil {
		return err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	addr := ln.Addr().String()
	ln.Close()
	cmd := exec.CommandContext(ctx, o.binary, "export", "--updates", "--follow", "--rate", "0", "--poll-interval", "60s",
		"--webhook-listen", addr, "--webhook-secret-file", secretFile, "--progress-interval", "0", "--log-level", "warn")
	cmd.Env = append(os.Environ(), "DATABASE_URL="+dbURL, "OT_API_URL="+srv.URL+"/api/public/v1", "OT_API_TOKEN="+cfg.Token)
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		return err
	}
	defer cmd.Process.Kill()
	for range 600 { // the first cycle reads the history
		if resp, err := http.Get("http://" + addr + "/readyz"); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				break
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	conn, err := pgx.Connect(ctx, dbURL)
	if err != nil {
		return err
	}
	defer conn.Close(ctx)
	startRSS := rss(cmd.Process.Pid)
	fmt.Printf("\nfollower: %s of new proposals, 5 a second, each announced by a signed webhook (RSS at the start %.1f MiB)\n",
		o.followFor, float64(startRSS)/1024)
	var fresh []time.Duration
	tick := time.NewTicker(200 * time.Millisecond)
	defer tick.Stop()
	deadline := time.Now().Add(o.followFor)
	pending := map[string]time.Time{}
	for n := 0; time.Now().Before(deadline) || len(pending) > 0; n++ {
		<-tick.C
		if time.Now().Before(deadline) {
			id := fake.AddProposals(1)[0]
			pending[id] = time.Now()
			fakeapi.Deliver(http.DefaultClient, "http://"+addr+"/webhooks/opentrain", secret,
				fakeapi.Delivery{Event: fake.LastEvent(), ID: fmt.Sprint("bench-", n)})
		}
		rows, err := conn.Query(ctx, `SELECT proposal_id FROM interviews WHERE proposal_id = ANY($1)
			UNION SELECT proposal_id FROM export_failures WHERE proposal_id = ANY($1)`, keysOf(pending))
		if err != nil {
			return err
		}
		landed, err := pgx.CollectRows(rows, pgx.RowTo[string])
		if err != nil {
			return err
		}
		for _, id := range landed {
			fresh = append(fresh, time.Since(pending[id]))
			delete(pending, id)
		}
		if time.Now().After(deadline.Add(time.Minute)) {
			break // stragglers: counted as lost below
		}
	}
	endRSS := rss(cmd.Process.Pid)
	cmd.Process.Signal(syscall.SIGTERM)
	cmd.Wait()
	slices.Sort(fresh)
	at := func(p int) time.Duration { return fresh[max((len(fresh)*p+99)/100-1, 0)].Round(time.Millisecond) }
	fmt.Printf("follower: %d proposals landed (%d lost); freshness p50 %s, p95 %s, max %s; RSS %.1f MiB at the start, %.1f MiB at the end; exit %d on SIGTERM\n",
		len(fresh), len(pending), at(50), at(95), at(100), float64(startRSS)/1024, float64(endRSS)/1024, cmd.ProcessState.ExitCode())
	return nil
}

func keysOf(m map[string]time.Time) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	return keys
}

// rss is the process's resident memory now, in KiB.
func rss(pid int) int64 {
	raw, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0
	}
	var kib int64
	for _, line := range strings.Split(string(raw), "\n") {
		if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			fmt.Sscanf(strings.TrimSpace(v), "%d", &kib)
		}
	}
	return kib
}
