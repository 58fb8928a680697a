package export

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"sort"
	"strings"
	"sync/atomic"
	"time"

	"github.com/interview-export/interview-export/exit"
	"github.com/interview-export/interview-export/extract"
	"github.com/interview-export/interview-export/idquery"
	"github.com/interview-export/interview-export/internal/logging"
	"github.com/interview-export/interview-export/internal/sanitize"
	"github.com/interview-export/interview-export/load"
	"github.com/interview-export/interview-export/metrics"
	"github.com/interview-export/interview-export/pace"
	"github.com/interview-export/interview-export/pipeline"
)

// Options are the validated settings of an export: the library packages'
// own configurations, and what only the run knows. The command line maps
// and validates them; Run trusts them.
type Options struct {
	Client extract.Config
	Run    pipeline.Options
	Writer load.WriterOptions
	Source Source
	// Follow, when set, keeps following the feed (Source.Updates) instead
	// of ending with the source.
	Follow *Follow
	// Privacy: re-checks of stored transcripts and retention.
	Privacy Privacy
	// KeepRuns is how long export_runs keeps a finished run (0: for ever).
	KeepRuns time.Duration

	DatabaseURL      string
	NoMigrate        bool
	DryRun           bool
	ProgressInterval time.Duration
	MaxFailed        MaxFailed
	SummaryFile      string
	// Metrics are where the run's metrics go (textfile, Pushgateway).
	Metrics metrics.Target
	Log     logging.Options
	// Settings are stored with the run in export_runs (never a secret).
	Settings map[string]any
	// Version is the line `interview-export version` prints.
	Version string
	// Warnings are logged once the run's logger exists.
	Warnings []string
}

// Source names the one source of proposal IDs.
type Source struct {
	IDsFile         string
	IDsColumn       string // read IDsFile as CSV, this column
	IDsQuery        string
	IDsQueryTimeout time.Duration
	Jobs            []string
	AllJobs         bool
	Updates         bool
}

// Env is what a run gets from the process.
type Env struct {
	Stdin          io.Reader
	Stdout, Stderr io.Writer
	// Secrets never reach a log line, a stored error or a summary.
	Secrets []string
}

// exportRun is one export from the moment its options are valid: what it
// opened, to be closed, and what its outcome is built from.
type exportRun struct {
	env      Env
	o        Options
	log      *slog.Logger
	runAttrs *logging.Attrs
	logOut   *barSafeWriter
	started  time.Time

	client *extract.Client
	store  *load.Store // nil for a dry run that reads nothing
	src    pipeline.Source
	runID  int64 // 0 for a dry run
	run    *pipeline.Run
	budget *pipeline.Budget
	// feed is the source when it is the change feed (rechecks may follow
	// it in src).
	feed *extract.UpdatesSource
	// How often the re-checks are planned, retention applied and the
	// history pruned; minute is a follower's row of the current minute.
	rechecks, retention, pruning pause
	minute                       minuteRow
	// closers close what the run opened; cycleClosers what one cycle did.
	closers, cycleClosers []func()
}

// Run runs the export o describes to its end (or, with o.Follow, until ctx
// ends) and returns the error whose exit.Status is the command's exit
// status. It leaves a summary file and metrics however it ends.
func Run(ctx context.Context, o Options, env Env) error {
	x := &exportRun{env: env, o: o, started: time.Now()}
	x.logOut = &barSafeWriter{w: env.Stderr}
	x.log, x.runAttrs = logging.New(x.logOut, o.Log, env.Secrets...)
	x.runAttrs.Set(slog.String("shard", o.Run.Shard.String()))
	for _, w := range o.Warnings {
		x.log.Warn(w)
	}
	defer x.close()
	if o.Follow != nil {
		return x.follow(ctx, *o.Follow)
	}
	if err := x.open(ctx); err != nil {
		// A run that ended before it started (the token refused, the API or
		// the database unreachable, another export holding the lock) still
		// leaves its summary file and its metrics, for the orchestrator and
		// for monitoring.
		code, msg := exit.Status(err)
		x.report(ctx, x.outcome(code, msg, load.Counts{}, time.Now()))
		return err
	}
	counts, err := x.execute(ctx)
	return x.finish(ctx, counts, err)
}

func (x *exportRun) close() {
	x.closeCycle()
	for i := len(x.closers) - 1; i >= 0; i-- {
		x.closers[i]()
	}
}

