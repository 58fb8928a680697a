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
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/urfave/cli/v2"

	"github.com/interview-export/interview-export/exporter"
	"github.com/interview-export/interview-export/extract"
	"github.com/interview-export/interview-export/load"
)

// exportOptions are the validated settings of an export.
type exportOptions struct {
	apiURL           string
	token            string
	databaseURL      string
	idsFile          string
	concurrency      int
	rate             float64
	maxAttempts      int
	requestTimeout   time.Duration
	backoffBase      time.Duration
	backoffMax       time.Duration
	maxResponseBytes int64
	batchSize        int
	progressInterval time.Duration
	noMigrate        bool
	dryRun           bool
	idsQuery         string
	idsQueryTimeout  time.Duration
	jobs             []string
	allJobs          bool
	updates          bool
	refreshAfter     time.Duration
	refreshLimit     int64
	shard            exporter.Shard
	drainTimeout     time.Duration
	maxRetryAfter    time.Duration
	outageTimeout    time.Duration
	lockTimeout      time.Duration
	maxFailed        maxFailed
	summaryFile      string
	metricsTextfile  string
	pushgatewayURL   string
	// tokenFileWarning is set when the token file is readable by others.
	tokenFileWarning string
}

func exportOptionsFrom(c *cli.Context, e *env) (exportOptions, error) {
	o := exportOptions{
		apiURL:           c.String(flagAPIURL),
		databaseURL:      e.databaseURL(c),
		idsFile:          c.String(flagIDsFile),
		concurrency:      c.Int(flagConcurrency),
		rate:             c.Float64(flagRate),
		maxAttempts:      c.Int(flagMaxAttempts),
		requestTimeout:   durationOf(c, flagRequestTimeout),
		backoffBase:      durationOf(c, flagBackoffBase),
		backoffMax:       durationOf(c, flagBackoffMax),
		maxResponseBytes: c.Int64(flagMaxResponseBytes),
		batchSize:        c.Int(flagBatchSize),
		progressInterval: durationOf(c, flagProgressInterval),
		noMigrate:        c.Bool(flagNoMigrate),
		dryRun:           c.Bool(flagDryRun),
		idsQuery:         c.String(flagIDsQuery),
		idsQueryTimeout:  durationOf(c, flagIDsQueryTimeout),
		jobs:             c.StringSlice(flagJob),
		allJobs:          c.Bool(flagAllJobs),
		updates:          c.Bool(flagUpdates),
		refreshLimit:     c.Int64(flagRefreshLimit),
		refreshAfter:     durationOf(c, flagRefreshAfter),
		drainTimeout:     durationOf(c, flagDrainTimeout),
		maxRetryAfter:    durationOf(c, flagMaxRetryAfter),
		outageTimeout:    durationOf(c, flagOutageTimeout),
		lockTimeout:      durationOf(c, flagLockTimeout),
		summaryFile:      c.String(flagSummaryFile),
		metricsTextfile:  c.String(flagMetricsTextfile),
		pushgatewayURL:   c.String(flagPushgatewayURL),
	}
	mf, err := parseMaxFailed(c.String(flagMaxFailed))
	if err != nil {
		return o, err
	}
	o.maxFailed = mf
	if c.Args().Len() > 0 {
		return o, fmt.Errorf("unexpected argument %q: proposal IDs come from --ids-file, --ids-query, --job, --all-jobs or --updates", c.Args().First())
	}
	shard, err := exporter.ParseShard(c.String(flagShard))
	if err != nil {
		return o, fmt.Errorf("--%w", err)
	}
	o.shard = shard
	token, warning, err := readToken(c.String(flagTokenFile), e.getenv)
	if err != nil {
		return o, err
	}
	o.token, o.tokenFileWarning = token, warning
	return o, o.validate()
}

// minTokenLength is the shortest token accepted: anything shorter is a
// mistake (and would make the redaction of logs mangle every line).
const minTokenLength = 8

