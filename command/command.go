// Package command is the command line of interview-export: it parses flags,
// environment and the YAML config into the options of package export (and
// of check, feed, report, runs and migrate), makes one call, and turns the
// error into an exit status through package exit. It owns no loop and no
// goroutine: the run's lifecycle is package export's. Everything is
// injected (arguments, standard streams, a context that ends on a signal), so
// the whole CLI runs in-process in tests.
package command

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"runtime"
	"runtime/debug"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/interview-export/interview-export/exit"
	"github.com/interview-export/interview-export/internal/logging"
	"github.com/interview-export/interview-export/internal/sanitize"
)

// Version, Commit and BuildDate describe the binary. make build and make
// image set them with -ldflags "-X github.com/interview-export/interview-export/command.Version=…";
// otherwise the commit and its time come from the build information Go
// records (go build in a git checkout).
var (
	Version   = "dev"
	Commit    = ""
	BuildDate = ""
)

func init() {
	// version and --version print the same line.
	cli.VersionPrinter = func(c *cli.Context) { fmt.Fprintln(c.App.Writer, versionLine()) }
}

// versionLine is what version and --version print.
func versionLine() string {
	commit, date, modified := Commit, BuildDate, false
	if info, ok := debug.ReadBuildInfo(); ok {
		for _, s := range info.Settings {
			switch s.Key {
			case "vcs.revision":
				if commit == "" {
					commit = s.Value
				}
			case "vcs.time":
				if date == "" {
					date = s.Value
				}
			case "vcs.modified":
				modified = s.Value == "true"
			}
		}
	}
	if commit == "" {
		commit = "unknown"
	} else if len(commit) > 12 {
		commit = commit[:12]
	}
	if modified && Commit == "" {
		commit += "+modified"
	}
	if date == "" {
		date = "unknown"
	}
	return fmt.Sprintf("interview-export %s (commit %s, built %s, %s %s/%s)", Version, commit, date,
		runtime.Version(), runtime.GOOS, runtime.GOARCH)
}

// ranError is an error returned by one of the commands (its action, its
// config hook or its flags' parsing), as opposed to one of urfave/cli's own.
type ranError struct{ err error }

func (e ranError) Error() string { return e.err.Error() }
func (e ranError) Unwrap() error { return e.err }

// ours marks the errors f returns as the command's own.
func ours[F ~func(*cli.Context) error](f F) F {
	return func(c *cli.Context) error {
		if err := f(c); err != nil {
			return ranError{err}
		}
		return nil
	}
}

// env is what a command gets from the process.
type env struct {
	stdin          io.Reader
	stdout, stderr io.Writer
	getenv         func(string) string
	// secrets are removed from the final error line, as from log lines.
	secrets []string
	// jsonLog is --log-format json: the final error line is a JSON record too.
	jsonLog bool
}

// Run runs the command line args (args[0] is the program name) and returns
// the exit status. ctx should end, with a SignalError cause, on SIGINT or
// SIGTERM.
func Run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	e := &env{stdin: stdin, stdout: stdout, stderr: stderr, getenv: os.Getenv}
	// Read before parsing, so that even a parse error is one JSON record.
	e.jsonLog = jsonLogRequested(args, e.getenv)
	app := newApp(e)
	err := app.RunContext(ctx, args)
	var ran ranError
	if err != nil && !errors.As(err, &ran) {
		// urfave/cli's own: an unknown flag or command, a bad value.
		if e.jsonLog {
			logging.ErrorRecord(stderr, fmt.Sprintf("%v: run 'interview-export --help' for usage", err), exit.Usage)
		} else {
			fmt.Fprintf(stderr, "interview-export: %v\nRun 'interview-export --help' for usage.\n", err)
		}
		return exit.Usage
	}
	code, msg := exit.Status(err)
	switch {
	case msg == "":
	case e.jsonLog:
		logging.ErrorRecord(stderr, sanitize.Secrets(msg, e.secrets), code)
	default:
		fmt.Fprintf(stderr, "interview-export: %s\n", sanitize.Secrets(msg, e.secrets))
	}
	return code
}

// jsonLogRequested reports whether --log-format json is asked for on the
// command line or in the environment, as far as that can be told before
// the flags are parsed.
func jsonLogRequested(args []string, getenv func(string) string) bool {
	format := getenv(envName(flagLogFormat))
	for i, a := range args {
		switch {
		case a == "--"+flagLogFormat || a == "-"+flagLogFormat:
			if i+1 < len(args) {
				format = args[i+1]
			}
		case strings.HasPrefix(a, "--"+flagLogFormat+"="), strings.HasPrefix(a, "-"+flagLogFormat+"="):
			_, format, _ = strings.Cut(a, "=")
		}
	}
	return format == "json"
}

const precedence = `Settings come from, first one set wins: flags, then environment variables, then the YAML file
given with --config (its keys are the flag names), then the defaults shown. The API token comes from
OT_API_TOKEN or from the file named by --token-file, never from a flag value.`