// open sets up everything the run needs, in the order that fails fastest:
// the database first (a second export of the same shard exits 4 at once,
// before any query or API call), then the source, the token, and the run's
// row in export_runs.
func (x *exportRun) open(ctx context.Context) error {
	if err := x.openShared(ctx); err != nil {
		return err
	}
	return x.openCycle(ctx, true)
}

// openShared makes what every cycle of a run shares: the API client and
// its byte budget, the database and the shard's lock.
func (x *exportRun) openShared(ctx context.Context) error {
	o := x.o
	var err error
	x.budget = pipeline.NewBudget(pipeline.DefaultPendingBytes)
	cfg := o.Client
	cfg.Logger, cfg.BodyBudget = x.log, x.budget
	if x.client, err = extract.NewClient(cfg); err != nil {
		return err
	}
	return x.openStore(ctx)
}

// openCycle opens the source, checks the token (first, once), and starts
// the run's row and writer: one export of the source to its end.
func (x *exportRun) openCycle(ctx context.Context, first bool) error {
	o := x.o
	var err error
	if x.src, err = x.openSource(ctx); err != nil {
		return err
	}
	if first {
		if err := checkToken(ctx, x.client, o.Client.BaseURL, extract.ScopesFor(o.Source.AllJobs)); err != nil {
			return err
		}
	}
	now := time.Now()
	rechecks, err := x.addRechecks(ctx, now)
	if err != nil {
		return err
	}
	var out pipeline.BatchWriter = load.JSONLines{W: x.env.Stdout}
	if !o.DryRun {
		wopts := o.Writer
		if o.Follow != nil && x.minute.shared(now) {
			// The cycles of one minute add to one row.
			x.runID = x.minute.id
			x.minute.base.Rechecked += rechecks
			wopts.Continues = x.minute.base
		} else {
			if x.runID, err = x.store.StartRun(ctx, load.RunStart{Shard: o.Run.Shard.String(), Source: x.src.Describe(), Settings: o.Settings,
				Rechecked: rechecks}); err != nil {
				return err
			}
			x.minute = minuteRow{id: x.runID, started: now, base: load.Counts{Rechecked: rechecks}}
		}
		x.runAttrs.Set(slog.Int64("run_id", x.runID), slog.String("shard", o.Run.Shard.String()))
		wopts.Logger, wopts.OutageTimeout = x.log, o.Client.OutageTimeout
		w, err := x.store.NewWriter(ctx, x.runID, wopts)
		if err != nil {
			return err
		}
		x.cycleClosers = append(x.cycleClosers, func() { w.Close() })
		out = w
	}
	if err := x.applyRetention(ctx, now); err != nil {
		return err
	}
	opts := o.Run
	opts.Logger, opts.Budget = x.log, x.budget
	if x.store != nil && (!o.DryRun || o.Run.RefreshAfter > 0 || o.Source.Updates) { // a store with the schema
		opts.Recorded = x.store
	}
	x.run = pipeline.New(x.src, x.client, out, opts)
	return nil
}

// closeCycle closes what openCycle opened.
func (x *exportRun) closeCycle() {
	for i := len(x.cycleClosers) - 1; i >= 0; i-- {
		x.cycleClosers[i]()
	}
	x.cycleClosers = nil
}

// openStore connects when the run writes or reads the database, and takes
// the shard's lock when it writes. A dry run never migrates.
func (x *exportRun) openStore(ctx context.Context) error {
	o := x.o
	var err error
	switch {
	case !o.DryRun || o.Run.RefreshAfter > 0 || o.Source.Updates:
		x.store, err = openStore(ctx, o.DatabaseURL, o.NoMigrate || o.DryRun, x.log)
	case o.Source.IDsQuery != "":
		x.store, err = Connect(ctx, o.DatabaseURL, 2)
	default:
		return nil
	}
	if err != nil {
		return err
	}
	x.closers = append(x.closers, x.store.Close)
	if o.DryRun {
		return nil
	}
	// A missing grant stops the run before its first request, as check
	// would report it, not half way with exit 3.
	missing, err := x.store.MissingGrants(ctx)
	if err != nil {
		return err
	}
	if len(missing) > 0 {
		return fmt.Errorf("%w: %s", load.ErrPermission, strings.Join(missing, ", "))
	}
	release, err := x.store.LockRun(ctx, o.Run.Shard.String())
	if err != nil {
		return fmt.Errorf("shard %s: %w", o.Run.Shard, err)
	}
	x.closers = append(x.closers, release)
	return nil
}

