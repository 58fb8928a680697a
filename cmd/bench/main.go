//go:build unix

// Command bench measures the real interview-export binary end to end and
// shows it beside the limit of the machine. It serves the fake API
// in-process with no latency (its bodies generated before the clock starts)
// and prints:
//
//   - the load limit: pgx CopyFrom of the same normalized rows into empty
//     tables, no merge;
//
//   - pass 1, a few thousand proposals into empty tables; pass 2, the same
//     unchanged data again; pass 3, as many new proposals into tables
//     preloaded with SQL (200,000 interviews, 4,000,000 messages), with the
//     sequential scans of the big tables during it;
//
//   - for each pass proposals/s, messages/s, the share of the load limit,
//     the peak memory (max RSS) of the binary and the rows it wrote;
//
//   - the pace with an unknown quota: a fake allowing 20 requests/s,
//     without and with RateLimit headers, and a --rate at the quota; then
//     the conditions real accounts meet (a quota shared by four shards,
//     one that grows, a storm of 429s, 429s whatever the pace, faults),
//     each into a fresh database checked against what the fake serves.
//
//     go run ./cmd/bench --binary bin/interview-export --database-url postgres://…/postgres
//
// make bench does the set-up (build, a throwaway PostgreSQL) and runs it. It
// reads memory and CPU times from /proc, so it measures on Linux only (it
// builds on unix systems).
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"math"
	"net/url"
	"os"
	"os/exec"
	"runtime/pprof"
	"slices"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/interview-export/interview-export/internal/fakeapi"
	"github.com/interview-export/interview-export/load"
	"github.com/interview-export/interview-export/transform"
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
	cpu                            cpuSplit
}

// rate is the pass's proposals per second.
func (p pass) rate() float64 { return float64(p.proposals) / p.wall.Seconds() }

// options are the bench's flags.
type options struct {
	binary, dbURL, only, cpuProfile, paceOnly string
	proposals, concurrency, repeat, preload   int
	followFor                                 time.Duration
}

func parseFlags() (options, error) {
	var o options
	flag.StringVar(&o.binary, "binary", "bin/interview-export", "the interview-export binary to measure")
	flag.StringVar(&o.dbURL, "database-url", os.Getenv("DATABASE_URL"), "a server URL; the bench (re)creates database interview_export_bench there")
	flag.IntVar(&o.proposals, "proposals", 5000, "synthetic proposals (rounded to a multiple of 100)")
	flag.IntVar(&o.concurrency, "concurrency", 16, "export --concurrency")
	flag.IntVar(&o.repeat, "repeat", 3, "times each measure is taken; the median is shown, with the range")
	flag.IntVar(&o.preload, "preload", 200000, "interviews (20 messages each) preloaded with SQL before the third pass")
	flag.StringVar(&o.only, "only", "", "run one part: passes, memory, quota or follow")
	flag.StringVar(&o.paceOnly, "scenario", "", "in the quota part, run only the scenarios whose name contains this")
	flag.DurationVar(&o.followFor, "follow-for", 10*time.Minute, "how long the follower part feeds new proposals")
	flag.StringVar(&o.cpuProfile, "cpuprofile", "", "write a CPU profile of the bench process (the fake API's side) to this file")
	flag.Parse()
	if o.repeat < 1 {
		return o, errors.New("--repeat: give 1 or more")
	}
	return o, nil
}

func run() error {
	o, err := parseFlags()
	if err != nil {
		return err
	}
	if o.cpuProfile != "" {
		f, err := os.Create(o.cpuProfile)
		if err != nil {
			return err
		}
		if err := pprof.StartCPUProfile(f); err != nil {
			return err
		}
		defer pprof.StopCPUProfile()
	}
	ctx := context.Background()
	if o.only == "" || o.only == "passes" {
		if err := passesPart(ctx, o); err != nil {
			return err
		}
	}
	if o.only == "" || o.only == "memory" {
		if err := memoryPart(ctx, o); err != nil {
			return err
		}
	}
	if o.only == "" || o.only == "quota" {
		if err := quotaPart(ctx, o); err != nil {
			return err
		}
	}
	if o.only == "" || o.only == "follow" {
		return followPart(ctx, o)
	}
	return nil
}

func messagesOf(fake *fakeapi.Server, ids []string) int64 {
	var n int64
	for _, id := range ids {
		if t, ok := fake.Expected(id); ok {
			n += int64(len(t.Messages))
		}
	}
	return n
}

