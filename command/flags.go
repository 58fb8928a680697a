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
	"github.com/urfave/cli/v2/altsrc"
	"go.yaml.in/yaml/v3"

	"github.com/interview-export/interview-export/exporter"
	"github.com/interview-export/interview-export/extract"
	"github.com/interview-export/interview-export/load"
)

// Flag names, which are also the keys of the YAML file given with --config.
const (
	flagConfig           = "config"
	flagDatabaseURL      = "database-url"
	flagLogLevel         = "log-level"
	flagLogFormat        = "log-format"
	flagAPIURL           = "api-url"
	flagTokenFile        = "token-file"
	flagIDsFile          = "ids-file"
	flagConcurrency      = "concurrency"
	flagRate             = "rate"
	flagMaxAttempts      = "max-attempts"
	flagRequestTimeout   = "request-timeout"
	flagBackoffBase      = "backoff-base"
	flagBackoffMax       = "backoff-max"
	flagMaxResponseBytes = "max-response-bytes"
	flagBatchSize        = "batch-size"
	flagProgressInterval = "progress-interval"
	flagNoMigrate        = "no-migrate"
	flagDryRun           = "dry-run"
	flagIDsQuery         = "ids-query"
	flagIDsQueryTimeout  = "ids-query-timeout"
	flagJob              = "job"
	flagAllJobs          = "all-jobs"
	flagRefreshAfter     = "refresh-after"
	flagShard            = "shard"
	flagDrainTimeout     = "drain-timeout"
	flagMaxRetryAfter    = "max-retry-after"
	flagOutageTimeout    = "outage-timeout"
	flagLockTimeout      = "lock-timeout"
	flagUpdates          = "updates"
	flagMaxFailed        = "max-failed"
	flagSummaryFile      = "summary-file"
	flagMetricsTextfile  = "metrics-textfile"
	flagPushgatewayURL   = "pushgateway-url"
	flagRefreshLimit     = "refresh-limit"
)

// DefaultAPIURL is the OpenTrain public API base.
const DefaultAPIURL = "https://app.opentrain.ai/api/public/v1"

// envName is the environment variable of a flag without a contract-fixed one.
func envName(flag string) string {
	return "INTERVIEW_EXPORT_" + strings.ToUpper(strings.ReplaceAll(flag, "-", "_"))
}

func commonFlags() []cli.Flag {
	return []cli.Flag{
		&cli.PathFlag{Name: flagConfig, Usage: "read settings from this YAML `FILE` (keys are the flag names; see config.example.yaml)", EnvVars: []string{envName(flagConfig)}},
		altsrc.NewStringFlag(&cli.StringFlag{Name: flagDatabaseURL, Usage: "PostgreSQL libpq `URL` or key=value DSN", EnvVars: []string{"DATABASE_URL"}}),
		altsrc.NewStringFlag(&cli.StringFlag{Name: flagLogLevel, Value: "info", Usage: "debug, info, warn or error", EnvVars: []string{envName(flagLogLevel)}}),
		altsrc.NewStringFlag(&cli.StringFlag{Name: flagLogFormat, Value: "text", Usage: "text or json (log lines on stderr)", EnvVars: []string{envName(flagLogFormat)}}),
	}
}