// execute runs the export, with progress, and says on the first signal what
// happens now; a second signal records the run as interrupted.
func (x *exportRun) execute(ctx context.Context) (load.Counts, error) {
	o, log, run := x.o, x.log, x.run
	log.Info("export started", "run_id", x.runID, "source", x.src.Describe(), "shard", o.Run.Shard.String(), "api_url", sanitize.URL(o.Client.BaseURL),
		"concurrency", o.Client.Concurrency, "rate", o.Client.Rate, "refresh_after", o.Run.RefreshAfter.String(), "dry_run", o.DryRun)
	stopProgress := startProgress(ctx, x.env.Stderr, x.logOut, x.src, run, o.ProgressInterval, log)
	defer stopProgress()
	defer x.shareQuota(ctx)()
	defer context.AfterFunc(ctx, func() {
		log.Warn(fmt.Sprintf("%v: stopping; press Ctrl-C again to quit now", context.Cause(ctx)),
			"requests_in_flight", run.InFlight(), "drain_deadline", time.Now().Add(o.Run.DrainTimeout).UTC().Format(time.RFC3339))
	})()
	if x.runID != 0 {
		// A second signal quits at once: the run is recorded 'interrupted'
		// if the database answers within a second.
		defer exit.OnAbort(func(sig os.Signal) {
			ctx, cancel := context.WithTimeout(context.Background(), time.Second)
			defer cancel()
			code, _ := exit.Status(exit.SignalError{Signal: sig})
			x.store.FinishRun(ctx, x.runID, load.RunInterrupted, "a second signal: stopped at once, in-flight work rolled back", code, run.Progress())
		})()
	}
	counts, err := run.Execute(ctx)
	var refused *extract.CursorRefusedError
	if errors.As(err, &refused) {
		err = exit.FeedCursorError{Shard: o.Run.Shard.String(), Err: refused}
	}
	return counts, err
}

// finish records how the run ended, reports it (summary file, metrics, the
// last log record or line) and returns the error that sets the exit status.
func (x *exportRun) finish(ctx context.Context, counts load.Counts, runErr error) error {
	code, msg, status, runErr := ended(ctx, counts, runErr)
	if errors.Is(runErr, exit.ErrSomeFailed) && x.o.MaxFailed.Allows(counts) {
		// The run stays 'partial'; the exit status carries the policy.
		code, runErr = exit.OK, nil
		x.log.Info("failures within --max-failed: exit status 0", "failed", counts.FailedNew(), "max_failed", x.o.MaxFailed.String())
	}
	if x.runID != 0 {
		// The summary is what the run's row says, so the two cannot disagree.
		stored, err := x.store.FinishRun(context.WithoutCancel(ctx), x.runID, status, errorText(code, sanitize.Secrets(msg, x.env.Secrets)), code, counts)
		if err != nil {
			x.log.Error("could not record the end of the run", "error", err)
		} else {
			stored.Duration = counts.Duration
			counts = stored
		}
	}
	x.prune(ctx, time.Now())
	x.logRate(counts)
	r := x.outcome(code, msg, counts, time.Now())
	r.Status = string(status) // 'partial' within --max-failed too
	x.report(ctx, r)
	if x.o.Log.JSON {
		logFinished(x.log, r)
	} else {
		printSummary(x.env.Stderr, x.runID, status, counts)
	}
	return runErr
}

// ended is how a run (or a follower's cycle) that returned runErr ended:
// its exit status and the line that goes with it, the status it is
// recorded with, and the error that sets the exit status (the signal when
// one stopped it, exit.ErrSomeFailed when new failures are all).
func ended(ctx context.Context, counts load.Counts, runErr error) (code int, msg string, status load.RunStatus, err error) {
	var sig exit.SignalError
	switch {
	case errors.As(context.Cause(ctx), &sig):
		runErr = sig // interrupted: the drain committed what was received
	case runErr == nil && counts.FailedNew() > 0:
		runErr = exit.ErrSomeFailed
	}
	code, msg = exit.Status(runErr)
	status = exit.RunStatus(code)
	if status == load.RunSucceeded && counts.Failed > 0 {
		status = load.RunPartial // known failures only: exit 0, but not everything succeeded
	}
	return code, msg, status, runErr
}

