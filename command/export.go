package command

import (
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"
	"unicode"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/urfave/cli/v2"

	"github.com/interview-export/interview-export/extract"
	"github.com/interview-export/interview-export/internal/setting"
	"github.com/interview-export/interview-export/load"
	"github.com/interview-export/interview-export/pipeline"
)

// exportOptions are the validated settings of an export: the library
// packages' own configurations, and what only the command line knows.
type exportOptions struct {
	client extract.Config
	run    pipeline.Options
	writer load.WriterOptions
	source sourceOptions

	databaseURL      string
	noMigrate        bool
	dryRun           bool
	progressInterval time.Duration
	maxFailed        maxFailed
	summaryFile      string
	metricsTextfile  string
	pushgatewayURL   string
	// The Pushgateway's basic auth, from --pushgateway-credentials-file.
	pushgatewayUser, pushgatewayPassword string
	// tokenFileWarning is set when the token file is readable by others.
	tokenFileWarning string
}

// sourceOptions name the one source of proposal IDs.
type sourceOptions struct {
	idsFile         string
	idsQuery        string
	idsQueryTimeout time.Duration
	jobs            []string
	allJobs         bool
	updates         bool
}

// exportOptionsFrom maps the flags onto the options, reads the secrets and
// validates the whole; each library configuration checks its own ranges.
func exportOptionsFrom(c *cli.Context, e *env) (exportOptions, error) {
	o, err := mapExportOptions(c, e)
	if err != nil {
		return o, err
	}
	if o.client.Token, o.tokenFileWarning, err = readToken(c.String(flagTokenFile), e.getenv); err != nil {
		return o, err
	}
	if o.pushgatewayUser, o.pushgatewayPassword, err = readCredentials(c.String(flagPushgatewayCredentials)); err != nil {
		return o, err
	}
	e.secrets = append(e.secrets, o.client.Token, databasePassword(o.databaseURL), o.pushgatewayPassword, urlPassword(o.pushgatewayURL))
	return o, o.validate()
}

// mapExportOptions maps the flags onto the options, without the secrets
// and without validating them.
func mapExportOptions(c *cli.Context, e *env) (exportOptions, error) {
	o := exportOptions{
		client: extract.Config{
			BaseURL: c.String(flagAPIURL), Concurrency: c.Int(flagConcurrency), Rate: c.Float64(flagRate),
			MaxAttempts: c.Int(flagMaxAttempts), RequestTimeout: durationOf(c, flagRequestTimeout),
			BackoffBase: durationOf(c, flagBackoffBase), BackoffMax: durationOf(c, flagBackoffMax),
			MaxResponseBytes: c.Int64(flagMaxResponseBytes), MaxRetryAfter: durationOf(c, flagMaxRetryAfter),
			OutageTimeout: durationOf(c, flagOutageTimeout), UserAgent: "interview-export/" + Version,
		},
		run: pipeline.Options{
			Concurrency: c.Int(flagConcurrency), BatchSize: c.Int(flagBatchSize), DrainTimeout: durationOf(c, flagDrainTimeout),
			RefreshAfter: durationOf(c, flagRefreshAfter), RefreshLimit: c.Int64(flagRefreshLimit), Feed: c.Bool(flagUpdates),
		},
		writer: load.WriterOptions{LockTimeout: durationOf(c, flagLockTimeout), RecheckAfter: durationOf(c, flagRecheckAfter)},
		source: sourceOptions{
			idsFile: c.String(flagIDsFile), idsQuery: c.String(flagIDsQuery), idsQueryTimeout: durationOf(c, flagIDsQueryTimeout),
			jobs: c.StringSlice(flagJob), allJobs: c.Bool(flagAllJobs), updates: c.Bool(flagUpdates),
		},
		databaseURL:      e.databaseURL(c),
		noMigrate:        c.Bool(flagNoMigrate),
		dryRun:           c.Bool(flagDryRun),
		progressInterval: durationOf(c, flagProgressInterval),
		summaryFile:      c.String(flagSummaryFile),
		metricsTextfile:  c.String(flagMetricsTextfile),
		pushgatewayURL:   c.String(flagPushgatewayURL),
	}
	if c.Args().Len() > 0 {
		return o, fmt.Errorf("unexpected argument %q: proposal IDs come from --ids-file, --ids-query, --job, --all-jobs or --updates", c.Args().First())
	}
	var err error
	if o.maxFailed, err = parseMaxFailed(c.String(flagMaxFailed)); err != nil {
		return o, err
	}
	if o.run.Shard, err = pipeline.ParseShard(c.String(flagShard)); err != nil {
		return o, fmt.Errorf("--%w", err)
	}
	if o.run.Shard.Count > 1 {
		// The API's operators (and the fake's Retry-After check) can tell
		// the shards of one run apart.
		o.client.UserAgent += " (shard " + o.run.Shard.String() + ")"
	}
	return o, nil
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
	if err := o.source.validate(o.databaseURL); err != nil {
		return err
	}
	switch {
	case o.run.RefreshLimit > 0 && o.run.RefreshAfter == 0:
		return errors.New("--refresh-limit bounds the refetches of --refresh-after: pass --refresh-after too, e.g. --refresh-after 7d --refresh-limit 10000")
	case o.run.RefreshAfter > 0 && o.databaseURL == "":
		return errors.New("--refresh-after reads the recorded outcomes: set DATABASE_URL or pass --database-url")
	case o.progressInterval < 0:
		return fmt.Errorf("--progress-interval %s: want 0 (off) or a positive duration", o.progressInterval)
	case !o.dryRun && o.databaseURL == "":
		return errors.New("no database: set DATABASE_URL or pass --database-url (or use --dry-run to write nothing)")
	}
	for flag, path := range map[string]string{flagSummaryFile: o.summaryFile, flagMetricsTextfile: o.metricsTextfile} {
		if err := checkOutputPath(flag, path); err != nil {
			return err
		}
	}
	for _, err := range []error{o.client.Validate(), o.run.Validate(), o.writer.Validate()} {
		if err != nil {
			return flagError(err)
		}
	}
	return nil
}