// readToken returns the API token from the token file, else OT_API_TOKEN,
// and a warning when the file is readable by its group or others.
func readToken(path string, getenv func(string) string) (token, warning string, err error) {
	if path != "" {
		raw, err := os.ReadFile(path)
		if err != nil {
			return "", "", fmt.Errorf("read --token-file: %w", err)
		}
		token = strings.TrimSpace(string(raw))
		if token == "" || strings.ContainsAny(token, " \t\r\n") {
			return "", "", fmt.Errorf("--token-file %s: want the token alone on one line", path)
		}
		if st, err := os.Stat(path); err == nil && st.Mode().Perm()&0o077 != 0 {
			warning = fmt.Sprintf("--token-file %s is readable by others (mode %04o): run chmod 600 %s", path, st.Mode().Perm(), path)
		}
	} else if token = strings.TrimSpace(getenv("OT_API_TOKEN")); token == "" {
		return "", "", errors.New("no API token: set OT_API_TOKEN or pass --token-file FILE (a token needs the proposals:read scope)")
	}
	if len(token) < minTokenLength {
		return "", "", fmt.Errorf("the API token is %d characters long: that is not a real token (they start with ot_pat_); check OT_API_TOKEN or --token-file", len(token))
	}
	return token, warning, nil
}

// databasePassword returns the password in a libpq URL or DSN, "" if none.
func databasePassword(url string) string {
	cfg, err := pgconn.ParseConfig(url)
	if err != nil {
		return ""
	}
	return cfg.Password
}

func (o exportOptions) validate() error {
	sources := 0
	for _, set := range []bool{o.idsFile != "", o.idsQuery != "", len(o.jobs) > 0, o.allJobs, o.updates} {
		if set {
			sources++
		}
	}
	switch {
	case sources == 0:
		return errors.New("no proposal IDs: pass one of --ids-file PATH (- for standard input), --ids-query SQL, --job ID, --all-jobs or --updates")
	case sources > 1:
		return errors.New("proposal IDs come from exactly one source: pass only one of --ids-file, --ids-query, --job (repeatable), --all-jobs or --updates")
	case o.updates && o.databaseURL == "" && !o.dryRun:
		return errors.New("--updates keeps its cursor in the database: set DATABASE_URL or pass --database-url")
	case o.refreshLimit < 0:
		return fmt.Errorf("--refresh-limit %d: want 0 (no limit) or more", o.refreshLimit)
	case o.refreshLimit > 0 && o.refreshAfter == 0:
		return errors.New("--refresh-limit bounds the refetches of --refresh-after: pass --refresh-after too, e.g. --refresh-after 7d --refresh-limit 10000")
	case o.idsQuery != "" && o.databaseURL == "":
		return errors.New("--ids-query runs against the database: set DATABASE_URL or pass --database-url")
	case o.idsQueryTimeout <= 0:
		return fmt.Errorf("--ids-query-timeout %s: want a positive duration", o.idsQueryTimeout)
	case o.refreshAfter < 0:
		return fmt.Errorf("--refresh-after %s: want 0 (fetch all) or a positive duration such as 20h", o.refreshAfter)
	case o.refreshAfter > 0 && o.databaseURL == "":
		return errors.New("--refresh-after reads the recorded outcomes: set DATABASE_URL or pass --database-url")
	case o.drainTimeout <= 0:
		return fmt.Errorf("--drain-timeout %s: want a positive duration", o.drainTimeout)
	case o.maxRetryAfter <= 0:
		return fmt.Errorf("--max-retry-after %s: want a positive duration such as 5m", o.maxRetryAfter)
	case o.outageTimeout <= 0:
		return fmt.Errorf("--outage-timeout %s: want a positive duration such as 30s", o.outageTimeout)
	case o.lockTimeout <= 0:
		return fmt.Errorf("--lock-timeout %s: want a positive duration such as 10s", o.lockTimeout)
	case o.concurrency < 1 || o.concurrency > 1000:
		return fmt.Errorf("--concurrency %d: want 1 to 1000", o.concurrency)
	case o.rate < 0:
		return fmt.Errorf("--rate %g: want 0 (no limit) or more", o.rate)
	case o.maxAttempts < 1:
		return fmt.Errorf("--max-attempts %d: want 1 or more", o.maxAttempts)
	case o.requestTimeout <= 0:
		return fmt.Errorf("--request-timeout %s: want a positive duration such as 30s", o.requestTimeout)
	case o.backoffBase <= 0 || o.backoffMax < o.backoffBase:
		return fmt.Errorf("--backoff-base %s / --backoff-max %s: want 0 < base <= max", o.backoffBase, o.backoffMax)
	case o.maxResponseBytes < 1024:
		return fmt.Errorf("--max-response-bytes %d: want at least 1024", o.maxResponseBytes)
	case o.batchSize < 1 || o.batchSize > 100000:
		return fmt.Errorf("--batch-size %d: want 1 to 100000", o.batchSize)
	case o.progressInterval < 0:
		return fmt.Errorf("--progress-interval %s: want 0 (off) or a positive duration", o.progressInterval)
	case !o.dryRun && o.databaseURL == "":
		return errors.New("no database: set DATABASE_URL or pass --database-url (or use --dry-run to write nothing)")
	}
	return nil
}