// outcome is the run's outcome for the summary file, the metrics and the
// last log record: the one place it is built, for a run that finished and
// for one that ended before it started.
func (x *exportRun) outcome(code int, msg string, counts load.Counts, finished time.Time) runOutcome {
	started := x.started
	if counts.Duration > 0 {
		started = finished.Add(-counts.Duration)
	}
	r := runOutcome{Version: x.o.Version, RunID: x.runID, Shard: x.o.Run.Shard.String(), DryRun: x.o.DryRun, Status: string(exit.RunStatus(code)),
		ExitStatus: code, Error: errorText(code, sanitize.Secrets(msg, x.env.Secrets)), StartedAt: started, FinishedAt: finished, Counts: countsOf(counts)}
	if x.src != nil {
		r.Source = x.src.Describe()
	}
	r.UnknownFields = []string{}
	if x.run != nil {
		r.UnknownFields = x.run.ExtraFields()
	}
	if counts.Failed > 0 && x.runID != 0 {
		r.FailuresQuery = failuresQuery(x.runID)
	}
	return r
}

// errorText is what a run records and reports as its error: nothing when
// it finished (exit 0 or 1: the failures are in export_failures).
func errorText(code int, msg string) string {
	if code == exit.OK || code == exit.Failures {
		return ""
	}
	return msg
}

// failuresQuery lists a run's failures.
func failuresQuery(runID int64) string {
	return fmt.Sprintf("SELECT proposal_id, error_code, http_status, message FROM export_failures WHERE run_id = %d;", runID)
}

// logRate logs the request rate the run settled on.
func (x *exportRun) logRate(counts load.Counts) {
	quota, announced := x.client.Quota()
	x.log.Info("request rate settled", "rate_per_s", counts.RequestRate, "rate_unlimited", counts.RequestRate == 0,
		"reason", counts.RateReason, "learned_quota_per_s", quota, "announced_by_api", announced)
}

// report writes the summary file and the metrics of a finished run.
// A failure to write them is logged, and does not change the exit status.
func (x *exportRun) report(ctx context.Context, r runOutcome) {
	o := x.o
	if o.SummaryFile != "" {
		if err := writeSummaryFile(o.SummaryFile, r); err != nil {
			x.log.Error("could not write the summary file", "error", err)
		}
	}
	if o.Metrics.Textfile == "" && o.Metrics.PushURL == "" {
		return
	}
	if err := metrics.Publish(ctx, o.Metrics, r.metrics(x.lastSuccess(ctx, r))); err != nil {
		x.log.Error("could not publish the metrics", "error", err)
	}
}

// lastSuccess is when the shard's last run that exited 0 finished: as
// export_runs has it (this run included) when the database answers, else
// as the previous textfile said, and this run when it exited 0.
func (x *exportRun) lastSuccess(ctx context.Context, r runOutcome) time.Time {
	var last time.Time
	if x.store != nil {
		var err error
		if last, err = x.store.LastSuccess(context.WithoutCancel(ctx), r.Shard); err == nil {
			return last
		}
		x.log.Error("could not read the last successful run for the metrics", "error", err)
	}
	if x.o.Metrics.Textfile != "" {
		last = metrics.PreviousLastSuccess(x.o.Metrics.Textfile)
	}
	if r.ExitStatus == exit.OK && r.FinishedAt.After(last) {
		last = r.FinishedAt
	}
	return last
}

// openSource opens the one source of proposal IDs the options name.
func (x *exportRun) openSource(ctx context.Context) (pipeline.Source, error) {
	o, store, log := x.o.Source, x.store, x.log
	switch {
	case o.IDsQuery != "":
		src, err := idquery.Open(ctx, store, o.IDsQuery, o.IDsQueryTimeout)
		if err != nil {
			return nil, err
		}
		x.cycleClosers = append(x.cycleClosers, func() { src.Close() })
		rows, nulls, blanks := src.Rows()
		log.Info("--ids-query returned its IDs", "rows", rows, "null_rows_skipped", nulls, "empty_rows_skipped", blanks)
		return src, nil
	case len(o.Jobs) > 0 || o.AllJobs:
		return &extract.JobsSource{Client: x.client, Jobs: o.Jobs, All: o.AllJobs}, nil
	case o.Updates:
		src := &extract.UpdatesSource{Client: x.client, FromStart: true, Warn: log.Warn}
		if store != nil {
			after, ok, err := store.FeedCursor(ctx, x.o.Run.Shard.String())
			if err != nil {
				return nil, err
			}
			src.After, src.FromStart = after, !ok
			if src.Retry, err = store.PendingFailures(ctx); err != nil {
				return nil, err
			}
		}
		log.Info("reading the change feed", "cursor", src.After, "from_start", src.FromStart, "failed_before", len(src.Retry))
		x.feed = src
		return src, nil
	}
	if o.IDsColumn != "" {
		src, err := extract.OpenCSVSource(o.IDsFile, o.IDsColumn, x.env.Stdin)
		if err != nil {
			return nil, exit.UsageError{Err: err}
		}
		x.cycleClosers = append(x.cycleClosers, func() { src.Close() })
		return src, nil
	}
	src, err := extract.OpenFileSource(o.IDsFile, x.env.Stdin)
	if err != nil {
		return nil, exit.UsageError{Err: err}
	}
	x.cycleClosers = append(x.cycleClosers, func() { src.Close() })
	return src, nil
}