func exportFlags() []cli.Flag {
	return categorize(append(commonFlags(),
		altsrc.NewStringFlag(&cli.StringFlag{Name: flagAPIURL, Value: DefaultAPIURL, Usage: "OpenTrain public API base `URL`", EnvVars: []string{"OT_API_URL"}}),
		altsrc.NewPathFlag(&cli.PathFlag{Name: flagTokenFile, Usage: "read the API token from `FILE` (else from OT_API_TOKEN; never a flag value)", EnvVars: []string{envName(flagTokenFile)}}),
		altsrc.NewStringFlag(&cli.StringFlag{Name: flagIDsFile, Usage: "source: proposal IDs, one per line, from `PATH` (- for standard input)", EnvVars: []string{envName(flagIDsFile)}}),
		altsrc.NewStringFlag(&cli.StringFlag{Name: flagIDsQuery, Usage: "source: the first column of this `SQL` query, run read-only against the database", EnvVars: []string{envName(flagIDsQuery)}}),
		durationFlag(flagIDsQueryTimeout, 5*time.Minute, "statement timeout of --ids-query"),
		altsrc.NewStringSliceFlag(&cli.StringSliceFlag{Name: flagJob, Usage: "source: the proposals of job `ID` (repeatable), listed through the API", EnvVars: []string{envName(flagJob)}}),
		altsrc.NewBoolFlag(&cli.BoolFlag{Name: flagAllJobs, Usage: "source: the proposals of every job of the account (GET /jobs/mine; needs jobs:read)", EnvVars: []string{envName(flagAllJobs)}}),
		altsrc.NewBoolFlag(&cli.BoolFlag{Name: flagUpdates, Usage: "source: the change feed (GET /updates) from the cursor stored for this shard, and the IDs that failed before; the first run reads the whole history", EnvVars: []string{envName(flagUpdates)}}),
		durationFlag(flagRefreshAfter, 0, "skip IDs whose last recorded outcome is younger than this `DURATION` (0: fetch all)"),
		altsrc.NewInt64Flag(&cli.Int64Flag{Name: flagRefreshLimit, Usage: "with --refresh-after: refetch at most `N` stale IDs (recorded longer ago) in this run, so a re-check is spread over runs (0: no limit)", EnvVars: []string{envName(flagRefreshLimit)}}),
		altsrc.NewStringFlag(&cli.StringFlag{Name: flagShard, Usage: "only the IDs of shard `I/N` (stable hash); N processes with I = 0..N-1 cover every ID once", EnvVars: []string{envName(flagShard)}}),
		durationFlag(flagDrainTimeout, exporter.DefaultDrainTimeout, "on SIGINT/SIGTERM, how long requests in flight may finish before the run commits and exits"),
		durationFlag(flagMaxRetryAfter, extract.DefaultMaxRetryAfter, "a 429 asking to wait longer than this stops the run with exit status 75 (try again later)"),
		durationFlag(flagOutageTimeout, extract.DefaultBreakerGiveUp, "when requests keep failing (connection refused, 5xx, 404 pages), stop with exit status 75 this long after the first failure"),
		durationFlag(flagLockTimeout, load.DefaultLockTimeout, "longest wait for a lock another session holds on the tables; a batch is tried 5 times"),
		altsrc.NewIntFlag(&cli.IntFlag{Name: flagConcurrency, Value: extract.DefaultConcurrency, Usage: "requests in flight at most", EnvVars: []string{envName(flagConcurrency)}}),
		altsrc.NewFloat64Flag(&cli.Float64Flag{Name: flagRate, Value: extract.DefaultRate, Usage: "requests per second across the run (0: no limit until the API answers 429)", EnvVars: []string{envName(flagRate)}}),
		altsrc.NewIntFlag(&cli.IntFlag{Name: flagMaxAttempts, Value: extract.DefaultMaxAttempts, Usage: "tries per proposal, the first included (429s do not count)", EnvVars: []string{envName(flagMaxAttempts)}}),
		durationFlag(flagRequestTimeout, extract.DefaultRequestTimeout, "time limit of one attempt, body included"),
		durationFlag(flagBackoffBase, extract.DefaultBackoffBase, "first retry delay ceiling; doubles per retry (full jitter)"),
		durationFlag(flagBackoffMax, extract.DefaultBackoffMax, "largest retry delay"),
		altsrc.NewInt64Flag(&cli.Int64Flag{Name: flagMaxResponseBytes, Value: extract.DefaultMaxResponseBytes, Usage: "largest transcript body accepted, in bytes", EnvVars: []string{envName(flagMaxResponseBytes)}}),
		altsrc.NewIntFlag(&cli.IntFlag{Name: flagBatchSize, Value: exporter.DefaultBatchSize, Usage: "proposals committed per transaction", EnvVars: []string{envName(flagBatchSize)}}),
		durationFlag(flagProgressInterval, 10*time.Second, "interval of progress log lines (0: none)"),
		altsrc.NewBoolFlag(&cli.BoolFlag{Name: flagNoMigrate, Usage: "do not apply pending migrations first", EnvVars: []string{envName(flagNoMigrate)}}),
		altsrc.NewBoolFlag(&cli.BoolFlag{Name: flagDryRun, Usage: "fetch and normalize, write nothing; print one JSON object per proposal on stdout", EnvVars: []string{envName(flagDryRun)}}),
		altsrc.NewStringFlag(&cli.StringFlag{Name: flagMaxFailed, Value: "0", Usage: "failures that still let the run exit 0: a count (5) or a share of the IDs sent to the API (1%); the run is recorded 'partial' either way", EnvVars: []string{envName(flagMaxFailed)}}),
		altsrc.NewPathFlag(&cli.PathFlag{Name: flagSummaryFile, Usage: "write the run's summary as a JSON document to `PATH` (atomically, also on failure and interruption)", EnvVars: []string{envName(flagSummaryFile)}}),
		altsrc.NewPathFlag(&cli.PathFlag{Name: flagMetricsTextfile, Usage: "write the run's Prometheus metrics to `PATH` in the node_exporter textfile format (atomically, at the end of every run)", EnvVars: []string{envName(flagMetricsTextfile)}}),
		altsrc.NewStringFlag(&cli.StringFlag{Name: flagPushgatewayURL, Usage: "push the run's Prometheus metrics to this Pushgateway `URL` at the end of every run (job interview_export, grouped by shard)", EnvVars: []string{envName(flagPushgatewayURL)}}),
	), exportCategories)
}

