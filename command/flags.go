package command

import (
	"fmt"
	"maps"
	"os"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/urfave/cli/v2"
	"go.yaml.in/yaml/v3"

	"github.com/interview-export/interview-export/exit"
	"github.com/interview-export/interview-export/export"
	"github.com/interview-export/interview-export/extract"
	"github.com/interview-export/interview-export/load"
	"github.com/interview-export/interview-export/pipeline"
)

// Flag names used in more than one place; the YAML file given with
// --config takes every flag name as a key. The export flags are each
// declared once, in exportFlags, bound to where their value goes.
const (
	flagConfig      = "config"
	flagDatabaseURL = "database-url"
	flagLogLevel    = "log-level"
	flagLogFormat   = "log-format"
	flagAPIURL      = "api-url"
	flagTokenFile   = "token-file"
	flagShard       = "shard"
)

// DefaultAPIURL is the OpenTrain public API base.
const DefaultAPIURL = "https://app.opentrain.ai/api/public/v1"

// envName is the environment variable of a flag without a contract-fixed one.
func envName(flag string) string {
	return "INTERVIEW_EXPORT_" + strings.ToUpper(strings.ReplaceAll(flag, "-", "_"))
}

// Flag categories of export's --help.
const (
	catSource    = "Sources of proposal IDs (exactly one)"
	catPace      = "Pace and retries"
	catSelection = "Selection"
	catOutput    = "Output, logs and metrics"
	catDatabase  = "Database"
	catFollow    = "Following the feed (export --updates --follow)"
	catPrivacy   = "Candidates' data (docs/privacy.md)"
)

func commonFlags() []cli.Flag {
	return []cli.Flag{
		&cli.PathFlag{Name: flagConfig, Category: catDatabase, Usage: "read settings from this YAML `FILE` (keys are the flag names; see config.example.yaml)", EnvVars: []string{envName(flagConfig)}},
		&cli.StringFlag{Name: flagDatabaseURL, Category: catDatabase, Usage: "PostgreSQL libpq `URL` or key=value DSN", EnvVars: []string{"DATABASE_URL"}},
		&cli.StringFlag{Name: flagLogLevel, Category: catOutput, Value: "info", Usage: "debug, info, warn or error", EnvVars: []string{envName(flagLogLevel)}},
		&cli.StringFlag{Name: flagLogFormat, Category: catOutput, Value: "text", Usage: "text or json (log lines on stderr)", EnvVars: []string{envName(flagLogFormat)}},
	}
}

