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

// memoryPart exports transcripts of 29 MB each (under --max-response-bytes'
// 32 MiB default) with the default settings, --concurrency 8 included, into
// a fresh database, and prints the binary's peak RSS: what waits to be
// written is bounded by bytes, so the peak stays under 512 MiB.
func memoryPart(ctx context.Context, o options) error {
	const n, size = 12, 29_000_000
	cfg := fakeapi.DefaultConfig()
	cfg.HugeBytes, cfg.CacheBodies = size, true
	fake := fakeapi.New(cfg)
	ids := make([]string, n)
	for i := range ids {
		ids[i] = fmt.Sprintf("huge-%02d", i)
	}
	fake.Warm(ids)
	srv := httptest.NewServer(fake)
	defer srv.Close()
	dir, err := os.MkdirTemp("", "interview-export-bench")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	file := filepath.Join(dir, "huge.txt")
	if err := os.WriteFile(file, []byte(strings.Join(ids, "\n")+"\n"), 0o644); err != nil {
		return err
	}
	dbURL, err := freshDatabase(ctx, o.dbURL, "interview_export_bench_memory")
	if err != nil {
		return err
	}
	cmd := exec.CommandContext(ctx, o.binary, "export", "--ids-file", file, "--progress-interval", "0", "--log-level", "warn")
	cmd.Env = append(os.Environ(), "DATABASE_URL="+dbURL, "OT_API_URL="+srv.URL+"/api/public/v1", "OT_API_TOKEN="+cfg.Token)
	cmd.Stderr = os.Stderr
	start := time.Now()
	if err := cmd.Start(); err != nil {
		return err
	}
	hwm := watchPeakRSS(cmd.Process.Pid)
	err = cmd.Wait()
	peak := <-hwm
	if err != nil {
		return fmt.Errorf("memory: export: %w", err)
	}
	fmt.Printf("\nmemory: %d transcripts of %d MB each, default settings (--concurrency 8, --max-response-bytes 32 MiB): "+
		"peak RSS %.0f MiB in %s (the shipped CronJob allows 512 MiB)\n", n, size/1_000_000, float64(peak)/1024, time.Since(start).Round(time.Millisecond))
	return nil
}
