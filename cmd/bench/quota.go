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
	"sync"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/interview-export/interview-export/internal/fakeapi"
)

// paceScenario is an export (one process, or several shards) against a
// fake whose quota the exporter is not told: the conditions of issue #15.
type paceScenario struct {
	name        string
	ids         int
	shards      int // processes, each with --shard i/shards; 0 or 1: one
	concurrency int
	rate        string   // --rate
	args        []string // further flags
	quota       float64  // the fake's requests/s (0: none)
	headers     bool     // announced in RateLimit headers
	later       float64  // from laterFrom on, this quota instead
	laterFrom   time.Duration
	stormFrom   time.Duration
	stormFor    time.Duration
	faults      fakeapi.Faults
}

// quotaAt is the quota the fake applies at, after its first request.
func (sc paceScenario) quotaAt(at time.Duration) float64 {
	switch {
	case sc.stormFor > 0 && at >= sc.stormFrom && at < sc.stormFrom+sc.stormFor:
		return 0
	case sc.later > 0 && at >= sc.laterFrom:
		return sc.later
	}
	return sc.quota
}

// allowed is how many requests the quota allowed within d; ideal is the
// least time in which it allows n (no quota: at the --rate given).
func (sc paceScenario) allowed(d time.Duration) float64 {
	const dt = 10 * time.Millisecond
	sum := 0.0
	for at := time.Duration(0); at < d; at += dt {
		sum += sc.quotaAt(at) * dt.Seconds()
	}
	return sum
}

func (sc paceScenario) ideal(n int) time.Duration {
	if sc.quota == 0 {
		var r float64
		if _, err := fmt.Sscan(sc.rate, &r); err != nil || r == 0 {
			return 0
		}
		return time.Duration(float64(n) / r * float64(time.Second))
	}
	const dt = 10 * time.Millisecond
	sum, at := 0.0, time.Duration(0)
	for ; sum < float64(n); at += dt {
		sum += sc.quotaAt(at) * dt.Seconds()
	}
	return at
}

// paceResult is what one scenario measured.
type paceResult struct {
	requests, limited, early int64
	limitedEarly             int // 429s of the quota in the first 5 s, while the pace is found
	busiest                  int // the most requests that arrived within any 1 s
	wall, ideal              time.Duration
	used                     float64 // of what the quota allowed over the wall time; 0 without a quota
	exits                    []int
	tables                   error // nil when the tables hold exactly what the fake serves
	settled                  string
}