// settings are the run's settings stored in export_runs (never the token).
func (o exportOptions) settings() map[string]any {
	return map[string]any{
		"api_url": o.apiURL, "concurrency": o.concurrency, "rate": o.rate, "max_attempts": o.maxAttempts,
		"request_timeout": o.requestTimeout.String(), "batch_size": o.batchSize, "version": Version,
		"refresh_after": o.refreshAfter.String(), "refresh_limit": o.refreshLimit, "shard": o.shard.String(), "dry_run": o.dryRun,
		"max_retry_after": o.maxRetryAfter.String(), "max_failed": o.maxFailed.String(), "outage_timeout": o.outageTimeout.String(), "lock_timeout": o.lockTimeout.String(),
	}
}

func runExport(c *cli.Context, e *env) (runErr error) {
	ctx := c.Context
	e.jsonLog = c.String(flagLogFormat) == "json"
	o, err := exportOptionsFrom(c, e)
	if err != nil {
		return usageError{err}
	}
	started, reported := time.Now(), false
	defer func() {
		// A run that ended before it started (the token refused, the API or
		// the database unreachable, another export holding the lock) still
		// leaves its summary file, for the orchestrator.
		if reported || o.summaryFile == "" {
			return
		}
		code, msg := exitStatus(runErr)
		r := runOutcome{Shard: o.shard.String(), DryRun: o.dryRun, Status: string(runStatus(code)), ExitStatus: code,
			Error: redact(msg, e.secrets), StartedAt: started, FinishedAt: time.Now(), Counts: countsOf(load.Counts{})}
		if err := writeSummaryFile(o.summaryFile, r); err != nil {
			fmt.Fprintf(e.stderr, "interview-export: %v\n", err)
		}
	}()
	e.secrets = append(e.secrets, o.token, databasePassword(o.databaseURL))
	logOut := &barSafeWriter{w: e.stderr}
	log, runAttrs, err := newLogger(c, logOut, e.secrets...)
	if err != nil {
		return err
	}
	runAttrs.Set(slog.String("shard", o.shard.String()))
	if o.tokenFileWarning != "" {
		log.Warn(o.tokenFileWarning)
	}
	client, err := extract.NewClient(extract.Config{
		BaseURL: o.apiURL, Token: o.token, Concurrency: o.concurrency, Rate: o.rate,
		MaxAttempts: o.maxAttempts, RequestTimeout: o.requestTimeout,
		BackoffBase: o.backoffBase, BackoffMax: o.backoffMax, MaxResponseBytes: o.maxResponseBytes,
		MaxRetryAfter: o.maxRetryAfter, BreakerGiveUp: o.outageTimeout,
		UserAgent: "interview-export/" + Version, Logger: log,
	})
	if err != nil {
		return err
	}

	// The database first: a second export of the same shard must exit 4 at
	// once, before any query or API call. A dry run writes nothing: it only
	// reads, when the source or --refresh-after asks it to, and never migrates.
	var store *load.Store
	switch {
	case !o.dryRun || o.refreshAfter > 0 || (o.updates && o.databaseURL != ""):
		store, err = openStore(ctx, o.databaseURL, o.noMigrate || o.dryRun, log)
	case o.idsQuery != "":
		store, err = connect(ctx, o.databaseURL, 2)
	}
	if err != nil {
		return err
	}
	if store != nil {
		defer store.Close()
	}
	if !o.dryRun {
		release, err := store.LockRun(ctx, o.shard.String())
		if err != nil {
			return fmt.Errorf("shard %s: %w", o.shard, err)
		}
		defer release()
	}
	src, closeSrc, err := openSource(ctx, o, e, client, store, log)
	if err != nil {
		return err
	}
	defer closeSrc()
	scopes := []string{"proposals:read"}
	if o.allJobs {
		scopes = append(scopes, "jobs:read")
	}
	if err := checkToken(ctx, client, o.apiURL, scopes, log); err != nil {
		return err
	}

	var out exporter.BatchWriter = load.JSONLines{W: e.stdout}
	var runID int64
	if !o.dryRun {
		runID, err = store.StartRun(ctx, load.RunStart{Shard: o.shard.String(), Source: src.Describe(), Settings: o.settings()})
		if err != nil {
			return err
		}
		runAttrs.Set(slog.Int64("run_id", runID), slog.String("shard", o.shard.String()))
		w, err := store.NewWriter(ctx, runID, load.WriterOptions{LockTimeout: o.lockTimeout})
		if err != nil {
			return err
		}
		defer w.Close()
		out = w
	}
	opts := exporter.Options{Concurrency: o.concurrency, BatchSize: o.batchSize, Logger: log,
		Shard: o.shard, DrainTimeout: o.drainTimeout, Feed: o.updates,
		RefreshAfter: o.refreshAfter, RefreshLimit: o.refreshLimit}
	if o.refreshAfter > 0 {
		opts.Recorded = store
	}
	run := exporter.New(src, client, out, opts)
	log.Info("export started", "run_id", runID, "source", src.Describe(), "shard", o.shard.String(), "api_url", o.apiURL,
		"concurrency", o.concurrency, "rate", o.rate, "refresh_after", o.refreshAfter.String(), "dry_run", o.dryRun)
	stopProgress := startProgress(ctx, e.stderr, logOut, src, run, o.progressInterval, log)
	// The first signal: say what happens now, and how to quit at once.
	defer context.AfterFunc(ctx, func() {
		log.Warn(fmt.Sprintf("%v: stopping; press Ctrl-C again to quit now", context.Cause(ctx)),
			"requests_in_flight", run.InFlight(), "drain_deadline", time.Now().Add(o.drainTimeout).UTC().Format(time.RFC3339))
	})()
	if runID != 0 {
		// A second signal quits at once: the run is recorded 'interrupted'
		// if the database answers within a second.
		defer onAbort(func(sig os.Signal) {
			ctx, cancel := context.WithTimeout(context.Background(), time.Second)
			defer cancel()
			code, _ := exitStatus(SignalError{Signal: sig})
			store.FinishRun(ctx, runID, load.RunInterrupted, "a second signal: stopped at once, in-flight work rolled back", code, run.Progress())
		})()
	}
	counts, runErr := run.Execute(ctx)
	stopProgress()
	reported = true

	var sig SignalError
	switch {
	case errors.As(context.Cause(ctx), &sig):
		runErr = sig // interrupted: the drain committed what was received
	case runErr == nil && counts.Failed > 0:
		runErr = errSomeFailed
	}
	code, msg := exitStatus(runErr)
	status := runStatus(code)
	if errors.Is(runErr, errSomeFailed) && o.maxFailed.allows(counts) {
		// The run stays 'partial'; the exit status carries the policy.
		code, runErr = ExitOK, nil
		log.Info("failures within --max-failed: exit status 0", "failed", counts.Failed, "max_failed", o.maxFailed.String())
	}
	if runID != 0 {
		errText := ""
		if code != ExitOK && code != ExitFailures {
			errText = msg
		}
		// The summary is what the run's row says, so the two cannot disagree.
		stored, err := store.FinishRun(context.WithoutCancel(ctx), runID, status, redact(errText, e.secrets), code, counts)
		if err != nil {
			log.Error("could not record the end of the run", "error", err)
		} else {
			stored.Duration = counts.Duration
			counts = stored
		}
	}
	quota, announced := client.Quota()
	rateAttrs := []any{"rate_per_s", counts.RequestRate, "learned_quota_per_s", quota, "announced_by_api", announced}
	if counts.RequestRate == 0 {
		rateAttrs[1] = "unlimited"
	}
	log.Info("request rate settled", rateAttrs...)
	finished := time.Now()
	outcome := runOutcome{RunID: runID, Shard: o.shard.String(), Source: src.Describe(), DryRun: o.dryRun, Status: string(status),
		ExitStatus: code, StartedAt: finished.Add(-counts.Duration), FinishedAt: finished, Counts: countsOf(counts)}
	if code != ExitOK && code != ExitFailures {
		outcome.Error = redact(msg, e.secrets)
	}
	if counts.Failed > 0 && runID != 0 {
		outcome.FailuresQuery = fmt.Sprintf("SELECT proposal_id, error_code, http_status, message FROM export_failures WHERE run_id = %d;", runID)
	}
	e.reportOutcome(ctx, o, store, outcome, log)
	if e.jsonLog {
		logFinished(log, outcome)
	} else {
		printSummary(e.stderr, runID, status, counts)
	}
	return runErr
}

