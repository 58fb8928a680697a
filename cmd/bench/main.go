// Command bench measures the real interview-export binary end to end: it
// serves the fake API in-process with no latency (its bodies generated
// before the clock starts), exports a few thousand
// synthetic proposals into a fresh database, then exports the same,
// unchanged data again, and prints for each pass proposals/s, messages/s,
// the peak memory (max RSS) of the binary and the rows it wrote.
//
//	go run ./cmd/bench --binary bin/interview-export --database-url postgres://…/postgres
//
// make bench does the set-up (build, a throwaway PostgreSQL) and runs it.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/interview-export/interview-export/internal/fakeapi"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

type pass struct {
	name                           string
	wall                           time.Duration
	maxRSSKiB                      int64
	proposals, messages            int64
	msgRowsWritten, msgRowsDeleted int64
	interviewsChanged              int64
	tupIns, tupUpd, tupDel         int64 // interview_messages, from pg_stat_user_tables
	exitCode                       int
}

func run() error {
	binary := flag.String("binary", "bin/interview-export", "the interview-export binary to measure")
	dbURL := flag.String("database-url", os.Getenv("DATABASE_URL"), "a server URL; the bench (re)creates database interview_export_bench there")
	proposals := flag.Int("proposals", 5000, "synthetic proposals (rounded to a multiple of 100)")
	concurrency := flag.Int("concurrency", 16, "export --concurrency")
	flag.Parse()
	if *dbURL == "" {
		return errors.New("no database: pass --database-url or set DATABASE_URL")
	}
	ctx := context.Background()
	benchURL, err := freshDatabase(ctx, *dbURL, "interview_export_bench")
	if err != nil {
		return err
	}

	cfg := fakeapi.DefaultConfig()
	cfg.Jobs, cfg.ProposalsPerJob = max(*proposals/100, 1), 100
	cfg.CacheBodies = true
	fake := fakeapi.New(cfg)
	fake.Warm(fake.ProposalIDs()) // the fake's own CPU is then out of the measurement
	srv := httptest.NewServer(fake)
	defer srv.Close()
	dir, err := os.MkdirTemp("", "interview-export-bench")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	ids := filepath.Join(dir, "ids.txt")
	if err := os.WriteFile(ids, []byte(strings.Join(fake.ProposalIDs(), "\n")+"\n"), 0o644); err != nil {
		return err
	}

	fmt.Printf("bench: %d proposals, fake API without latency, --concurrency %d --rate 0, fresh database\n",
		len(fake.ProposalIDs()), *concurrency)
	var passes []pass
	for _, name := range []string{"first (empty tables)", "second (unchanged data)"} {
		p, err := exportPass(ctx, name, *binary, benchURL, srv.URL+"/api/public/v1", cfg.Token, ids, *concurrency)
		if err != nil {
			return err
		}
		passes = append(passes, p)
	}
	fmt.Printf("\n%-24s %9s %12s %12s %10s %14s %14s %12s\n", "pass", "wall", "proposals/s", "messages/s", "peak RSS", "msg rows ins", "msg rows upd", "ivs changed")
	for _, p := range passes {
		fmt.Printf("%-24s %9s %12.0f %12.0f %8.1fMiB %14d %14d %12d\n", p.name, p.wall.Round(time.Millisecond),
			float64(p.proposals)/p.wall.Seconds(), float64(p.messages)/p.wall.Seconds(), float64(p.maxRSSKiB)/1024,
			p.tupIns, p.tupUpd, p.interviewsChanged)
	}
	second := passes[1]
	fmt.Printf("\nsecond pass rewrote %d interview_messages rows (inserted %d, updated %d, deleted %d) and changed %d interviews\n",
		second.tupIns+second.tupUpd+second.tupDel, second.tupIns, second.tupUpd, second.tupDel, second.interviewsChanged)
	return nil
}