// runPace runs sc against a fresh database on dbURL's server: every shard
// started at once, the wall time from the first start to the last exit.
func runPace(ctx context.Context, binary, dbURL, dir string, i int, sc paceScenario) (paceResult, error) {
	cfg := fakeapi.DefaultConfig()
	cfg.Jobs, cfg.ProposalsPerJob = max(sc.ids/100, 1), 100
	cfg.RateLimit, cfg.RateBurst, cfg.RateLimitHeaders = sc.quota, 5, sc.headers
	cfg.LaterRateLimit, cfg.RateLimitFrom = sc.later, sc.laterFrom
	cfg.StormFrom, cfg.StormFor = sc.stormFrom, sc.stormFor
	cfg.Faults = sc.faults
	cfg.CacheBodies = true
	fake := fakeapi.New(cfg)
	ids := fake.ProposalIDs()[:sc.ids]
	fake.Warm(ids)
	srv := httptest.NewServer(fake)
	defer srv.Close()
	db, err := freshDatabase(ctx, dbURL, fmt.Sprintf("interview_export_bench_pace_%d", i))
	if err != nil {
		return paceResult{}, err
	}
	idsFile := filepath.Join(dir, fmt.Sprintf("pace-%d.txt", i))
	if err := os.WriteFile(idsFile, []byte(strings.Join(ids, "\n")+"\n"), 0o644); err != nil {
		return paceResult{}, err
	}
	// Migrate first, so that the shards start together.
	migrate := exec.CommandContext(ctx, binary, "migrate")
	migrate.Env = append(os.Environ(), "DATABASE_URL="+db)
	if out, err := migrate.CombinedOutput(); err != nil {
		return paceResult{}, fmt.Errorf("migrate: %v\n%s", err, out)
	}
	shards := max(sc.shards, 1)
	res := paceResult{exits: make([]int, shards), ideal: sc.ideal(sc.ids)}
	logs := make([]strings.Builder, shards)
	var wg sync.WaitGroup
	start := time.Now()
	for s := range shards {
		args := append([]string{"export", "--ids-file", idsFile, "--rate", sc.rate, "--concurrency", fmt.Sprint(sc.concurrency),
			"--progress-interval", "0", "--log-format", "json", "--shard", fmt.Sprintf("%d/%d", s, shards)}, sc.args...)
		if os.Getenv("BENCH_DEBUG") != "" {
			args = append(args, "--log-level", "debug")
		}
		cmd := exec.CommandContext(ctx, binary, args...)
		cmd.Env = append(os.Environ(), "DATABASE_URL="+db, "OT_API_URL="+srv.URL+"/api/public/v1", "OT_API_TOKEN="+cfg.Token)
		cmd.Stderr = &logs[s]
		if err := cmd.Start(); err != nil {
			return res, err
		}
		wg.Go(func() {
			cmd.Wait()
			res.exits[s] = cmd.ProcessState.ExitCode()
		})
	}
	wg.Wait()
	res.wall = time.Since(start)
	for s, code := range res.exits {
		if code != 0 && code != 1 {
			return res, fmt.Errorf("%s: shard %d exited %d:\n%s", sc.name, s, code, logs[s].String())
		}
	}
	st := fake.Stats()
	res.requests, res.limited, res.early = st.InterviewRequests, st.ByStatus[429], st.EarlyAfter429
	res.busiest = st.MaxInWindow(time.Second)
	bySecond := map[int]int{}
	for _, at := range st.Refusals {
		if len(st.Arrivals) > 0 && at.Sub(st.Arrivals[0]) < 5*time.Second {
			res.limitedEarly++
		}
		if len(st.Arrivals) > 0 {
			bySecond[int(at.Sub(st.Arrivals[0]).Seconds())]++
		}
	}
	if os.Getenv("BENCH_DEBUG") != "" {
		fmt.Printf("  %s: the quota's 429s by second of the run: %v\n", sc.name, bySecond)
	}
	if sc.quota > 0 {
		res.used = float64(st.InterviewRequests-res.limited) / sc.allowed(res.wall)
	}
	for _, line := range strings.Split(logs[0].String(), "\n") {
		if strings.Contains(line, `"msg":"request rate settled"`) {
			res.settled = line
		}
		if os.Getenv("BENCH_DEBUG") != "" && strings.Contains(line, `"msg":"request pace changed"`) {
			fmt.Println("  ", line)
		}
	}
	res.tables = checkTables(ctx, db, fake, ids)
	return res, nil
}

// checkTables compares the tables with what the fake serves for ids: each
// transcript with its messages, each missing interview, each 403 failed.
func checkTables(ctx context.Context, dbURL string, fake *fakeapi.Server, ids []string) error {
	conn, err := pgx.Connect(ctx, dbURL)
	if err != nil {
		return err
	}
	defer conn.Close(ctx)
	got := map[string]string{}
	rows, err := conn.Query(ctx, `SELECT proposal_id, status, coalesce(interview_id, ''), message_count,
		(SELECT count(*) FROM interview_messages m WHERE m.proposal_id = i.proposal_id) FROM interviews i`)
	if err != nil {
		return err
	}
	for rows.Next() {
		var id, status, interview string
		var count, stored int
		if err := rows.Scan(&id, &status, &interview, &count, &stored); err != nil {
			return err
		}
		got[id] = fmt.Sprintf("%s %s %d %d", status, interview, count, stored)
	}
	if err := rows.Err(); err != nil {
		return err
	}
	failed := map[string]bool{}
	rows, err = conn.Query(ctx, `SELECT proposal_id FROM failure_ledger`)
	if err != nil {
		return err
	}
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return err
		}
		failed[id] = true
	}
	if err := rows.Err(); err != nil {
		return err
	}
	wrong := 0
	for _, id := range ids {
		want := "no_interview  0 0"
		if tr, ok := fake.Expected(id); ok {
			want = fmt.Sprintf("available %s %d %d", tr.InterviewID, len(tr.Messages), len(tr.Messages))
		}
		switch fake.KindOf(id) {
		case fakeapi.KindForbidden:
			if _, stored := got[id]; stored || !failed[id] {
				wrong++
			}
		default:
			if got[id] != want || failed[id] {
				wrong++
			}
		}
	}
	if wrong > 0 || len(got) > len(ids) {
		return fmt.Errorf("%d of %d proposals differ from what the fake serves", wrong, len(ids))
	}
	return nil
}

