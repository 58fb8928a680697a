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

	"github.com/schollz/progressbar/v3"
	"github.com/urfave/cli/v2"
	"golang.org/x/term"

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
	refreshAfter     time.Duration
	shard            exporter.Shard
	drainTimeout     time.Duration
}

func exportOptionsFrom(c *cli.Context, e *env) (exportOptions, error) {
	o := exportOptions{
		apiURL:           c.String(flagAPIURL),
		databaseURL:      c.String(flagDatabaseURL),
		idsFile:          c.String(flagIDsFile),
		concurrency:      c.Int(flagConcurrency),
		rate:             c.Float64(flagRate),
		maxAttempts:      c.Int(flagMaxAttempts),
		requestTimeout:   c.Duration(flagRequestTimeout),
		backoffBase:      c.Duration(flagBackoffBase),
		backoffMax:       c.Duration(flagBackoffMax),
		maxResponseBytes: c.Int64(flagMaxResponseBytes),
		batchSize:        c.Int(flagBatchSize),
		progressInterval: c.Duration(flagProgressInterval),
		noMigrate:        c.Bool(flagNoMigrate),
		dryRun:           c.Bool(flagDryRun),
		idsQuery:         c.String(flagIDsQuery),
		idsQueryTimeout:  c.Duration(flagIDsQueryTimeout),
		jobs:             c.StringSlice(flagJob),
		allJobs:          c.Bool(flagAllJobs),
		refreshAfter:     c.Duration(flagRefreshAfter),
		drainTimeout:     c.Duration(flagDrainTimeout),
	}
	if c.Args().Len() > 0 {
		return o, fmt.Errorf("unexpected argument %q: proposal IDs come from --ids-file, --ids-query, --job or --all-jobs", c.Args().First())
	}
	shard, err := exporter.ParseShard(c.String(flagShard))
	if err != nil {
		return o, err
	}
	o.shard = shard
	token, err := readToken(c.String(flagTokenFile), e.getenv)
	if err != nil {
		return o, err
	}
	o.token = token
	return o, o.validate()
}

// readToken returns the API token from the token file, else OT_API_TOKEN.
func readToken(path string, getenv func(string) string) (string, error) {
	if path != "" {
		raw, err := os.ReadFile(path)
		if err != nil {
			return "", fmt.Errorf("read --token-file: %w", err)
		}
		token := strings.TrimSpace(string(raw))
		if token == "" || strings.ContainsAny(token, " \t\r\n") {
			return "", fmt.Errorf("--token-file %s: want the token alone on one line", path)
		}
		return token, nil
	}
	if token := strings.TrimSpace(getenv("OT_API_TOKEN")); token != "" {
		return token, nil
	}
	return "", errors.New("no API token: set OT_API_TOKEN or pass --token-file FILE (a token needs the proposals:read scope)")
}

func (o exportOptions) validate() error {
	sources := 0
	for _, set := range []bool{o.idsFile != "", o.idsQuery != "", len(o.jobs) > 0, o.allJobs} {
		if set {
			sources++
		}
	}
	switch {
	case sources == 0:
		return errors.New("no proposal IDs: pass one of --ids-file PATH (- for standard input), --ids-query SQL, --job ID or --all-jobs")
	case sources > 1:
		return errors.New("proposal IDs come from exactly one source: pass only one of --ids-file, --ids-query, --job (repeatable) or --all-jobs")
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
		"refresh_after": o.refreshAfter.String(), "shard": o.shard.String(), "dry_run": o.dryRun,
	}
}