// shareQuota makes this process a member of its account's pace board
// (package pace, in the database), until stop is called: every process on
// the token, sharded or not, shares one quota. A dry run, or a run whose
// account is not known, paces alone.
func (x *exportRun) shareQuota(ctx context.Context) (stop func()) {
	account := x.client.Account()
	if x.store == nil || x.o.DryRun || account == "" {
		return func() {}
	}
	host, _ := os.Hostname()
	member := fmt.Sprintf("%s/%d/%s", host, os.Getpid(), x.o.Run.Shard)
	var warned atomic.Bool
	return pace.Share(ctx, x.client.Pace(), x.store.PaceBoard(account), member, time.Second, func(err error) {
		if !warned.Swap(true) && ctx.Err() == nil {
			x.log.Warn("cannot share the pace with the other processes on the account; this one finds its share alone",
				"error", err.Error())
		}
	})
}

// checkToken makes a bad token or a missing scope fail before the first
// transcript, in a second, with a clear message.
func checkToken(ctx context.Context, client *extract.Client, apiURL string, scopes []string) error {
	_, err := client.CheckToken(ctx, scopes...)
	var sig exit.SignalError
	switch {
	case err == nil:
		return nil
	case errors.As(context.Cause(ctx), &sig):
		return sig
	case ctx.Err() != nil:
		return ctx.Err()
	case errors.Is(err, extract.ErrUnauthorized), errors.Is(err, extract.ErrScopeMissing):
		return err
	case errors.Is(err, extract.ErrAPIUnavailable):
		return fmt.Errorf("%w (is OT_API_URL %s right and reachable?)", err, apiURL)
	}
	return exit.UsageError{Err: fmt.Errorf("%w (is OT_API_URL %s right and reachable?)", err, apiURL)}
}

// printSummary prints the run's counts on one line (two when IDs failed).
func printSummary(w io.Writer, runID int64, status load.RunStatus, s load.Counts) {
	run := "dry run"
	if runID != 0 {
		run = fmt.Sprintf("run %d", runID)
	}
	fmt.Fprintf(w, "export %s %s in %s: %d IDs read (%d duplicate, %d skipped as fresh), %d available, %d no interview, %d failed",
		run, status, s.Duration.Round(time.Millisecond), s.IDsRead, s.IDsDuplicate, s.IDsSkipped, s.Available, s.NoInterview, s.Failed)
	if s.FailedKnown > 0 {
		fmt.Fprintf(w, " (%d known, failing as before)", s.FailedKnown)
	}
	if len(s.FailedByCode) > 0 {
		codes := make([]string, 0, len(s.FailedByCode))
		for c, n := range s.FailedByCode {
			codes = append(codes, fmt.Sprintf("%s %d", c, n))
		}
		sort.Strings(codes)
		fmt.Fprintf(w, " (%s)", strings.Join(codes, ", "))
	}
	if s.Rechecked+s.RemovedUpstream+s.RemovedRetention+s.SkippedErased > 0 {
		fmt.Fprintf(w, "; %d stored transcripts re-checked, %d removed as deleted upstream, %d past retention, %d IDs skipped as erased or past retention",
			s.Rechecked, s.RemovedUpstream, s.RemovedRetention, s.SkippedErased)
	}
	if runID == 0 {
		fmt.Fprintf(w, "; %d messages printed, nothing written", s.MessagesWritten)
	} else {
		fmt.Fprintf(w, "; %d interviews changed, %d messages written, %d deleted", s.InterviewsChanged, s.MessagesWritten, s.MessagesDeleted)
	}
	fmt.Fprintf(w, "; %d requests, %d retries, %d rate-limited; %.1f proposals/s\n",
		s.Requests, s.Retries, s.RateLimited, s.PerSecond())
	if s.Failed > 0 && runID != 0 {
		fmt.Fprintf(w, "failures: %s\n", failuresQuery(runID))
	}
}