// exportFlags are export's flags (and check's), each bound to the field of
// a that it sets: the one place a flag is declared.
func exportFlags(a *exportArgs) []cli.Flag {
	o, cl, run := &a.o, &a.o.Client, &a.o.Run
	return slices.Concat(commonFlags(), []cli.Flag{
		&cli.StringFlag{Name: "ids-file", Category: catSource, Destination: &o.Source.IDsFile, Usage: "source: proposal IDs, one per line, from `PATH` (- for standard input)", EnvVars: []string{envName("ids-file")}},
		&cli.StringFlag{Name: "ids-column", Category: catSource, Destination: &o.Source.IDsColumn, Usage: "read --ids-file as CSV (RFC 4180, a header row first) and take the IDs from its column `NAME`", EnvVars: []string{envName("ids-column")}},
		&cli.StringFlag{Name: "ids-query", Category: catSource, Destination: &o.Source.IDsQuery, Usage: "source: the first column of this `SQL` query, run read-only against the database", EnvVars: []string{envName("ids-query")}},
		durationFlag("ids-query-timeout", catSource, &o.Source.IDsQueryTimeout, 5*time.Minute, "statement timeout of --ids-query"),
		&cli.StringSliceFlag{Name: "job", Category: catSource, Destination: &a.jobs, Usage: "source: the proposals of job `ID` (repeatable), listed through the API", EnvVars: []string{envName("job")}},
		&cli.BoolFlag{Name: "all-jobs", Category: catSource, Destination: &o.Source.AllJobs, Usage: "source: the proposals of every job of the account (GET /jobs/mine; needs jobs:read)", EnvVars: []string{envName("all-jobs")}},
		&cli.BoolFlag{Name: "updates", Category: catSource, Destination: &o.Source.Updates, Usage: "source: the change feed (GET /updates) from the cursor stored for this shard, and the IDs that failed before; the first run reads the whole history", EnvVars: []string{envName("updates")}},

		&cli.StringFlag{Name: flagAPIURL, Category: catPace, Destination: &cl.BaseURL, Value: DefaultAPIURL, Usage: "OpenTrain public API base `URL`", EnvVars: []string{"OT_API_URL"}},
		&cli.PathFlag{Name: flagTokenFile, Category: catPace, Destination: &a.tokenFile, Usage: "read the API token from `FILE` (else from OT_API_TOKEN; never a flag value)", EnvVars: []string{envName(flagTokenFile)}},
		&cli.IntFlag{Name: "concurrency", Category: catPace, Destination: &cl.Concurrency, Value: extract.DefaultConcurrency, Usage: fmt.Sprintf("requests in flight at most (1 to %d; 0: the default)", extract.MaxConcurrency), EnvVars: []string{envName("concurrency")}},
		&cli.Float64Flag{Name: "rate", Category: catPace, Destination: &cl.Rate, Value: extract.DefaultRate, Usage: "requests per second across the run (0: no limit until the API answers 429)", EnvVars: []string{envName("rate")}},
		&cli.IntFlag{Name: "max-attempts", Category: catPace, Destination: &cl.MaxAttempts, Value: extract.DefaultMaxAttempts, Usage: "tries per proposal, the first included (429s do not count)", EnvVars: []string{envName("max-attempts")}},
		durationFlag("request-timeout", catPace, &cl.RequestTimeout, extract.DefaultRequestTimeout, "time limit of one attempt, body included"),
		durationFlag("backoff-base", catPace, &cl.BackoffBase, extract.DefaultBackoffBase, "first retry delay ceiling; doubles per retry (full jitter)"),
		durationFlag("backoff-max", catPace, &cl.BackoffMax, extract.DefaultBackoffMax, "largest retry delay"),
		&cli.Int64Flag{Name: "max-response-bytes", Category: catPace, Destination: &cl.MaxResponseBytes, Value: extract.DefaultMaxResponseBytes, Usage: "largest transcript body accepted, in bytes", EnvVars: []string{envName("max-response-bytes")}},
		durationFlag("max-retry-after", catPace, &cl.MaxRetryAfter, extract.DefaultMaxRetryAfter, "a 429 asking to wait longer than this stops the run with exit status 75 (try again later)"),
		durationFlag("outage-timeout", catPace, &cl.OutageTimeout, extract.DefaultOutageTimeout, "when requests keep failing (connection refused, 5xx, 404 pages), stop with exit status 75 this long after the first failure"),
		durationFlag("drain-timeout", catPace, &run.DrainTimeout, pipeline.DefaultDrainTimeout, "on SIGINT/SIGTERM, how long requests in flight may finish before the run commits and exits"),

		&cli.BoolFlag{Name: "follow", Category: catFollow, Destination: &a.following, Usage: "keep running: read the feed, export what it says, wait for --poll-interval or a webhook, and again (a signal stops it with exit 0)", EnvVars: []string{envName("follow")}},
		durationFlag("poll-interval", catFollow, &a.follow.PollInterval, time.Minute, "with --follow: the longest wait between two reads of the feed"),
		&cli.StringFlag{Name: "webhook-listen", Category: catFollow, Destination: &a.follow.WebhookListen, Usage: "with --follow: serve POST /webhooks/opentrain (signed deliveries wake the follower) and /metrics, /healthz, /readyz on `ADDR` (host:port)", EnvVars: []string{envName("webhook-listen")}},
		&cli.PathFlag{Name: "webhook-secret-file", Category: catFollow, Destination: &a.secretFile, Usage: "the webhook secret (whsec_…) from `FILE` (else INTERVIEW_EXPORT_WEBHOOK_SECRET; never a flag value)", EnvVars: []string{envName("webhook-secret-file")}},
		&cli.StringFlag{Name: "listen", Category: catFollow, Destination: &a.follow.Listen, Usage: "with --follow and no webhooks: serve /metrics, /healthz and /readyz on `ADDR` (host:port)", EnvVars: []string{envName("listen")}},

		durationFlag("refresh-after", catSelection, &run.RefreshAfter, 0, "skip IDs whose last recorded outcome is younger than this `DURATION` (0: fetch all)"),
		&cli.Int64Flag{Name: "refresh-limit", Category: catSelection, Destination: &run.RefreshLimit, Usage: "with --refresh-after: refetch at most `N` stale IDs (recorded longer ago) in this run, so a re-check is spread over runs (0: no limit)", EnvVars: []string{envName("refresh-limit")}},
		&cli.StringFlag{Name: flagShard, Category: catSelection, Destination: &a.shard, Value: "0/1", Usage: "only the IDs of shard `I/N` (stable hash); N processes with I = 0..N-1 cover every ID once", EnvVars: []string{envName(flagShard)}},
		&cli.StringFlag{Name: "max-failed", Category: catSelection, Destination: &a.maxFailed, Value: "0", Usage: "failures that still let the run exit 0: a count (5) or a share of the IDs sent to the API (1%); the run is recorded 'partial' either way", EnvVars: []string{envName("max-failed")}},
		durationFlag("recheck-after", catSelection, &o.Writer.RecheckAfter, load.DefaultRecheckAfter, "how often --updates tries a known permanent failure (403, 400, invalid_response) again"),
		durationFlag("recheck-stored-after", catPrivacy, &o.Privacy.RecheckStoredAfter, export.DefaultRecheckStoredAfter, "re-check stored transcripts last fetched longer ago than this, spread evenly over the runs, so that a deletion upstream reaches the warehouse (0: never)"),
		&cli.GenericFlag{Name: "retain", Category: catPrivacy, Value: &o.Privacy.Retain, Usage: "before fetching, remove the content (messages, summary) of interviews whose last message is older than this `PERIOD` (18mo, 400d, 52w, 2y), keeping their scores, and never fetch them again (0: keep all)", EnvVars: []string{envName("retain")}},
		durationFlag("keep-runs", catDatabase, &o.KeepRuns, export.DefaultKeepRuns, "prune the runs that finished longer ago from export_runs, with their export_failures rows (never an open failure's; 0: keep all)"),
		durationFlag("lock-timeout", catDatabase, &o.Writer.LockTimeout, load.DefaultLockTimeout, "longest wait for a lock another session holds on the tables; a batch is tried 5 times"),
		&cli.IntFlag{Name: "batch-size", Category: catDatabase, Destination: &run.BatchSize, Value: pipeline.DefaultBatchSize, Usage: "proposals committed per transaction", EnvVars: []string{envName("batch-size")}},
		&cli.BoolFlag{Name: "no-migrate", Category: catDatabase, Destination: &o.NoMigrate, Usage: "do not apply pending migrations first", EnvVars: []string{envName("no-migrate")}},
		&cli.BoolFlag{Name: "dry-run", Category: catOutput, Destination: &o.DryRun, Usage: "fetch and normalize, write nothing; print one JSON object per proposal on stdout", EnvVars: []string{envName("dry-run")}},
		durationFlag("progress-interval", catOutput, &o.ProgressInterval, 10*time.Second, "interval of progress log lines (0: none)"),
		&cli.PathFlag{Name: "summary-file", Category: catOutput, Destination: &o.SummaryFile, Usage: "write the run's summary as a JSON document to `PATH` (atomically, also on failure and interruption)", EnvVars: []string{envName("summary-file")}},
		&cli.PathFlag{Name: "metrics-textfile", Category: catOutput, Destination: &o.Metrics.Textfile, Usage: "write the run's Prometheus metrics to `PATH` in the node_exporter textfile format (atomically, at the end of every run)", EnvVars: []string{envName("metrics-textfile")}},
		&cli.PathFlag{Name: "pushgateway-credentials-file", Category: catOutput, Destination: &a.pushCredentials, Usage: "read the Pushgateway's basic auth from `FILE` (user:password), so that it is never in the URL", EnvVars: []string{envName("pushgateway-credentials-file")}},
		&cli.StringFlag{Name: "pushgateway-url", Category: catOutput, Destination: &o.Metrics.PushURL, Usage: "push the run's Prometheus metrics to this Pushgateway `URL` at the end of every run (job interview_export, grouped by shard)", EnvVars: []string{envName("pushgateway-url")}},
	})
}

