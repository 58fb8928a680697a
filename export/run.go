package command

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

	"github.com/urfave/cli/v2"

	"github.com/interview-export/interview-export/extract"
	"github.com/interview-export/interview-export/idquery"
	"github.com/interview-export/interview-export/internal/sanitize"
	"github.com/interview-export/interview-export/load"
	"github.com/interview-export/interview-export/metrics"
	"github.com/interview-export/interview-export/pace"
	"github.com/interview-export/interview-export/pipeline"
)

// exportRun is one export from the moment its options are valid: what it
// opened, to be closed, and what its outcome is built from.
type exportRun struct {
	e        *env
	o        exportOptions
	log      *slog.Logger
	runAttrs *runAttrs
	logOut   *barSafeWriter
	started  time.Time

	client *extract.Client
	store  *load.Store // nil for a dry run that reads nothing
	src    pipeline.Source
	runID  int64 // 0 for a dry run
	run    *pipeline.Run
	budget *pipeline.Budget
	// closers close what the run opened; cycleClosers what one cycle did.
	closers, cycleClosers []func()
}

// runExport opens the run, executes it and finishes it.
func runExport(c *cli.Context, e *env) error {
	o, err := exportOptionsFrom(c, e)
	if err != nil {
		return usageError{err}
	}
	x := &exportRun{e: e, o: o, started: time.Now()}
	defer x.close()
	if c.Bool(flagFollow) {
		f := followOptions{pollInterval: durationOf(c, flagPollInterval), webhookListen: c.String(flagWebhookListen), listen: c.String(flagListen)}
		var err error
		if f.secret, err = readSecret(c.String(flagWebhookSecretFile), e.getenv); err != nil {
			return usageError{err}
		}
		e.secrets = append(e.secrets, string(f.secret))
		if err := f.validate(o); err != nil {
			return usageError{err}
		}
		return x.follow(c, f)
	}
	if err := x.open(c); err != nil {
		// A run that ended before it started (the token refused, the API or
		// the database unreachable, another export holding the lock) still
		// leaves its summary file and its metrics, for the orchestrator and
		// for monitoring.
		code, msg := exitStatus(err)
		x.report(c.Context, x.outcome(code, msg, load.Counts{}, time.Now()))
		return err
	}
	counts, err := x.execute(c.Context)
	return x.finish(c.Context, counts, err)
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
func (x *exportRun) open(c *cli.Context) error {
	if err := x.openShared(c); err != nil {
		return err
	}
	return x.openCycle(c.Context, true)
}

// openShared makes what every cycle of a run shares: the logger, the API
// client and its byte budget, the database and the shard's lock.
func (x *exportRun) openShared(c *cli.Context) error {
	o, e := x.o, x.e
	x.logOut = &barSafeWriter{w: e.stderr}
	var err error
	if x.log, x.runAttrs, err = newLogger(c, x.logOut, e.secrets...); err != nil {
		return err
	}
	x.runAttrs.Set(slog.String("shard", o.run.Shard.String()))
	if o.tokenFileWarning != "" {
		x.log.Warn(o.tokenFileWarning)
	}
	x.budget = pipeline.NewBudget(pipeline.DefaultPendingBytes)
	cfg := o.client
	cfg.Logger, cfg.BodyBudget = x.log, x.budget
	if x.client, err = extract.NewClient(cfg); err != nil {
		return err
	}
	return x.openStore(c.Context)
}

// openCycle opens the source, checks the token (first, once), and starts
// the run's row and writer: one export of the source to its end.
func (x *exportRun) openCycle(ctx context.Context, first bool) error {
	o, e := x.o, x.e
	var err error
	if x.src, err = x.openSource(ctx); err != nil {
		return err
	}
	if first {
		if err := checkToken(ctx, x.client, o.client.BaseURL, extract.ScopesFor(o.source.allJobs)); err != nil {
			return err
		}
	}
	var out pipeline.BatchWriter = load.JSONLines{W: e.stdout}
	if !o.dryRun {
		if x.runID, err = x.store.StartRun(ctx, load.RunStart{Shard: o.run.Shard.String(), Source: x.src.Describe(), Settings: o.settings()}); err != nil {
			return err
		}
		x.runAttrs.Set(slog.Int64("run_id", x.runID), slog.String("shard", o.run.Shard.String()))
		wopts := o.writer
		wopts.Logger, wopts.OutageTimeout = x.log, o.client.OutageTimeout
		w, err := x.store.NewWriter(ctx, x.runID, wopts)
		if err != nil {
			return err
		}
		x.cycleClosers = append(x.cycleClosers, func() { w.Close() })
		out = w
	}
	opts := o.run
	opts.Logger, opts.Budget = x.log, x.budget
	if opts.RefreshAfter > 0 {
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
	case !o.dryRun || o.run.RefreshAfter > 0 || o.source.updates:
		x.store, err = openStore(ctx, o.databaseURL, o.noMigrate || o.dryRun, x.log)
	case o.source.idsQuery != "":
		x.store, err = connect(ctx, o.databaseURL, 2)
	default:
		return nil
	}
	if err != nil {
		return err
	}
	x.closers = append(x.closers, x.store.Close)
	if o.dryRun {
		return nil
	}
	release, err := x.store.LockRun(ctx, o.run.Shard.String())
	if err != nil {
		return fmt.Errorf("shard %s: %w", o.run.Shard, err)
	}
	x.closers = append(x.closers, release)
	return nil
}

// execute runs the export, with progress, and says on the first signal what
// happens now; a second signal records the run as interrupted.
func (x *exportRun) execute(ctx context.Context) (load.Counts, error) {
	o, log, run := x.o, x.log, x.run
	log.Info("export started", "run_id", x.runID, "source", x.src.Describe(), "shard", o.run.Shard.String(), "api_url", sanitize.URL(o.client.BaseURL),
		"concurrency", o.client.Concurrency, "rate", o.client.Rate, "refresh_after", o.run.RefreshAfter.String(), "dry_run", o.dryRun)
	stopProgress := startProgress(ctx, x.e.stderr, x.logOut, x.src, run, o.progressInterval, log)
	defer stopProgress()
	defer x.shareQuota(ctx)()
	defer context.AfterFunc(ctx, func() {
		log.Warn(fmt.Sprintf("%v: stopping; press Ctrl-C again to quit now", context.Cause(ctx)),
			"requests_in_flight", run.InFlight(), "drain_deadline", time.Now().Add(o.run.DrainTimeout).UTC().Format(time.RFC3339))
	})()
	if x.runID != 0 {
		// A second signal quits at once: the run is recorded 'interrupted'
		// if the database answers within a second.
		defer onAbort(func(sig os.Signal) {
			ctx, cancel := context.WithTimeout(context.Background(), time.Second)
			defer cancel()
			code, _ := exitStatus(SignalError{Signal: sig})
			x.store.FinishRun(ctx, x.runID, load.RunInterrupted, "a second signal: stopped at once, in-flight work rolled back", code, run.Progress())
		})()
	}
	counts, err := run.Execute(ctx)
	var refused *extract.CursorRefusedError
	if errors.As(err, &refused) {
		err = feedCursorError{shard: o.run.Shard.String(), err: refused}
	}
	return counts, err
}

// finish records how the run ended, reports it (summary file, metrics, the
// last log record or line) and returns the error that sets the exit status.
func (x *exportRun) finish(ctx context.Context, counts load.Counts, runErr error) error {
	code, msg, status, runErr := ended(ctx, counts, runErr)
	if errors.Is(runErr, errSomeFailed) && x.o.maxFailed.allows(counts) {
		// The run stays 'partial'; the exit status carries the policy.
		code, runErr = ExitOK, nil
		x.log.Info("failures within --max-failed: exit status 0", "failed", counts.FailedNew(), "max_failed", x.o.maxFailed.String())
	}
	if x.runID != 0 {
		// The summary is what the run's row says, so the two cannot disagree.
		stored, err := x.store.FinishRun(context.WithoutCancel(ctx), x.runID, status, errorText(code, redact(msg, x.e.secrets)), code, counts)
		if err != nil {
			x.log.Error("could not record the end of the run", "error", err)
		} else {
			stored.Duration = counts.Duration
			counts = stored
		}
	}
	x.logRate(counts)
	r := x.outcome(code, msg, counts, time.Now())
	r.Status = string(status) // 'partial' within --max-failed too
	x.report(ctx, r)
	if x.e.jsonLog {
		logFinished(x.log, r)
	} else {
		printSummary(x.e.stderr, x.runID, status, counts)
	}
	return runErr
}

// ended is how a run (or a follower's cycle) that returned runErr ended:
// its exit status and the line that goes with it, the status it is
// recorded with, and the error that sets the exit status (the signal when
// one stopped it, errSomeFailed when new failures are all).
func ended(ctx context.Context, counts load.Counts, runErr error) (code int, msg string, status load.RunStatus, err error) {
	var sig SignalError
	switch {
	case errors.As(context.Cause(ctx), &sig):
		runErr = sig // interrupted: the drain committed what was received
	case runErr == nil && counts.FailedNew() > 0:
		runErr = errSomeFailed
	}
	code, msg = exitStatus(runErr)
	status = runStatus(code)
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
	r := runOutcome{Version: versionLine(), RunID: x.runID, Shard: x.o.run.Shard.String(), DryRun: x.o.dryRun, Status: string(runStatus(code)),
		ExitStatus: code, Error: errorText(code, redact(msg, x.e.secrets)), StartedAt: started, FinishedAt: finished, Counts: countsOf(counts)}
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
	if code == ExitOK || code == ExitFailures {
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
	if o.summaryFile != "" {
		if err := writeSummaryFile(o.summaryFile, r); err != nil {
			x.logError("could not write the summary file", err)
		}
	}
	if o.metricsTextfile == "" && o.pushgatewayURL == "" {
		return
	}
	target := metrics.Target{Textfile: o.metricsTextfile, PushURL: o.pushgatewayURL, PushUser: o.pushgatewayUser, PushPassword: o.pushgatewayPassword}
	if err := metrics.Publish(ctx, target, r.metrics(x.lastSuccess(ctx, r))); err != nil {
		x.logError("could not publish the metrics", err)
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
		x.logError("could not read the last successful run for the metrics", err)
	}
	if x.o.metricsTextfile != "" {
		last = metrics.PreviousLastSuccess(x.o.metricsTextfile)
	}
	if r.ExitStatus == ExitOK && r.FinishedAt.After(last) {
		last = r.FinishedAt
	}
	return last
}

// logError logs through the run's logger, or writes one line on stderr
// when the run ended before it had one.
func (x *exportRun) logError(msg string, err error) {
	if x.log != nil {
		x.log.Error(msg, "error", err)
		return
	}
	fmt.Fprintf(x.e.stderr, "interview-export: %s: %s\n", msg, redact(err.Error(), x.e.secrets))
}

// openSource opens the one source of proposal IDs the options name.
func (x *exportRun) openSource(ctx context.Context) (pipeline.Source, error) {
	o, store, log := x.o.source, x.store, x.log
	switch {
	case o.idsQuery != "":
		src, err := idquery.Open(ctx, store, o.idsQuery, o.idsQueryTimeout)
		if err != nil {
			return nil, err
		}
		x.cycleClosers = append(x.cycleClosers, func() { src.Close() })
		rows, nulls, blanks := src.Rows()
		log.Info("--ids-query returned its IDs", "rows", rows, "null_rows_skipped", nulls, "empty_rows_skipped", blanks)
		return src, nil
	case len(o.jobs) > 0 || o.allJobs:
		return &extract.JobsSource{Client: x.client, Jobs: o.jobs, All: o.allJobs}, nil
	case o.updates:
		src := &extract.UpdatesSource{Client: x.client, FromStart: true, Warn: log.Warn}
		if store != nil {
			after, ok, err := store.FeedCursor(ctx, x.o.run.Shard.String())
			if err != nil {
				return nil, err
			}
			src.After, src.FromStart = after, !ok
			if src.Retry, err = store.PendingFailures(ctx); err != nil {
				return nil, err
			}
		}
		log.Info("reading the change feed", "cursor", src.After, "from_start", src.FromStart, "failed_before", len(src.Retry))
		return src, nil
	}
	src, err := extract.OpenFileSource(o.idsFile, x.e.stdin)
	if err != nil {
		return nil, usageError{err}
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
	if x.store == nil || x.o.dryRun || account == "" {
		return func() {}
	}
	host, _ := os.Hostname()
	member := fmt.Sprintf("%s/%d/%s", host, os.Getpid(), x.o.run.Shard)
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
	var sig SignalError
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
	return usageError{fmt.Errorf("%w (is OT_API_URL %s right and reachable?)", err, apiURL)}
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