func runExport(c *cli.Context, e *env) error {
	ctx := c.Context
	o, err := exportOptionsFrom(c, e)
	if err != nil {
		return usageError{err}
	}
	log, err := newLogger(c, e.stderr, o.token)
	if err != nil {
		return err
	}
	client, err := extract.NewClient(extract.Config{
		BaseURL: o.apiURL, Token: o.token, Concurrency: o.concurrency, Gate: extract.NewGate(o.rate),
		MaxAttempts: o.maxAttempts, RequestTimeout: o.requestTimeout,
		BackoffBase: o.backoffBase, BackoffMax: o.backoffMax, MaxResponseBytes: o.maxResponseBytes,
		UserAgent: "interview-export/" + Version, Logger: log,
	})
	if err != nil {
		return usageError{err}
	}

	// The database first: a second export of the same shard must exit 4 at
	// once, before any query or API call.
	var store *load.Store
	var runID int64
	if !o.dryRun || o.refreshAfter > 0 {
		// A dry run only reads (recorded outcomes): it never migrates.
		store, err = openStore(ctx, o.databaseURL, o.noMigrate || o.dryRun, log)
		if err != nil {
			return err
		}
		defer store.Close()
	}
	if !o.dryRun {
		release, err := store.LockRun(ctx, o.shard.String())
		if errors.Is(err, load.ErrLocked) {
			return exitError{code: ExitLocked, err: fmt.Errorf("%w (shard %s): wait for it to finish (a killed run releases its lock at once)", err, o.shard)}
		}
		if err != nil {
			return usageError{err}
		}
		defer release()
	}
	src, closeSrc, err := openSource(ctx, o, e, client, log)
	if err != nil {
		return usageError{err}
	}
	defer closeSrc()
	scopes := []string{"proposals:read"}
	if o.allJobs {
		scopes = append(scopes, "jobs:read")
	}
	if err := checkToken(ctx, client, o.apiURL, scopes, log); err != nil {
		return err
	}

	var out exporter.BatchWriter = exporter.JSONLines{W: e.stdout}
	if !o.dryRun {
		runID, err = store.StartRun(ctx, load.RunStart{Shard: o.shard.String(), Source: src.Describe(), Settings: o.settings()})
		if err != nil {
			return err
		}
		w, err := store.NewWriter(ctx, runID)
		if err != nil {
			return err
		}
		defer w.Close()
		out = w
	}
	opts := exporter.Options{Concurrency: o.concurrency, BatchSize: o.batchSize, Logger: log,
		Shard: o.shard, DrainTimeout: o.drainTimeout}
	if o.refreshAfter > 0 {
		opts.Fresh = freshness{store: store, maxAge: o.refreshAfter}
	}
	run := exporter.New(src, client, out, opts)
	log.Info("export started", "run_id", runID, "source", src.Describe(), "shard", o.shard.String(), "api_url", o.apiURL,
		"concurrency", o.concurrency, "rate", o.rate, "refresh_after", o.refreshAfter.String(), "dry_run", o.dryRun)
	stopProgress := startProgress(ctx, e.stderr, src, run, o.progressInterval, log)
	sum, runErr := run.Execute(ctx)
	stopProgress()

	status, code := load.RunSucceeded, ExitOK
	var fe *extract.FetchError
	switch sig, interrupted := interruptCode(ctx); {
	case interrupted:
		status, code = load.RunInterrupted, sig
	case runErr != nil && errors.Is(runErr, extract.ErrUnauthorized):
		status, code = load.RunFailed, ExitUsage
	case runErr != nil && errors.As(runErr, &fe) && fe.HTTPStatus >= 400 && fe.HTTPStatus < 500:
		status, code = load.RunFailed, ExitUsage // discovery refused: a wrong job ID or a missing scope
	case runErr != nil:
		status, code = load.RunFailed, ExitRunFailed
	case sum.Failed > 0:
		status, code = load.RunPartial, ExitFailures
	}
	errText := ""
	if runErr != nil && code != ExitInterrupted && code != ExitTerminated {
		errText = runErr.Error()
	}
	if store != nil && runID != 0 {
		if _, err := store.FinishRun(context.WithoutCancel(ctx), runID, status, errText); err != nil {
			log.Error("could not record the end of the run", "run_id", runID, "error", err)
		}
	}
	printSummary(e.stderr, runID, status, sum)
	if code == ExitOK || code == ExitFailures {
		return exitError{code: code}
	}
	if code == ExitInterrupted || code == ExitTerminated {
		return exitError{code: code, err: fmt.Errorf("%v: committed work is kept; run again to finish", context.Cause(ctx))}
	}
	return exitError{code: code, err: runErr}
}

