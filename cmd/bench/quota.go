//go:build unix

package main

import (
	"context"
	"fmt"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/interview-export/interview-export/internal/fakeapi"
)

// quotaResult is one run against a fake whose quota the exporter is not told.
type quotaResult struct {
	name               string
	requests, limited  int64
	early              int64
	wall               time.Duration
	quota              float64
	utilization, share float64
	settled            string
}

// quotaScenario runs a dry-run export of n IDs with --rate 0 against a fake
// allowing quota requests/s (burst 5, whole-second Retry-After), with or
// without the RateLimit headers, and measures the share of the quota used
// over the whole process's wall time and the share of requests answered 429.
func quotaScenario(ctx context.Context, binary, dir string, n int, quota float64, headers bool, concurrency int, rateFlag string) (quotaResult, error) {
	cfg := fakeapi.DefaultConfig()
	cfg.Jobs, cfg.ProposalsPerJob = max(n/100, 1), 100
	cfg.RateLimit, cfg.RateBurst, cfg.RateLimitHeaders = quota, 5, headers
	cfg.CacheBodies = true
	fake := fakeapi.New(cfg)
	fake.Warm(fake.ProposalIDs())
	srv := httptest.NewServer(fake)
	defer srv.Close()
	ids := filepath.Join(dir, fmt.Sprintf("quota-%v-%s.txt", headers, rateFlag))
	if err := os.WriteFile(ids, []byte(strings.Join(fake.ProposalIDs()[:n], "\n")+"\n"), 0o644); err != nil {
		return quotaResult{}, err
	}
	cmd := exec.CommandContext(ctx, binary, "export", "--dry-run", "--ids-file", ids, "--rate", rateFlag,
		"--concurrency", fmt.Sprint(concurrency), "--progress-interval", "0", "--log-format", "json")
	cmd.Env = append(os.Environ(), "OT_API_URL="+srv.URL+"/api/public/v1", "OT_API_TOKEN="+cfg.Token)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	start := time.Now()
	err := cmd.Run()
	wall := time.Since(start)
	if cmd.ProcessState == nil || cmd.ProcessState.ExitCode() > 1 {
		return quotaResult{}, fmt.Errorf("quota scenario: export failed: %v\n%s", err, stderr.String())
	}
	st := fake.Stats()
	r := quotaResult{requests: st.Requests, limited: st.ByStatus[429], early: st.EarlyAfter429, wall: wall, quota: quota}
	r.utilization = float64(st.Requests-r.limited) / wall.Seconds() / quota
	if rateFlag != "0" {
		var want float64
		fmt.Sscan(rateFlag, &want)
		r.utilization = float64(st.Requests-r.limited) / wall.Seconds() / want // of the rate asked for
	}
	r.share = float64(r.limited) / float64(st.Requests)
	for _, line := range strings.Split(stderr.String(), "\n") {
		if os.Getenv("BENCH_DEBUG") != "" && strings.Contains(line, "rate") {
			fmt.Println(line)
		}
		if strings.Contains(line, `"msg":"request rate settled"`) {
			r.settled = line
		}
	}
	r.name = "--rate 0, no headers"
	if headers {
		r.name = "--rate 0, RateLimit hdrs"
	}
	if rateFlag != "0" {
		r.name = "--rate " + rateFlag + ", no headers"
	}
	return r, nil
}