// recorded are the categories of the flags whose values a run stores in
// export_runs.settings: how it fetches and writes, not where its IDs come
// from (the source is stored apart) nor where its output goes.
var recorded = map[string]bool{catPace: true, catSelection: true, catDatabase: true, catPrivacy: true}

// settings are the run's settings stored in export_runs, read from its
// flags: never a secret (the database URL and the token file are left out).
func settings(c *cli.Context) map[string]any {
	out := map[string]any{"version": Version}
	for _, f := range c.Command.Flags {
		cf, ok := f.(cli.CategorizableFlag)
		name := f.Names()[0]
		if !ok || (!recorded[cf.GetCategory()] && name != "dry-run") || name == flagDatabaseURL || name == flagTokenFile || name == flagConfig {
			continue
		}
		v := c.Value(name)
		if s, ok := v.(fmt.Stringer); ok {
			v = s.String()
		}
		out[strings.ReplaceAll(name, "-", "_")] = v
	}
	return out
}

// loadConfigFile is the Before hook of every command: it checks the YAML
// file's keys (a misspelt key is an error, not a silently ignored setting)
// and sets each flag that neither the command line nor the environment set.
func loadConfigFile(c *cli.Context) error {
	path := c.String(flagConfig)
	if path == "" {
		return nil
	}
	raw, err := os.ReadFile(path)
	if err != nil {
		return exit.UsageError{Err: fmt.Errorf("read --config file: %w", err)}
	}
	var keys map[string]any
	if err := yaml.Unmarshal(raw, &keys); err != nil {
		return exit.UsageError{Err: fmt.Errorf("--config %s is not valid YAML: %w", path, err)}
	}
	if _, ok := keys["token"]; ok {
		return exit.UsageError{Err: fmt.Errorf("--config %s: put the token in a file named by token-file, not in the config", path)}
	}
	if err := checkConfigKeys(path, keys); err != nil {
		return err
	}
	ours := map[string]cli.Flag{}
	for _, f := range c.Command.Flags {
		ours[f.Names()[0]] = f
	}
	for _, k := range slices.Sorted(maps.Keys(keys)) {
		// One file serves every command: a key of another command is left
		// to it.
		if ours[k] == nil || c.IsSet(k) {
			continue
		}
		for _, v := range configValues(keys[k]) {
			if err := c.Set(k, v); err != nil {
				return exit.UsageError{Err: fmt.Errorf("--config %s: %s: %q is not %s", path, k, v, wantOf(ours[k]))}
			}
		}
	}
	return nil
}