// openSource opens the one source of proposal IDs the options name.
func openSource(ctx context.Context, o exportOptions, e *env, client *extract.Client, log *slog.Logger) (exporter.Source, func(), error) {
	switch {
	case o.idsQuery != "":
		src, err := extract.OpenQuerySource(ctx, o.databaseURL, o.idsQuery, o.idsQueryTimeout)
		if err != nil {
			return nil, nil, err
		}
		rows, nulls := src.Rows()
		log.Info("--ids-query returned its IDs", "rows", rows, "null_rows_skipped", nulls)
		return src, func() { src.Close() }, nil
	case len(o.jobs) > 0 || o.allJobs:
		return &extract.JobsSource{Client: client, Jobs: o.jobs, All: o.allJobs}, func() {}, nil
	}
	src, err := extract.OpenFileSource(o.idsFile, e.stdin)
	if err != nil {
		return nil, nil, err
	}
	return src, func() { src.Close() }, nil
}

// freshness answers --refresh-after from the interviews table.
type freshness struct {
	store  *load.Store
	maxAge time.Duration
}

func (f freshness) Fresh(ctx context.Context, ids []string) (map[string]bool, error) {
	return f.store.RecentlyFetched(ctx, ids, f.maxAge)
}

// connect opens the database of every command, or says what to check.
func connect(ctx context.Context, url string, maxConns int32) (*load.Store, error) {
	if url == "" {
		return nil, usageError{errors.New("no database: set DATABASE_URL or pass --database-url")}
	}
	store, err := load.Open(ctx, url, maxConns)
	if err != nil {
		return nil, usageError{fmt.Errorf("%w (is PostgreSQL running, and is DATABASE_URL right?)", err)}
	}
	return store, nil
}

// openStore connects, then applies or checks the schema.
func openStore(ctx context.Context, url string, noMigrate bool, log *slog.Logger) (*load.Store, error) {
	store, err := connect(ctx, url, 4)
	if err != nil {
		return nil, err
	}
	if noMigrate {
		cur, latest, err := store.SchemaVersion(ctx)
		if err == nil && cur != latest {
			err = fmt.Errorf("the database schema is at version %d but this binary needs %d: run 'interview-export migrate' or drop --no-migrate", cur, latest)
		}
		if err != nil {
			store.Close()
			return nil, usageError{err}
		}
		return store, nil
	}
	n, err := store.Migrate(ctx)
	if err != nil {
		store.Close()
		return nil, usageError{err}
	}
	if n > 0 {
		log.Info("applied migrations", "count", n)
	}
	return store, nil
}

// checkToken makes a bad token or a missing scope fail before the first
// transcript, in a second, with a clear message.
func checkToken(ctx context.Context, client *extract.Client, apiURL string, scopes []string, log *slog.Logger) error {
	id, err := client.CheckToken(ctx, scopes...)
	switch {
	case err == nil:
		log.Debug("token accepted", "scopes", strings.Join(id.Scopes, " "))
		return nil
	case ctx.Err() != nil:
		if code, ok := interruptCode(ctx); ok {
			return exitError{code: code, err: context.Cause(ctx)}
		}
		return ctx.Err()
	case errors.Is(err, extract.ErrUnauthorized), errors.Is(err, extract.ErrScopeMissing):
		return usageError{err}
	}
	return usageError{fmt.Errorf("%w (is OT_API_URL %s right and reachable?)", err, apiURL)}
}

// startProgress shows the run's progress until stop is called: a progress
// bar when stderr is a terminal, else a log line every interval.
func startProgress(ctx context.Context, stderr io.Writer, src exporter.Source, run *exporter.Run, every time.Duration, log *slog.Logger) (stop func()) {
	if f, ok := stderr.(*os.File); ok && term.IsTerminal(int(f.Fd())) && every > 0 {
		total := int64(-1)
		if c, ok := src.(exporter.Counted); ok {
			total = c.Total()
		}
		return progressBar(ctx, f, total, run)
	}
	return reportProgress(ctx, run, every, log)
}