// onUsageError makes urfave/cli's parse errors the command's usage errors,
// with a hint for an unknown flag: the token's sources for --token, else
// the nearest flag the command has.
func onUsageError(c *cli.Context, err error, _ bool) error {
	if name, ok := strings.CutPrefix(err.Error(), "flag provided but not defined: -"); ok {
		name = strings.TrimLeft(name, "-")
		switch suggestion := cli.SuggestFlag(c.Command.Flags, name, true); {
		case name == "token" || strings.HasPrefix(name, "token="):
			err = fmt.Errorf("%w: the token is never a flag value (it would show in ps and the shell's history): "+
				"set OT_API_TOKEN or pass --token-file FILE", err)
		case suggestion != "":
			err = fmt.Errorf("%w (did you mean %s?)", err, suggestion)
		}
	}
	return ranError{exit.UsageError{Err: err}}
}

// commandList names the commands, for the errors of a missing or unknown one.
const commandList = "export, check, migrate, erase, retention, grants, report, runs, feed, completion or version"

// withArgs gives a command the usage line of its arguments.
func withArgs(cmd *cli.Command, usage string) *cli.Command {
	cmd.UsageText = usage
	return cmd
}

// command is one of the commands that read the config file.
func (e *env) command(name, usage string, flags []cli.Flag, action func(*cli.Context, *env) error) *cli.Command {
	return &cli.Command{
		Name:        name,
		Usage:       usage,
		Description: precedence,
		Flags:       flags,
		Before:      ours(loadConfigFile),
		Action: ours(func(c *cli.Context) error {
			e.jsonLog = c.String(flagLogFormat) == "json" // the config file may say so too
			return action(c, e)
		}),
		OnUsageError: onUsageError,
	}
}

func newApp(e *env) *cli.App {
	var exportArgs, checkArgs exportArgs
	export := e.command("export", "fetch interviews and upsert them into PostgreSQL (applies pending migrations first)", exportFlags(&exportArgs),
		func(c *cli.Context, e *env) error { return runExport(c, e, &exportArgs) })
	export.UsageText = "interview-export export --ids-file PATH [options]"
	return &cli.App{
		Name:  "interview-export",
		Usage: "export OpenTrain AI interview transcripts into PostgreSQL",
		Description: "Fetches the AI screening interview of each proposal ID from the OpenTrain public API and\n" +
			"upserts it into the interviews and interview_messages tables.\n\n" + precedence,
		Version:   Version,
		Reader:    e.stdin,
		Writer:    e.stdout,
		ErrWriter: e.stderr,
		// "did you mean …?" for a mistyped command or flag, and shell
		// completion (--generate-bash-completion).
		Suggest:              true,
		EnableBashCompletion: true,
		ExitErrHandler:       func(*cli.Context, error) {},
		OnUsageError:         onUsageError,
		// No command is a mistake (a cron line cut short), not a success.
		Action: ours(func(c *cli.Context) error {
			if c.Args().Present() {
				hint := ""
				known := map[string]bool{"help": true}
				for _, cmd := range c.App.Commands {
					known[cmd.Name] = true
				}
				if near := nearestKey(c.Args().First(), known); near != "" {
					hint = fmt.Sprintf(" (did you mean %s?)", near)
				}
				return exit.UsageError{Err: fmt.Errorf("unknown command %q%s: use %s", c.Args().First(), hint, commandList)}
			}
			cli.ShowAppHelp(c)
			return exit.UsageError{Err: errors.New("no command given: use " + commandList)}
		}),
		Commands: []*cli.Command{
			export,
			e.command("migrate", "apply pending migrations (safe to run twice or from two processes at once)", commonFlags(), runMigrate),
			e.command("report", "outcome counts, a score histogram, transcript lengths, recent runs and the last run's failures", reportFlags(), runReport),
			e.command("runs", "the run history from export_runs", runsFlags(), runRuns),
			e.feedCommand(),
			e.command("check", "verify the token, scopes, API, database, grants and feed without exporting (exit 0, 2 or 75)", checkFlags(&checkArgs),
				func(c *cli.Context, e *env) error { return runCheck(c, e, &checkArgs) }),
			withArgs(e.command("erase", "erase proposals' content (messages, summary, score) and never fetch them again; --undo lifts it", eraseFlags(), runErase),
				"interview-export erase --reason TEXT [--dry-run] ID... | --ids-file PATH | --job ID"),
			e.command("retention", "remove the content of interviews past --retain, keeping their scores (for a cron of its own)", retentionFlags(), runRetention),
			e.command("grants", "print the SQL that makes a role a reader of scores, or of transcripts too", grantsFlags(), runGrants),
			e.completionCommand(),
			e.manCommand(),
			{
				Name:  "version",
				Usage: "print the version",
				Action: func(c *cli.Context) error {
					fmt.Fprintln(e.stdout, versionLine())
					return nil
				},
			},
		},
	}
}

// libpqEnv are the libpq environment variables that name a database.
var libpqEnv = []string{"PGHOST", "PGHOSTADDR", "PGPORT", "PGDATABASE", "PGUSER", "PGSERVICE"}

// databaseURL is --database-url (or DATABASE_URL); without it, when the
// libpq PG* variables are set, as for psql, the URL that means "every
// setting from the environment".
func (e *env) databaseURL(c *cli.Context) string {
	if u := c.String(flagDatabaseURL); u != "" {
		return u
	}
	for _, name := range libpqEnv {
		if e.getenv(name) != "" {
			return "postgres://"
		}
	}
	return ""
}