// quotaPart prints the pace in the conditions accounts meet: a quota
// shared by shards, one that changes, a storm of 429s, 429s whatever the
// pace, and faults.
func quotaPart(ctx context.Context, o options) error {
	dir, err := os.MkdirTemp("", "interview-export-bench")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	faults := fakeapi.Faults{ServerError: 0.04, Drop: 0.04, Truncate: 0.04, Stall: 0.03, StallFor: 4 * time.Second, OnlyFirst: 1}
	faults429 := faults
	faults429.BareTooManyIDs = 0.035
	bare := func(share float64) fakeapi.Faults { return fakeapi.Faults{BareTooManyIDs: share} }
	scenarios := []paceScenario{
		{name: "20/s, one process", ids: 2400, concurrency: 8, rate: "0", quota: 20},
		{name: "20/s, RateLimit headers", ids: 1200, concurrency: 8, rate: "0", quota: 20, headers: true},
		{name: "20/s, --rate 20", ids: 600, concurrency: 8, rate: "20", quota: 20},
		{name: "20/s shared by 4 shards", ids: 1600, shards: 4, concurrency: 4, rate: "0", quota: 20},
		{name: "10/s, then 40/s at 20 s", ids: 2600, concurrency: 16, rate: "0", quota: 10, later: 40, laterFrom: 20 * time.Second},
		{name: "40/s, storm 10-20 s", ids: 2800, concurrency: 16, rate: "0", quota: 40, stormFrom: 10 * time.Second, stormFor: 10 * time.Second},
		{name: "20/s, 2% bare 429s", ids: 1600, concurrency: 16, rate: "0", quota: 20, faults: bare(0.02)},
		{name: "--rate 10, 5% bare 429s", ids: 300, concurrency: 8, rate: "10", faults: bare(0.05)},
		{name: "faults, no 429s", ids: 1500, concurrency: 16, rate: "0", faults: faults,
			args: []string{"--max-attempts", "6", "--request-timeout", "2s"}},
		{name: "faults, 3.5% bare 429s", ids: 1500, concurrency: 16, rate: "0", faults: faults429,
			args: []string{"--max-attempts", "6", "--request-timeout", "2s"}},
	}
	fmt.Printf("\nthe pace with an unknown quota (burst 5, whole-second Retry-After), --rate 0 unless said;\n" +
		"wall from the first start to the last exit; \"of quota\": requests the API accepted over what it allowed;\n" +
		"early: requests sent before a 429's Retry-After; busiest: the most requests the API saw within any 1 s;\n" +
		"tables: the database holds exactly what the fake serves\n")
	fmt.Printf("%-26s %5s %9s %8s %9s %6s %8s %10s %9s %6s %7s %6s %s\n", "scenario", "IDs", "wall", "ideal", "of ideal", "429s", "in 5 s", "429 share", "of quota", "early", "busiest", "exits", "tables")
	var clean time.Duration
	for i, sc := range scenarios {
		if o.paceOnly != "" && !strings.Contains(sc.name, o.paceOnly) {
			continue
		}
		r, err := runPace(ctx, o.binary, o.dbURL, dir, i, sc)
		if err != nil {
			return err
		}
		ideal, ofIdeal, used := "-", "-", "-"
		if r.ideal > 0 {
			ideal, ofIdeal = r.ideal.Round(time.Second).String(), fmt.Sprintf("%.2f×", r.wall.Seconds()/r.ideal.Seconds())
		}
		if sc.name == "faults, no 429s" {
			clean = r.wall
		} else if strings.HasPrefix(sc.name, "faults,") && clean > 0 {
			ofIdeal = fmt.Sprintf("%.2f×", r.wall.Seconds()/clean.Seconds()) + "*"
		}
		if r.used > 0 {
			used = fmt.Sprintf("%.1f%%", 100*r.used)
		}
		tables := "exact"
		if r.tables != nil {
			tables = r.tables.Error()
		}
		fmt.Printf("%-26s %5d %9s %8s %9s %6d %8d %9.2f%% %9s %6d %7d %6s %s\n", sc.name, sc.ids, r.wall.Round(100*time.Millisecond), ideal, ofIdeal,
			r.limited, r.limitedEarly, 100*float64(r.limited)/float64(max(r.requests, 1)), used, r.early, r.busiest, fmt.Sprint(r.exits), tables)
		if r.settled != "" && os.Getenv("BENCH_DEBUG") != "" {
			fmt.Printf("  %s\n", r.settled)
		}
	}
	fmt.Println("* of the same run without 429s; \"in 5 s\": the quota's 429s in the first 5 seconds, while the pace is found")
	return nil
}