// wantOf says what a flag's value must be, for an error naming a config key.
func wantOf(f cli.Flag) string {
	switch f.(type) {
	case *cli.IntFlag, *cli.Int64Flag:
		return "a whole number"
	case *cli.Float64Flag:
		return "a number"
	case *cli.BoolFlag:
		return "true or false"
	case *cli.GenericFlag:
		return "a duration such as 20h, 90s or 30d"
	}
	return "a valid value"
}

// configValues are the flag values of a YAML value: one, or one per item
// of a list (a repeatable flag).
func configValues(v any) []string {
	list, ok := v.([]any)
	if !ok {
		return []string{fmt.Sprint(v)}
	}
	values := make([]string, len(list))
	for i, item := range list {
		values[i] = fmt.Sprint(item)
	}
	return values
}

// checkConfigKeys refuses a key that no command knows, with the nearest
// known key as a hint.
func checkConfigKeys(path string, keys map[string]any) error {
	known := configKeys()
	var unknown []string
	for k := range keys {
		if !known[k] {
			unknown = append(unknown, k)
		}
	}
	if len(unknown) == 0 {
		return nil
	}
	sort.Strings(unknown)
	var hints []string
	for _, k := range unknown {
		if near := nearestKey(k, known); near != "" {
			hints = append(hints, fmt.Sprintf("%s: did you mean %s?", k, near))
		}
	}
	msg := fmt.Sprintf("--config %s: unknown key(s) %s", path, strings.Join(unknown, ", "))
	if len(hints) > 0 {
		msg += " (" + strings.Join(hints, "; ") + ")"
	}
	valid := slices.Sorted(maps.Keys(known))
	return exit.UsageError{Err: fmt.Errorf("%s; the keys are the flag names: %s", msg, strings.Join(valid, ", "))}
}

// configKeys are the keys of the YAML file: every flag name of every
// command but --config itself.
func configKeys() map[string]bool {
	known := map[string]bool{}
	for _, flags := range [][]cli.Flag{checkFlags(&exportArgs{}), reportFlags(), runsFlags(), feedStatusFlags(), feedResetFlags()} {
		for _, f := range flags {
			for _, n := range f.Names() {
				known[n] = n != flagConfig
			}
		}
	}
	delete(known, flagConfig)
	return known
}

// nearestKey returns the known key closest to k when it is a likely typo
// (an edit distance of 2 at most), else "".
func nearestKey(k string, known map[string]bool) string {
	best, bestDist := "", 3
	for _, cand := range slices.Sorted(maps.Keys(known)) {
		if d := editDistance(k, cand); d < bestDist {
			best, bestDist = cand, d
		}
	}
	return best
}

// editDistance is the Levenshtein distance between a and b.
func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}