// median returns the median of xs.
func median(xs []float64) float64 {
	s := slices.Sorted(slices.Values(xs))
	return s[len(s)/2]
}

// spread formats the range of xs.
func spread(xs []float64) string {
	return fmt.Sprintf("%.0f–%.0f", slices.Min(xs), slices.Max(xs))
}

// execSQL runs statements on a connection of its own.
func execSQL(ctx context.Context, dbURL, sql string) error {
	conn, err := pgx.Connect(ctx, dbURL)
	if err != nil {
		return err
	}
	defer conn.Close(ctx)
	_, err = conn.Exec(ctx, sql)
	return err
}

// limits are a throughput ceiling in proposals and messages per second.
type limits struct{ proposals, messages float64 }

// loadLimit decodes the fake's answers for ids exactly as the exporter does
// (transcripts, and the no-interview rows of its 404s), then times pgx
// CopyFrom of those rows, no merge, into empty tables twice:
//
//   - copies of interviews and interview_messages (LIKE … INCLUDING ALL,
//     and the contract's foreign key between them): the most any loader of
//     these tables can do on this machine, the limit;
//   - bare tables with the primary keys only: what COPY costs without the
//     foreign key's check of every message and the secondary indexes.
func loadLimit(ctx context.Context, dbURL string, fake *fakeapi.Server, ids []string) (limit, bare limits, err error) {
	var ivs []load.Interview
	for _, id := range ids {
		if fake.KindOf(id) == fakeapi.KindNoInterview {
			ivs = append(ivs, load.Interview{ProposalID: id, Status: load.StatusNoInterview, FetchedAt: time.Now()})
			continue
		}
		if _, ok := fake.Expected(id); !ok {
			continue
		}
		iv, err := transform.Decode(id, fake.Body(id))
		if err != nil {
			continue
		}
		iv.FetchedAt = time.Now()
		ivs = append(ivs, iv)
	}
	conn, err := pgx.Connect(ctx, dbURL)
	if err != nil {
		return limit, bare, err
	}
	defer conn.Close(ctx)
	for _, tables := range []struct {
		create string
		into   *limits
	}{
		{`CREATE TABLE limit_interviews (LIKE interviews INCLUDING ALL);
		  CREATE TABLE limit_messages (LIKE interview_messages INCLUDING ALL);
		  ALTER TABLE limit_messages ADD FOREIGN KEY (proposal_id) REFERENCES limit_interviews ON DELETE CASCADE`, &limit},
		{`CREATE TABLE limit_interviews (proposal_id text PRIMARY KEY, status text, interview_id text, score numeric,
		  summary text, message_count int, fetched_at timestamptz, changed_at timestamptz);
		  CREATE TABLE limit_messages (proposal_id text, message_id text, position int, role text, content text,
		  sent_at timestamptz, PRIMARY KEY (proposal_id, message_id))`, &bare},
	} {
		if _, err := conn.Exec(ctx, tables.create); err != nil {
			return limit, bare, fmt.Errorf("load limit: %w", err)
		}
		*tables.into, err = copyRows(ctx, conn, ivs)
		if _, dropErr := conn.Exec(ctx, `DROP TABLE limit_interviews, limit_messages`); err == nil {
			err = dropErr
		}
		if err != nil {
			return limit, bare, fmt.Errorf("load limit: %w", err)
		}
	}
	return limit, bare, nil
}

// copyRows times CopyFrom of ivs into limit_interviews and limit_messages.
func copyRows(ctx context.Context, conn *pgx.Conn, ivs []load.Interview) (limits, error) {
	start := time.Now()
	if _, err := conn.CopyFrom(ctx, pgx.Identifier{"limit_interviews"},
		[]string{"proposal_id", "status", "interview_id", "score", "summary", "message_count", "fetched_at", "changed_at"},
		pgx.CopyFromSlice(len(ivs), func(i int) ([]any, error) {
			iv := &ivs[i]
			return []any{iv.ProposalID, string(iv.Status), iv.InterviewID, iv.Score, iv.Summary, int32(len(iv.Messages)),
				iv.FetchedAt, iv.FetchedAt}, nil
		})); err != nil {
		return limits{}, err
	}
	var rows [][]any
	for _, iv := range ivs {
		for _, m := range iv.Messages {
			rows = append(rows, []any{iv.ProposalID, m.ID, m.Position, m.Role, m.Content, m.SentAt})
		}
	}
	if _, err := conn.CopyFrom(ctx, pgx.Identifier{"limit_messages"},
		[]string{"proposal_id", "message_id", "position", "role", "content", "sent_at"}, pgx.CopyFromRows(rows)); err != nil {
		return limits{}, err
	}
	took := time.Since(start).Seconds()
	return limits{proposals: float64(len(ivs)) / took, messages: float64(len(rows)) / took}, nil
}