// progressBar draws done / total, rate, ETA and failures on a terminal.
func progressBar(ctx context.Context, w io.Writer, total int64, run *exporter.Run) (stop func()) {
	bar := progressbar.NewOptions64(total,
		progressbar.OptionSetWriter(w),
		progressbar.OptionSetDescription("exporting"),
		progressbar.OptionShowCount(),
		progressbar.OptionShowIts(),
		progressbar.OptionSetItsString("IDs"),
		progressbar.OptionSetPredictTime(true),
		progressbar.OptionSetWidth(30),
		progressbar.OptionThrottle(200*time.Millisecond),
		progressbar.OptionSpinnerType(14),
		progressbar.OptionClearOnFinish(),
	)
	done := make(chan struct{})
	finished := make(chan struct{})
	update := func() {
		p := run.Progress()
		bar.Describe(fmt.Sprintf("exporting (%d failed, %d skipped)", p.Failed, p.Skipped))
		bar.Set64(p.Handled())
	}
	go func() {
		defer close(finished)
		t := time.NewTicker(250 * time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-done:
				update()
				bar.Finish()
				return
			case <-t.C:
				update()
			}
		}
	}()
	return func() { close(done); <-finished }
}

// reportProgress logs a progress line every interval until stop is called.
func reportProgress(ctx context.Context, run *exporter.Run, every time.Duration, log *slog.Logger) (stop func()) {
	if every <= 0 {
		return func() {}
	}
	done := make(chan struct{})
	finished := make(chan struct{})
	start := time.Now()
	go func() {
		defer close(finished)
		t := time.NewTicker(every)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-ctx.Done():
				return
			case <-t.C:
				p := run.Progress()
				log.Info("progress", "read", p.Read, "skipped", p.Skipped, "fetched", p.Received, "failed", p.Failed,
					"committed", p.Done, "per_second", fmt.Sprintf("%.1f", float64(p.Received)/time.Since(start).Seconds()))
			}
		}
	}()
	return func() { close(done); <-finished }
}

func printSummary(w io.Writer, runID int64, status load.RunStatus, s exporter.Summary) {
	run := "dry run"
	if runID != 0 {
		run = fmt.Sprintf("run %d", runID)
	}
	fmt.Fprintf(w, "export %s %s in %s: %d IDs read (%d duplicate, %d skipped as fresh), %d available, %d no interview, %d failed",
		run, status, s.Duration.Round(time.Millisecond), s.IDsRead, s.Duplicates, s.Skipped, s.Available, s.NoInterview, s.Failed)
	if len(s.FailedByCode) > 0 {
		codes := make([]string, 0, len(s.FailedByCode))
		for c, n := range s.FailedByCode {
			codes = append(codes, fmt.Sprintf("%s %d", c, n))
		}
		sort.Strings(codes)
		fmt.Fprintf(w, " (%s)", strings.Join(codes, ", "))
	}
	fmt.Fprintf(w, "; %d interviews changed, %d messages written, %d deleted; %d requests, %d retries, %d rate-limited; %.1f proposals/s\n",
		s.InterviewsChanged, s.MessagesWritten, s.MessagesDeleted, s.Requests, s.Retries, s.RateLimited, s.PerSecond())
	if s.Failed > 0 && runID != 0 {
		fmt.Fprintf(w, "failures: SELECT proposal_id, error_code, http_status, message FROM export_failures WHERE run_id = %d;\n", runID)
	}
}

func runMigrate(c *cli.Context, e *env) error {
	if c.Args().Len() > 0 {
		return usageError{fmt.Errorf("unexpected argument %q", c.Args().First())}
	}
	log, err := newLogger(c, e.stderr, "")
	if err != nil {
		return err
	}
	store, err := connect(c.Context, c.String(flagDatabaseURL), 2)
	if err != nil {
		return err
	}
	defer store.Close()
	n, err := store.Migrate(c.Context)
	if err != nil {
		return err
	}
	cur, _, err := store.SchemaVersion(c.Context)
	if err != nil {
		return err
	}
	log.Info("migrations applied", "applied", n, "schema_version", cur)
	fmt.Fprintf(e.stdout, "applied %d migration(s); schema version %d\n", n, cur)
	return nil
}
