//go:build unix

package main

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/interview-export/interview-export/internal/fakeapi"
)

// passBench is the passes part: the load limit and the three passes, each
// taken o.repeat times in rounds.
type passBench struct {
	o             options
	fake          *fakeapi.Server
	token, apiURL string
	dir           string
	benchURL      string // the load limit, passes 1 and 2
	bigURL        string // pass 3, preloaded
	first         []string
	thirds        [][]string // new proposals for each round's third pass
	firstFile     string
	postmaster    int
	limit, bare   []limits
	passes        [3][]pass
	scansBefore   [2]int64
	scansAfter    [2]int64
}

func passesPart(ctx context.Context, o options) error {
	if o.dbURL == "" {
		return errors.New("no database: pass --database-url or set DATABASE_URL")
	}
	b := &passBench{o: o}
	cleanup, err := b.setup(ctx)
	defer cleanup()
	if err != nil {
		return err
	}
	fmt.Printf("bench: %d proposals, fake API without latency, --concurrency %d --rate 1000000 (a ceiling, no slow start), fresh databases, each measure taken %d times (median shown)\n",
		len(b.first), o.concurrency, o.repeat)
	if err := b.prepareDatabases(ctx); err != nil {
		return err
	}
	// The machine's speed drifts by tens of percent over a minute (a shared
	// 2-core VM, slower for a while after the preload), so each round takes
	// the limit and passes 1, 2 and 3 in turn: their ratios are read under
	// the same conditions.
	for r := range o.repeat {
		if err := b.round(ctx, r); err != nil {
			return err
		}
	}
	if b.scansAfter, err = seqScans(ctx, b.bigURL); err != nil {
		return err
	}
	b.print()
	return nil
}

// setup makes the fake API, its bodies and the ID files.
func (b *passBench) setup(ctx context.Context) (cleanup func(), err error) {
	cfg := fakeapi.DefaultConfig()
	cfg.Jobs, cfg.ProposalsPerJob = max(b.o.proposals/100, 1), 100
	cfg.CacheBodies = true
	b.fake, b.token = fakeapi.New(cfg), cfg.Token
	b.first = b.fake.ProposalIDs()
	b.thirds = make([][]string, b.o.repeat)
	for r := range b.thirds {
		b.thirds[r] = make([]string, len(b.first))
		for i := range b.first {
			b.thirds[r][i] = fmt.Sprintf("p3%c-%s", 'a'+r, b.first[i])
		}
	}
	b.fake.Warm(b.first) // the fake's own CPU is then out of the measurement
	for _, ids := range b.thirds {
		b.fake.Warm(ids)
	}
	srv := httptest.NewServer(b.fake)
	b.apiURL = srv.URL + "/api/public/v1"
	if b.dir, err = os.MkdirTemp("", "interview-export-bench"); err != nil {
		return srv.Close, err
	}
	cleanup = func() { srv.Close(); os.RemoveAll(b.dir) }
	b.firstFile, err = b.idsFile("first", b.first)
	return cleanup, err
}

func (b *passBench) idsFile(name string, ids []string) (string, error) {
	path := filepath.Join(b.dir, name+".txt")
	return path, os.WriteFile(path, []byte(strings.Join(ids, "\n")+"\n"), 0o644)
}

// prepareDatabases makes two databases: the first for the load limit and
// passes 1 and 2, the second preloaded with SQL for pass 3.
func (b *passBench) prepareDatabases(ctx context.Context) error {
	var err error
	if b.benchURL, err = freshDatabase(ctx, b.o.dbURL, "interview_export_bench"); err != nil {
		return err
	}
	if b.bigURL, err = freshDatabase(ctx, b.o.dbURL, "interview_export_bench_big"); err != nil {
		return err
	}
	for _, url := range []string{b.benchURL, b.bigURL} { // the limit copies the tables' definitions
		migrate := exec.CommandContext(ctx, b.o.binary, "migrate")
		migrate.Env = append(os.Environ(), "DATABASE_URL="+url)
		if out, err := migrate.CombinedOutput(); err != nil {
			return fmt.Errorf("migrate: %v\n%s", err, out)
		}
	}
	fmt.Printf("bench: preloading %d interviews and %d messages with SQL...\n", b.o.preload, b.o.preload*20)
	if err := preloadTables(ctx, b.bigURL, b.o.preload); err != nil {
		return err
	}
	// The server runs with fsync off: without this the kernel would still be
	// writing the preload's gigabyte out during the passes.
	syscall.Sync()
	b.postmaster = postmasterPID(ctx, b.benchURL) // both databases are on its server
	b.scansBefore, err = seqScans(ctx, b.bigURL)
	return err
}