func exportPass(ctx context.Context, name, binary, dbURL, apiURL, token, ids string, concurrency int) (pass, error) {
	p := pass{name: name}
	before, err := tupleStats(ctx, dbURL)
	if err != nil {
		return p, err
	}
	cmd := exec.CommandContext(ctx, binary, "export", "--ids-file", ids, "--rate", "0",
		"--concurrency", fmt.Sprint(concurrency), "--progress-interval", "0", "--log-level", "warn")
	cmd.Env = append(os.Environ(), "DATABASE_URL="+dbURL, "OT_API_URL="+apiURL, "OT_API_TOKEN="+token)
	cmd.Stderr = os.Stderr
	start := time.Now()
	if err := cmd.Start(); err != nil {
		return p, fmt.Errorf("run %s: %w", binary, err)
	}
	hwm := watchPeakRSS(cmd.Process.Pid)
	err = cmd.Wait()
	p.wall = time.Since(start)
	p.maxRSSKiB = <-hwm
	var ee *exec.ExitError
	if err != nil && !errors.As(err, &ee) {
		return p, fmt.Errorf("run %s: %w", binary, err)
	}
	p.exitCode = cmd.ProcessState.ExitCode()
	if p.exitCode > 1 {
		return p, fmt.Errorf("%s pass: export exited %d", name, p.exitCode)
	}
	conn, err := pgx.Connect(ctx, dbURL)
	if err != nil {
		return p, err
	}
	defer conn.Close(ctx)
	if err := conn.QueryRow(ctx, `SELECT available + no_interview + failed, messages_written, messages_deleted, interviews_changed
		FROM export_runs ORDER BY id DESC LIMIT 1`).Scan(&p.proposals, &p.msgRowsWritten, &p.msgRowsDeleted, &p.interviewsChanged); err != nil {
		return p, err
	}
	if err := conn.QueryRow(ctx, `SELECT coalesce(sum(message_count), 0) FROM interviews`).Scan(&p.messages); err != nil {
		return p, err
	}
	// The export's backends have exited, so their statistics are flushed;
	// wait for the collector's view to settle.
	var after [3]int64
	for range 50 {
		if after, err = tupleStats(ctx, dbURL); err != nil {
			return p, err
		}
		if after[0]-before[0] >= p.msgRowsWritten-(after[1]-before[1]) {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	p.tupIns, p.tupUpd, p.tupDel = after[0]-before[0], after[1]-before[1], after[2]-before[2]
	return p, nil
}

// watchPeakRSS polls the process's VmHWM (peak resident set, KiB) until it
// exits and then sends the last value read. The rusage of a child started by
// Go counts the parent's memory (the child begins as a clone sharing it), so
// it cannot be used here.
func watchPeakRSS(pid int) <-chan int64 {
	out := make(chan int64, 1)
	go func() {
		var peak int64
		path := fmt.Sprintf("/proc/%d/status", pid)
		for {
			raw, err := os.ReadFile(path)
			if err != nil {
				break
			}
			var kib int64
			for _, line := range strings.Split(string(raw), "\n") {
				if v, ok := strings.CutPrefix(line, "VmHWM:"); ok {
					fmt.Sscanf(strings.TrimSpace(v), "%d", &kib)
				}
			}
			if kib == 0 { // a zombie: the process has exited
				break
			}
			peak = max(peak, kib)
			time.Sleep(10 * time.Millisecond)
		}
		out <- peak
	}()
	return out
}

// tupleStats returns inserted, updated and deleted row counts of interview_messages.
func tupleStats(ctx context.Context, dbURL string) ([3]int64, error) {
	var s [3]int64
	conn, err := pgx.Connect(ctx, dbURL)
	if err != nil {
		return s, err
	}
	defer conn.Close(ctx)
	conn.Exec(ctx, `SELECT pg_stat_clear_snapshot()`)
	err = conn.QueryRow(ctx, `SELECT coalesce(sum(n_tup_ins),0), coalesce(sum(n_tup_upd),0), coalesce(sum(n_tup_del),0)
		FROM pg_stat_user_tables WHERE relname = 'interview_messages'`).Scan(&s[0], &s[1], &s[2])
	return s, err
}

// freshDatabase drops and creates database name on serverURL's server and
// returns a URL to it.
func freshDatabase(ctx context.Context, serverURL, name string) (string, error) {
	conn, err := pgx.Connect(ctx, serverURL)
	if err != nil {
		return "", fmt.Errorf("connect: %w", err)
	}
	defer conn.Close(ctx)
	ident := pgx.Identifier{name}.Sanitize()
	if _, err := conn.Exec(ctx, "DROP DATABASE IF EXISTS "+ident); err != nil {
		return "", err
	}
	if _, err := conn.Exec(ctx, "CREATE DATABASE "+ident); err != nil {
		return "", err
	}
	u, err := url.Parse(serverURL)
	if err != nil || u.Scheme == "" {
		return "", errors.New("--database-url: give a postgres:// URL")
	}
	u.Path = "/" + name
	return u.String(), nil
}