// Flag categories of export's --help.
const (
	catSource    = "Sources of proposal IDs (exactly one)"
	catPace      = "Pace and retries"
	catSelection = "Selection"
	catOutput    = "Output, logs and metrics"
	catDatabase  = "Database"
)

var exportCategories = map[string]string{
	flagIDsFile: catSource, flagIDsQuery: catSource, flagIDsQueryTimeout: catSource, flagJob: catSource,
	flagAllJobs: catSource, flagUpdates: catSource,
	flagConcurrency: catPace, flagRate: catPace, flagMaxAttempts: catPace, flagRequestTimeout: catPace,
	flagBackoffBase: catPace, flagBackoffMax: catPace, flagMaxRetryAfter: catPace, flagOutageTimeout: catPace,
	flagMaxResponseBytes: catPace, flagAPIURL: catPace, flagTokenFile: catPace, flagDrainTimeout: catPace,
	flagRefreshAfter: catSelection, flagRefreshLimit: catSelection, flagShard: catSelection, flagMaxFailed: catSelection,
	flagDryRun: catOutput, flagProgressInterval: catOutput, flagLogLevel: catOutput, flagLogFormat: catOutput,
	flagSummaryFile: catOutput, flagMetricsTextfile: catOutput, flagPushgatewayURL: catOutput,
	flagDatabaseURL: catDatabase, flagBatchSize: catDatabase, flagNoMigrate: catDatabase, flagLockTimeout: catDatabase,
	flagConfig: catDatabase,
}

// categorize files each flag under its category in --help.
func categorize(flags []cli.Flag, categories map[string]string) []cli.Flag {
	for _, f := range flags {
		cat := categories[f.Names()[0]]
		switch f := f.(type) {
		case *cli.PathFlag:
			f.Category = cat
		case *altsrc.StringFlag:
			f.Category = cat
		case *altsrc.PathFlag:
			f.Category = cat
		case *altsrc.BoolFlag:
			f.Category = cat
		case *altsrc.IntFlag:
			f.Category = cat
		case *altsrc.Int64Flag:
			f.Category = cat
		case *altsrc.Float64Flag:
			f.Category = cat
		case *altsrc.StringSliceFlag:
			f.Category = cat
		case *altsrc.GenericFlag:
			f.Category = cat
		}
	}
	return flags
}

// loadConfigFile is the Before hook of every command: it checks the YAML
// file's keys (a misspelt key is an error, not a silently ignored setting)
// and applies its values below flags and environment.
func loadConfigFile(flags []cli.Flag) cli.BeforeFunc {
	return func(c *cli.Context) error {
		path := c.String(flagConfig)
		if path == "" {
			return nil
		}
		raw, err := os.ReadFile(path)
		if err != nil {
			return usageError{fmt.Errorf("read --config file: %w", err)}
		}
		var keys map[string]any
		if err := yaml.Unmarshal(raw, &keys); err != nil {
			return usageError{fmt.Errorf("--config %s is not valid YAML: %w", path, err)}
		}
		if _, ok := keys["token"]; ok {
			return usageError{fmt.Errorf("--config %s: put the token in a file named by token-file, not in the config", path)}
		}
		// One file serves every command: a key that any command knows is
		// accepted (and applies where it means something); only a key that
		// none knows is an error.
		known := configKeys()
		var unknown []string
		for k := range keys {
			if !known[k] {
				unknown = append(unknown, k)
			}
		}
		if len(unknown) > 0 {
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
			return usageError{fmt.Errorf("%s; the keys are the flag names: %s", msg, strings.Join(valid, ", "))}
		}
		values := make(map[any]any, len(keys))
		for k, v := range keys {
			if n, ok := v.(int); ok && isFloatFlag(flags, k) {
				v = float64(n) // YAML reads "rate: 10" as an int
			}
			if isDurationFlag(flags, k) {
				d := new(duration)
				if err := d.Set(fmt.Sprint(v)); err != nil {
					return usageError{fmt.Errorf("--config %s: %s: %w", path, k, err)}
				}
				v = d
			}
			values[k] = v
		}
		if err := altsrc.ApplyInputSourceValues(c, altsrc.NewMapInputSource(path, values), flags); err != nil {
			return usageError{fmt.Errorf("--config %s: %w", path, err)}
		}
		return nil
	}
}

// configKeys are the keys of the YAML file: every flag name of every
// command but --config itself.
func configKeys() map[string]bool {
	known := map[string]bool{}
	for _, flags := range [][]cli.Flag{exportFlags(), reportFlags(), runsFlags()} {
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

func isDurationFlag(flags []cli.Flag, name string) bool {
	for _, f := range flags {
		if gf, ok := f.(*altsrc.GenericFlag); ok && gf.Name == name {
			_, ok := gf.Value.(*duration)
			return ok
		}
	}
	return false
}

func isFloatFlag(flags []cli.Flag, name string) bool {
	for _, f := range flags {
		if ff, ok := f.(*altsrc.Float64Flag); ok && ff.Name == name {
			return true
		}
	}
	return false
}