// round takes the load limit, then passes 1, 2 and 3.
func (b *passBench) round(ctx context.Context, r int) error {
	limit, bare, err := loadLimit(ctx, b.benchURL, b.fake, b.first)
	if err != nil {
		return err
	}
	b.limit, b.bare = append(b.limit, limit), append(b.bare, bare)
	if r > 0 { // empty tables again
		if err := execSQL(ctx, b.benchURL, `TRUNCATE interviews, interview_messages, proposals, jobs`); err != nil {
			return err
		}
	}
	third, err := b.idsFile(fmt.Sprint("third-", r), b.thirds[r])
	if err != nil {
		return err
	}
	for i, p := range []struct {
		name, dbURL, ids string
		messages         int64
	}{
		{"1: empty tables", b.benchURL, b.firstFile, messagesOf(b.fake, b.first)},
		{"2: unchanged data", b.benchURL, b.firstFile, messagesOf(b.fake, b.first)},
		{fmt.Sprintf("3: new, %dk stored", b.o.preload/1000), b.bigURL, third, messagesOf(b.fake, b.thirds[r])},
	} {
		got, err := exportPass(ctx, p.name, b.o.binary, p.dbURL, b.apiURL, b.token, p.ids, b.o.concurrency, p.messages, b.postmaster)
		if err != nil {
			return err
		}
		b.passes[i] = append(b.passes[i], got)
	}
	return nil
}

// print writes the passes' table, their CPU and the ratios between them.
func (b *passBench) print() {
	proposals := func(ls []limits) (p, m []float64) {
		for _, l := range ls {
			p, m = append(p, l.proposals), append(m, l.messages)
		}
		return p, m
	}
	limitRuns, limitMessages := proposals(b.limit)
	bareRuns, bareMessages := proposals(b.bare)
	limit := median(limitRuns)
	fmt.Printf("\nload limit (pgx CopyFrom of the same normalized rows into empty copies of the two tables, no merge): %.0f proposals/s, %.0f messages/s (%s)\n",
		limit, median(limitMessages), spread(limitRuns))
	fmt.Printf("(into bare tables with primary keys only, no foreign key: %.0f proposals/s, %.0f messages/s)\n\n", median(bareRuns), median(bareMessages))
	fmt.Printf("%-22s %9s %12s %13s %12s %9s %10s %13s %13s %12s\n", "pass", "wall", "proposals/s", "(range)", "messages/s", "of limit", "peak RSS",
		"msg rows ins", "msg rows upd", "ivs changed")
	var mid [3]pass
	for i, runs := range b.passes {
		rates := make([]float64, len(runs))
		for k, p := range runs {
			rates[k] = p.rate()
		}
		byWall := slices.SortedFunc(slices.Values(runs), func(a, b pass) int { return cmp.Compare(a.wall, b.wall) })
		p := byWall[len(byWall)/2]
		mid[i] = p
		fmt.Printf("%-22s %9s %12.0f %13s %12.0f %8.0f%% %8.1fMiB %13d %13d %12d\n", p.name, p.wall.Round(time.Millisecond),
			p.rate(), spread(rates), float64(p.messages)/p.wall.Seconds(), 100*p.rate()/limit, float64(p.maxRSSKiB)/1024,
			p.tupIns, p.tupUpd, p.interviewsChanged)
	}
	fmt.Printf("\nCPU per proposal (%d cores): %-14s %10s %10s %12s %10s\n", runtime.NumCPU(), "", "exporter", "fake API", "PostgreSQL", "wall")
	for _, p := range mid {
		per := func(d time.Duration) string {
			return fmt.Sprintf("%.0fµs", float64(d.Microseconds())/float64(p.proposals))
		}
		fmt.Printf("  %-40s %10s %10s %12s %10s\n", p.name, per(p.cpu.exporter), per(p.cpu.fake), per(p.cpu.postgres), per(p.wall))
	}
	b.printRatios(mid)
}

func (b *passBench) printRatios(mid [3]pass) {
	var second, third []string
	for r := range b.passes[0] { // the passes of one round ran under the same conditions
		second = append(second, fmt.Sprintf("%.2f×", b.passes[1][r].rate()/b.passes[0][r].rate()))
		third = append(third, fmt.Sprintf("%.0f%%", 100*b.passes[2][r].rate()/b.passes[0][r].rate()))
	}
	fmt.Printf("\npass 2 / pass 1: %.2f× (each round: %s); pass 3 / pass 1: %.0f%% (each round: %s)\n",
		mid[1].rate()/mid[0].rate(), strings.Join(second, ", "), 100*mid[2].rate()/mid[0].rate(), strings.Join(third, ", "))
	var ins, upd, del, changed int64
	for _, p := range b.passes[1] {
		ins, upd, del, changed = ins+p.tupIns, upd+p.tupUpd, del+p.tupDel, changed+p.interviewsChanged
	}
	fmt.Printf("pass 2 (%d runs) rewrote %d interview_messages rows (inserted %d, updated %d, deleted %d) and changed %d interviews\n",
		len(b.passes[1]), ins+upd+del, ins, upd, del, changed)
	fmt.Printf("pass 3 (%d runs) sequential scans: interviews %d, interview_messages %d (pg_stat_user_tables)\n",
		len(b.passes[2]), b.scansAfter[0]-b.scansBefore[0], b.scansAfter[1]-b.scansBefore[1])
}
