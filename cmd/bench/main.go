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
//   - the unknown-quota scenarios: a fake allowing 20 requests/s, without
//     and with RateLimit headers, and a --rate at the quota.
//
//     go run ./cmd/bench --binary bin/interview-export --database-url postgres://…/postgres
//
// make bench does the set-up (build, a throwaway PostgreSQL) and runs it. It
// reads memory and CPU times from /proc, so it measures on Linux only (it
// builds on unix systems).
package main

import (
	"cmp"
	"context"
	"errors"
	"flag"
	"fmt"
	"math"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"slices"
	"strings"
	"syscall"
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

func run() error {
	binary := flag.String("binary", "bin/interview-export", "the interview-export binary to measure")
	dbURL := flag.String("database-url", os.Getenv("DATABASE_URL"), "a server URL; the bench (re)creates database interview_export_bench there")
	proposals := flag.Int("proposals", 5000, "synthetic proposals (rounded to a multiple of 100)")
	concurrency := flag.Int("concurrency", 16, "export --concurrency")
	repeat := flag.Int("repeat", 3, "times each measure is taken; the median is shown, with the range")
	preload := flag.Int("preload", 200000, "interviews (20 messages each) preloaded with SQL before the third pass")
	only := flag.String("only", "", "run one part: passes or quota")
	cpuProfile := flag.String("cpuprofile", "", "write a CPU profile of the bench process (the fake API's side) to this file")
	flag.Parse()
	if *repeat < 1 {
		return errors.New("--repeat: give 1 or more")
	}
	if *cpuProfile != "" {
		f, err := os.Create(*cpuProfile)
		if err != nil {
			return err
		}
		if err := pprof.StartCPUProfile(f); err != nil {
			return err
		}
		defer pprof.StopCPUProfile()
	}
	ctx := context.Background()
	if *only == "quota" {
		return quotaPart(ctx, *binary)
	}
	if *dbURL == "" {
		return errors.New("no database: pass --database-url or set DATABASE_URL")
	}
	benchURL, err := freshDatabase(ctx, *dbURL, "interview_export_bench")
	if err != nil {
		return err
	}

	cfg := fakeapi.DefaultConfig()
	cfg.Jobs, cfg.ProposalsPerJob = max(*proposals/100, 1), 100
	cfg.CacheBodies = true
	fake := fakeapi.New(cfg)
	first := fake.ProposalIDs()
	// New proposals for each run of the third pass.
	thirds := make([][]string, *repeat)
	for r := range thirds {
		thirds[r] = make([]string, len(first))
		for i := range first {
			thirds[r][i] = fmt.Sprintf("p3%c-%s", 'a'+r, first[i])
		}
	}
	fake.Warm(first) // the fake's own CPU is then out of the measurement
	for _, ids := range thirds {
		fake.Warm(ids)
	}
	srv := httptest.NewServer(fake)
	defer srv.Close()
	dir, err := os.MkdirTemp("", "interview-export-bench")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	idsFile := func(name string, ids []string) (string, error) {
		path := filepath.Join(dir, name+".txt")
		return path, os.WriteFile(path, []byte(strings.Join(ids, "\n")+"\n"), 0o644)
	}
	firstFile, err := idsFile("first", first)
	if err != nil {
		return err
	}

	fmt.Printf("bench: %d proposals, fake API without latency, --concurrency %d --rate 0, fresh databases, each measure taken %d times (median shown)\n",
		len(first), *concurrency, *repeat)
	// Two databases: the first for the load limit and passes 1 and 2, the second preloaded for
	// pass 3. The machine's speed drifts by tens of percent over a minute (a shared 2-core VM,
	// slower for a while after the preload), so each round takes the limit and passes 1, 2 and
	// 3 in turn: their ratios are read under the same conditions.
	bigURL, err := freshDatabase(ctx, *dbURL, "interview_export_bench_big")
	if err != nil {
		return err
	}
	for _, url := range []string{benchURL, bigURL} { // the limit copies the tables' definitions
		migrate := exec.CommandContext(ctx, *binary, "migrate")
		migrate.Env = append(os.Environ(), "DATABASE_URL="+url)
		if out, err := migrate.CombinedOutput(); err != nil {
			return fmt.Errorf("migrate: %v\n%s", err, out)
		}
	}
	fmt.Printf("bench: preloading %d interviews and %d messages with SQL...\n", *preload, *preload*20)
	if err := preloadTables(ctx, bigURL, *preload); err != nil {
		return err
	}
	// The server runs with fsync off: without this the kernel would still be writing the
	// preload's gigabyte out during the passes.
	syscall.Sync()
	scansBefore, err := seqScans(ctx, bigURL)
	if err != nil {
		return err
	}
	apiURL := srv.URL + "/api/public/v1"
	postmaster := postmasterPID(ctx, benchURL) // both databases are on its server
	run := func(name, dbURL, ids string, messages int64) (pass, error) {
		return exportPass(ctx, name, *binary, dbURL, apiURL, cfg.Token, ids, *concurrency, messages, postmaster)
	}
	var limitRuns, limitMessages, bareRuns, bareMessages []float64
	passes := make([][]pass, 3)
	for r := range *repeat {
		limit, bare, err := loadLimit(ctx, benchURL, fake, first)
		if err != nil {
			return err
		}
		limitRuns, limitMessages = append(limitRuns, limit.proposals), append(limitMessages, limit.messages)
		bareRuns, bareMessages = append(bareRuns, bare.proposals), append(bareMessages, bare.messages)
		if r > 0 { // empty tables again
			if err := execSQL(ctx, benchURL, `TRUNCATE interviews, interview_messages, proposals, jobs`); err != nil {
				return err
			}
		}
		p, err := run("1: empty tables", benchURL, firstFile, messagesOf(fake, first))
		if err != nil {
			return err
		}
		passes[0] = append(passes[0], p)
		if p, err = run("2: unchanged data", benchURL, firstFile, messagesOf(fake, first)); err != nil {
			return err
		}
		passes[1] = append(passes[1], p)
		file, err := idsFile(fmt.Sprint("third-", r), thirds[r])
		if err != nil {
			return err
		}
		p, err = run(fmt.Sprintf("3: new, %dk stored", *preload/1000), bigURL, file, messagesOf(fake, thirds[r]))
		if err != nil {
			return err
		}
		passes[2] = append(passes[2], p)
	}
	scansAfter, err := seqScans(ctx, bigURL)
	if err != nil {
		return err
	}
	limit := median(limitRuns)

	fmt.Printf("\nload limit (pgx CopyFrom of the same normalized rows into empty copies of the two tables, no merge): %.0f proposals/s, %.0f messages/s (%s)\n",
		limit, median(limitMessages), spread(limitRuns))
	fmt.Printf("(into bare tables with primary keys only, no foreign key: %.0f proposals/s, %.0f messages/s)\n\n", median(bareRuns), median(bareMessages))
	fmt.Printf("%-22s %9s %12s %13s %12s %9s %10s %13s %13s %12s\n", "pass", "wall", "proposals/s", "(range)", "messages/s", "of limit", "peak RSS",
		"msg rows ins", "msg rows upd", "ivs changed")
	mid := make([]pass, len(passes))
	for i, runs := range passes {
		rates := make([]float64, len(runs))
		for k, p := range runs {
			rates[k] = float64(p.proposals) / p.wall.Seconds()
		}
		byWall := slices.SortedFunc(slices.Values(runs), func(a, b pass) int { return cmp.Compare(a.wall, b.wall) })
		p := byWall[len(byWall)/2]
		mid[i] = p
		pps := float64(p.proposals) / p.wall.Seconds()
		fmt.Printf("%-22s %9s %12.0f %13s %12.0f %8.0f%% %8.1fMiB %13d %13d %12d\n", p.name, p.wall.Round(time.Millisecond),
			pps, spread(rates), float64(p.messages)/p.wall.Seconds(), 100*pps/limit, float64(p.maxRSSKiB)/1024,
			p.tupIns, p.tupUpd, p.interviewsChanged)
	}
	fmt.Printf("\nCPU per proposal (%d cores): %-14s %10s %10s %12s %10s\n", runtime.NumCPU(), "", "exporter", "fake API", "PostgreSQL", "wall")
	for _, p := range mid {
		per := func(d time.Duration) string {
			return fmt.Sprintf("%.0fµs", float64(d.Microseconds())/float64(p.proposals))
		}
		fmt.Printf("  %-40s %10s %10s %12s %10s\n", p.name, per(p.cpu.exporter), per(p.cpu.fake), per(p.cpu.postgres), per(p.wall))
	}
	rate := func(p pass) float64 { return float64(p.proposals) / p.wall.Seconds() }
	var second, third []string
	for r := range passes[0] { // the passes of one round ran under the same conditions
		second = append(second, fmt.Sprintf("%.2f×", rate(passes[1][r])/rate(passes[0][r])))
		third = append(third, fmt.Sprintf("%.0f%%", 100*rate(passes[2][r])/rate(passes[0][r])))
	}
	fmt.Printf("\npass 2 / pass 1: %.2f× (each round: %s); pass 3 / pass 1: %.0f%% (each round: %s)\n",
		rate(mid[1])/rate(mid[0]), strings.Join(second, ", "), 100*rate(mid[2])/rate(mid[0]), strings.Join(third, ", "))
	var rewritten, ins, upd, del, changed int64
	for _, p := range passes[1] {
		ins, upd, del, changed = ins+p.tupIns, upd+p.tupUpd, del+p.tupDel, changed+p.interviewsChanged
	}
	rewritten = ins + upd + del
	fmt.Printf("pass 2 (%d runs) rewrote %d interview_messages rows (inserted %d, updated %d, deleted %d) and changed %d interviews\n",
		len(passes[1]), rewritten, ins, upd, del, changed)
	fmt.Printf("pass 3 (%d runs) sequential scans: interviews %d, interview_messages %d (pg_stat_user_tables)\n",
		len(passes[2]), scansAfter[0]-scansBefore[0], scansAfter[1]-scansBefore[1])
	if *only == "passes" {
		return nil
	}
	return quotaPart(ctx, *binary)
}

// messagesOf is how many messages the fake serves for ids.
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
	cmd := exec.CommandContext(ctx, binary, "export", "--ids-file", ids, "--rate", "0",
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

// quotaPart prints the unknown-quota scenarios.
func quotaPart(ctx context.Context, binary string) error {
	dir, err := os.MkdirTemp("", "interview-export-bench")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	fmt.Printf("\nunknown quota: fake allows 20 requests/s (burst 5, whole-second Retry-After); export --concurrency 8 --dry-run;\n" +
		"the share of the quota (of --rate when given) is over the whole process's wall time\n")
	fmt.Printf("%-26s %9s %9s %7s %12s %10s %8s\n", "scenario", "requests", "wall", "429s", "429 share", "of quota", "early")
	for _, sc := range []struct {
		n       int
		headers bool
		rate    string
	}{{2400, false, "0"}, {1200, true, "0"}, {600, false, "20"}} {
		r, err := quotaScenario(ctx, binary, dir, sc.n, 20, sc.headers, 8, sc.rate)
		if err != nil {
			return err
		}
		fmt.Printf("%-26s %9d %9s %7d %11.2f%% %9.1f%% %8d\n", r.name, r.requests, r.wall.Round(time.Millisecond), r.limited,
			100*r.share, 100*r.utilization, r.early)
		if r.settled != "" {
			fmt.Printf("  %s\n", r.settled)
		}
	}
	return nil
}