// preloadTables fills interviews and interview_messages with n stored
// proposals of 20 messages each, with SQL, as a big account's tables.
func preloadTables(ctx context.Context, dbURL string, n int) error {
	conn, err := pgx.Connect(ctx, dbURL)
	if err != nil {
		return err
	}
	defer conn.Close(ctx)
	for _, sql := range []string{
		`INSERT INTO interviews (proposal_id, status, interview_id, score, summary, message_count, fetched_at, changed_at)
		 SELECT 'pre-' || g, 'available', 'iv-' || g, g % 100, 'a summary of the interview', 20, now(), now()
		 FROM generate_series(1, $1::int) g`,
		`INSERT INTO interview_messages (proposal_id, message_id, position, role, content, sent_at)
		 SELECT 'pre-' || g, 'm' || k, k, CASE WHEN k % 2 = 0 THEN 'interviewer' ELSE 'candidate' END,
		        repeat('a candidate answer ', 8), now()
		 FROM generate_series(1, $1::int) g, generate_series(0, 19) k`,
		`VACUUM ANALYZE interviews, interview_messages`,
		// The preload's dirty pages are written now, not on the third pass's clock.
		`CHECKPOINT`,
	} {
		var args []any
		if strings.Contains(sql, "$1") {
			args = []any{n}
		}
		if _, err := conn.Exec(ctx, sql, args...); err != nil {
			return fmt.Errorf("preload: %w", err)
		}
	}
	return nil
}

// seqScans returns the sequential scans of interviews and interview_messages so far.
func seqScans(ctx context.Context, dbURL string) ([2]int64, error) {
	var s [2]int64
	conn, err := pgx.Connect(ctx, dbURL)
	if err != nil {
		return s, err
	}
	defer conn.Close(ctx)
	err = conn.QueryRow(ctx, `SELECT
		coalesce(sum(seq_scan) FILTER (WHERE relname = 'interviews'), 0),
		coalesce(sum(seq_scan) FILTER (WHERE relname = 'interview_messages'), 0)
		FROM pg_stat_user_tables`).Scan(&s[0], &s[1])
	return s, err
}

// exportPass runs one export and measures it; postmaster is the server's
// PID (0 when it runs elsewhere: no server CPU then).
func exportPass(ctx context.Context, name, binary, dbURL, apiURL, token, ids string, concurrency int, messages int64, postmaster int) (pass, error) {
	p := pass{name: name, messages: messages}
	before, err := tupleStats(ctx, dbURL)
	if err != nil {
		return p, err
	}
	// A ceiling far above what the machine can do: the passes measure the
	// write path, not the pace (--rate 0 would start slow, at 4/s).
	cmd := exec.CommandContext(ctx, binary, "export", "--ids-file", ids, "--rate", "1000000",
		"--concurrency", fmt.Sprint(concurrency), "--progress-interval", "0", "--log-level", "warn")
	cmd.Env = append(os.Environ(), "DATABASE_URL="+dbURL, "OT_API_URL="+apiURL, "OT_API_TOKEN="+token)
	cmd.Stderr = os.Stderr
	serverBefore, children := serverCPU(postmaster, math.MaxInt)
	fakeBefore := selfCPU()
	start := time.Now()
	if err := cmd.Start(); err != nil {
		return p, fmt.Errorf("run %s: %w", binary, err)
	}
	hwm := watchPeakRSS(cmd.Process.Pid)
	err = cmd.Wait()
	p.wall = time.Since(start)
	p.maxRSSKiB = <-hwm
	serverAfter, _ := serverCPU(postmaster, children)
	p.cpu = cpuSplit{exporter: cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime(),
		fake: selfCPU() - fakeBefore, postgres: serverAfter - serverBefore}
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