// reportOutcome writes the summary file and the metrics of a finished run.
// A failure to write them is logged, and does not change the exit status.
func (e *env) reportOutcome(ctx context.Context, o exportOptions, store *load.Store, r runOutcome, log *slog.Logger) {
	if o.summaryFile != "" {
		if err := writeSummaryFile(o.summaryFile, r); err != nil {
			log.Error("could not write the summary file", "error", err)
		}
	}
	if o.metricsTextfile == "" && o.pushgatewayURL == "" {
		return
	}
	// As export_runs has it (this run included, when it exited 0).
	var lastSuccess time.Time
	switch {
	case store != nil && r.RunID != 0:
		var err error
		if lastSuccess, err = store.LastSuccess(context.WithoutCancel(ctx), r.Shard); err != nil {
			log.Warn("could not read the last successful run for the metrics", "error", err)
		}
	case r.ExitStatus == ExitOK:
		lastSuccess = r.FinishedAt // a dry run: nothing recorded
	}
	if err := publishMetrics(ctx, o.metricsTextfile, o.pushgatewayURL, r, lastSuccess); err != nil {
		log.Error("could not publish the metrics", "error", err)
	}
}

// openSource opens the one source of proposal IDs the options name.
func openSource(ctx context.Context, o exportOptions, e *env, client *extract.Client, store *load.Store, log *slog.Logger) (exporter.Source, func(), error) {
	switch {
	case o.idsQuery != "":
		src, err := extract.OpenQuerySource(ctx, store, o.idsQuery, o.idsQueryTimeout)
		if err != nil {
			return nil, nil, err
		}
		rows, nulls, blanks := src.Rows()
		log.Info("--ids-query returned its IDs", "rows", rows, "null_rows_skipped", nulls, "empty_rows_skipped", blanks)
		return src, func() { src.Close() }, nil
	case len(o.jobs) > 0 || o.allJobs:
		return &extract.JobsSource{Client: client, Jobs: o.jobs, All: o.allJobs}, func() {}, nil
	case o.updates:
		src := &extract.UpdatesSource{Client: client, FromStart: true}
		if store != nil {
			after, ok, err := store.FeedCursor(ctx, o.shard.String())
			if err != nil {
				return nil, nil, err
			}
			src.After, src.FromStart = after, !ok
			if src.Retry, err = store.PendingFailures(ctx); err != nil {
				return nil, nil, err
			}
		}
		log.Info("reading the change feed", "cursor", src.After, "from_start", src.FromStart, "failed_before", len(src.Retry))
		return src, func() {}, nil
	}
	src, err := extract.OpenFileSource(o.idsFile, e.stdin)
	if err != nil {
		return nil, nil, usageError{err}
	}
	return src, func() { src.Close() }, nil
}

// checkToken makes a bad token or a missing scope fail before the first
// transcript, in a second, with a clear message.
func checkToken(ctx context.Context, client *extract.Client, apiURL string, scopes []string, log *slog.Logger) error {
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
		fmt.Fprintf(w, "failures: SELECT proposal_id, error_code, http_status, message FROM export_failures WHERE run_id = %d;\n", runID)
	}
}
