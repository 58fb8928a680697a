package command

import (
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"unicode"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/urfave/cli/v2"

	"github.com/interview-export/interview-export/exit"
	"github.com/interview-export/interview-export/export"
	"github.com/interview-export/interview-export/internal/logging"
	"github.com/interview-export/interview-export/internal/setting"
	"github.com/interview-export/interview-export/pipeline"
)

// exportArgs are where export's flags land: export.Options itself, and
// what a flag holds in another shape until options reads it.
type exportArgs struct {
	o         export.Options
	follow    export.Follow
	following bool
	jobs      cli.StringSlice
	shard     string
	maxFailed string
	// Files that hold secrets.
	tokenFile, pushCredentials, secretFile string
}

// runExport validates the options and runs the export.
func runExport(c *cli.Context, e *env, a *exportArgs) error {
	o, err := a.options(c, e)
	if err != nil {
		return exit.UsageError{Err: err}
	}
	return export.Run(c.Context, o, export.Env{Stdin: e.stdin, Stdout: e.stdout, Stderr: e.stderr, Secrets: e.secrets})
}

// options completes the options with the secrets and validates the whole;
// each library configuration checks its own ranges.
func (a *exportArgs) options(c *cli.Context, e *env) (export.Options, error) {
	o, err := a.mapped(c, e)
	if err != nil {
		return o, err
	}
	var warning string
	if o.Client.Token, warning, err = readToken(a.tokenFile, e.getenv); err != nil {
		return o, err
	}
	if warning != "" {
		o.Warnings = append(o.Warnings, warning)
	}
	if o.Metrics.PushUser, o.Metrics.PushPassword, err = readCredentials(a.pushCredentials); err != nil {
		return o, err
	}
	e.secrets = append(e.secrets, o.Client.Token, databasePassword(o.DatabaseURL), o.Metrics.PushPassword, urlPassword(o.Metrics.PushURL))
	if a.following {
		f := a.follow
		if f.Secret, err = readSecret(a.secretFile, e.getenv); err != nil {
			return o, err
		}
		e.secrets = append(e.secrets, string(f.Secret))
		if err := validateFollow(f, o); err != nil {
			return o, err
		}
		o.Follow = &f
	}
	return o, validate(o)
}

// mapped completes what the flags set, without the secrets and without
// validating.
func (a *exportArgs) mapped(c *cli.Context, e *env) (export.Options, error) {
	o := a.o
	o.Client.UserAgent, o.Version = "interview-export/"+Version, versionLine()
	o.Run.Concurrency, o.Run.Feed = o.Client.Concurrency, o.Source.Updates
	o.Source.Jobs = a.jobs.Value()
	o.DatabaseURL = e.databaseURL(c)
	o.Settings = settings(c)
	if c.Args().Len() > 0 {
		return o, fmt.Errorf("unexpected argument %q: proposal IDs come from --ids-file, --ids-query, --job, --all-jobs or --updates", c.Args().First())
	}
	var err error
	if o.Log, err = logOptions(c); err != nil {
		return o, err
	}
	if o.MaxFailed, err = export.ParseMaxFailed(a.maxFailed); err != nil {
		return o, fmt.Errorf("--max-failed %w", err)
	}
	if o.Run.Shard, err = pipeline.ParseShard(a.shard); err != nil {
		return o, fmt.Errorf("--%w", err)
	}
	if o.Run.Shard.Count > 1 {
		// The API's operators (and the fake's Retry-After check) can tell
		// the shards of one run apart.
		o.Client.UserAgent += " (shard " + o.Run.Shard.String() + ")"
	}
	return o, nil
}

// logOptions are --log-level and --log-format.
func logOptions(c *cli.Context) (logging.Options, error) {
	var o logging.Options
	if err := o.Level.UnmarshalText([]byte(c.String(flagLogLevel))); err != nil {
		return o, fmt.Errorf("--log-level %q: want debug, info, warn or error", c.String(flagLogLevel))
	}
	switch c.String(flagLogFormat) {
	case "text":
	case "json":
		o.JSON = true
	default:
		return o, fmt.Errorf("--log-format %q: want text or json", c.String(flagLogFormat))
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

func validate(o export.Options) error {
	if err := validateSource(o.Source, o.DatabaseURL); err != nil {
		return err
	}
	switch {
	case o.Run.RefreshLimit > 0 && o.Run.RefreshAfter == 0:
		return errors.New("--refresh-limit bounds the refetches of --refresh-after: pass --refresh-after too, e.g. --refresh-after 7d --refresh-limit 10000")
	case o.Run.RefreshAfter > 0 && o.DatabaseURL == "":
		return errors.New("--refresh-after reads the recorded outcomes: set DATABASE_URL or pass --database-url")
	case o.ProgressInterval < 0:
		return fmt.Errorf("--progress-interval %s: want 0 (off) or a positive duration", o.ProgressInterval)
	case !o.DryRun && o.DatabaseURL == "":
		return errors.New("no database: set DATABASE_URL or pass --database-url (or use --dry-run to write nothing)")
	}
	for flag, path := range map[string]string{"summary-file": o.SummaryFile, "metrics-textfile": o.Metrics.Textfile} {
		if err := checkOutputPath(flag, path); err != nil {
			return err
		}
	}
	for _, err := range []error{o.Client.Validate(), o.Run.Validate(), o.Writer.Validate()} {
		if err != nil {
			return flagError(err)
		}
	}
	return nil
}

func validateSource(s export.Source, databaseURL string) error {
	sources := 0
	for _, set := range []bool{s.IDsFile != "", s.IDsQuery != "", len(s.Jobs) > 0, s.AllJobs, s.Updates} {
		if set {
			sources++
		}
	}
	switch {
	case sources == 0:
		return errors.New("no proposal IDs: pass one of --ids-file PATH (- for standard input), --ids-query SQL, --job ID, --all-jobs or --updates")
	case sources > 1:
		return errors.New("proposal IDs come from exactly one source: pass only one of --ids-file, --ids-query, --job (repeatable), --all-jobs or --updates")
	case s.Updates && databaseURL == "":
		return errors.New("--updates keeps its cursor in the database: set DATABASE_URL or pass --database-url")
	case s.IDsQuery != "" && databaseURL == "":
		return errors.New("--ids-query runs against the database: set DATABASE_URL or pass --database-url")
	case s.IDsColumn != "" && s.IDsFile == "":
		return errors.New("--ids-column names a column of the CSV file given with --ids-file: pass --ids-file PATH too")
	case s.IDsQueryTimeout <= 0:
		return fmt.Errorf("--ids-query-timeout %s: want a positive duration", s.IDsQueryTimeout)
	}
	return nil
}

// checkOutputPath makes sure a file can be written at path before any work
// is done: its folder exists and takes a new file.
func checkOutputPath(flag, path string) error {
	if path == "" {
		return nil
	}
	if st, err := os.Stat(path); err == nil && st.IsDir() {
		return fmt.Errorf("--%s %s is a directory: name a file in it", flag, path)
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