func (s sourceOptions) validate(databaseURL string) error {
	sources := 0
	for _, set := range []bool{s.idsFile != "", s.idsQuery != "", len(s.jobs) > 0, s.allJobs, s.updates} {
		if set {
			sources++
		}
	}
	switch {
	case sources == 0:
		return errors.New("no proposal IDs: pass one of --ids-file PATH (- for standard input), --ids-query SQL, --job ID, --all-jobs or --updates")
	case sources > 1:
		return errors.New("proposal IDs come from exactly one source: pass only one of --ids-file, --ids-query, --job (repeatable), --all-jobs or --updates")
	case s.updates && databaseURL == "":
		return errors.New("--updates keeps its cursor in the database: set DATABASE_URL or pass --database-url")
	case s.idsQuery != "" && databaseURL == "":
		return errors.New("--ids-query runs against the database: set DATABASE_URL or pass --database-url")
	case s.idsQueryTimeout <= 0:
		return fmt.Errorf("--ids-query-timeout %s: want a positive duration", s.idsQueryTimeout)
	}
	return nil
}

// checkOutputPath makes sure a file can be written at path before any work
// is done: its folder exists and takes a new file.
func checkOutputPath(flag, path string) error {
	if path == "" {
		return nil
	}
	dir := filepath.Dir(path)
	f, err := os.CreateTemp(dir, ".interview-export-check-*")
	if err != nil {
		return fmt.Errorf("--%s %s: cannot write in %s: %w (create the folder or fix its permissions)", flag, path, dir, errors.Unwrap(err))
	}
	f.Close()
	return os.Remove(f.Name())
}

// readCredentials reads "user:password" from path ("" for none).
func readCredentials(path string) (user, password string, err error) {
	if path == "" {
		return "", "", nil
	}
	raw, err := os.ReadFile(path)
	if err != nil {
		return "", "", fmt.Errorf("read --pushgateway-credentials-file: %w", err)
	}
	user, password, ok := strings.Cut(strings.TrimSpace(string(raw)), ":")
	if !ok || user == "" {
		return "", "", fmt.Errorf("--pushgateway-credentials-file %s: want user:password on one line", path)
	}
	return user, password, nil
}

// urlPassword is the password in u's userinfo, "" when none.
func urlPassword(u string) string {
	parsed, err := url.Parse(u)
	if err != nil || parsed.User == nil {
		return ""
	}
	p, _ := parsed.User.Password()
	return p
}

// flagError names a library's setting out of range by its flag: the field
// RequestTimeout is --request-timeout.
func flagError(err error) error {
	var se *setting.Error
	if !errors.As(err, &se) {
		return err
	}
	var flag strings.Builder
	for i, r := range se.Name {
		if unicode.IsUpper(r) && i > 0 {
			flag.WriteByte('-')
		}
		flag.WriteRune(unicode.ToLower(r))
	}
	return fmt.Errorf("--%s %v: want %s", flag.String(), se.Value, se.Want)
}

// settings are the run's settings stored in export_runs (never the token).
func (o exportOptions) settings() map[string]any {
	return map[string]any{
		"api_url": o.client.BaseURL, "concurrency": o.client.Concurrency, "rate": o.client.Rate, "max_attempts": o.client.MaxAttempts,
		"request_timeout": o.client.RequestTimeout.String(), "batch_size": o.run.BatchSize, "version": Version,
		"refresh_after": o.run.RefreshAfter.String(), "refresh_limit": o.run.RefreshLimit, "shard": o.run.Shard.String(), "dry_run": o.dryRun,
		"max_retry_after": o.client.MaxRetryAfter.String(), "max_failed": o.maxFailed.String(),
		"outage_timeout": o.client.OutageTimeout.String(), "lock_timeout": o.writer.LockTimeout.String(),
		"recheck_after": o.writer.RecheckAfter.String(),
	}
}
