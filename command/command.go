// Package command is the command line of interview-export: it parses flags,
// environment and the YAML config, wires packages extract, transform, load
// and exporter, and turns the outcome into an exit status. Everything is
// injected (arguments, standard streams, a context that ends on a signal), so
// the whole CLI runs in-process in tests.
package command

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
	"syscall"

	"github.com/urfave/cli/v2"
)

// Exit statuses; see README.md.
const (
	ExitOK          = 0   // every ID reached a recorded outcome, none failed
	ExitFailures    = 1   // finished, some IDs failed (each is in export_failures)
	ExitUsage       = 2   // usage, configuration or authentication error
	ExitRunFailed   = 3   // the run stopped part-way on an unexpected error (database lost); committed work stays
	ExitLocked      = 4   // another export on the same database and shard is running
	ExitInterrupted = 130 // SIGINT, after committing or rolling back what was in flight
	ExitTerminated  = 143 // SIGTERM, likewise
)

// Version is the binary's version, set at build time with
// -ldflags "-X github.com/interview-export/interview-export/command.Version=...".
var Version = "dev"

// SignalError is the cause main gives the run's context when a signal arrives.
type SignalError struct{ Signal os.Signal }

func (e SignalError) Error() string { return "interrupted by " + e.Signal.String() }

// exitError carries an exit status through urfave/cli.
type exitError struct {
	code int
	err  error
}

func (e exitError) Error() string { return e.err.Error() }
func (e exitError) Unwrap() error { return e.err }

// usageError is a bad flag, value or configuration: exit status 2.
type usageError struct{ err error }

func (e usageError) Error() string { return e.err.Error() }
func (e usageError) Unwrap() error { return e.err }

// env is what a command gets from the process.
type env struct {
	stdin          io.Reader
	stdout, stderr io.Writer
	getenv         func(string) string
}

// Run runs the command line args (args[0] is the program name) and returns
// the exit status. ctx should end, with a SignalError cause, on SIGINT or
// SIGTERM.
func Run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	e := &env{stdin: stdin, stdout: stdout, stderr: stderr, getenv: os.Getenv}
	app := newApp(e)
	err := app.RunContext(ctx, args)
	if err == nil {
		return ExitOK
	}
	var ee exitError
	if errors.As(err, &ee) {
		if ee.err != nil && ee.code != ExitOK && ee.code != ExitFailures {
			fmt.Fprintf(stderr, "interview-export: %v\n", ee.err)
		}
		return ee.code
	}
	// Anything else is urfave/cli's own: an unknown flag or command, a bad value.
	fmt.Fprintf(stderr, "interview-export: %v\nRun 'interview-export --help' for usage.\n", err)
	return ExitUsage
}

const precedence = `Settings come from, first one set wins: flags, then environment variables, then the YAML file
given with --config (its keys are the flag names), then the defaults shown. The API token comes from
OT_API_TOKEN or from the file named by --token-file, never from a flag value.`

func newApp(e *env) *cli.App {
	exportFl := exportFlags()
	migrateFl := commonFlags()
	reportFl := reportFlags()
	runsFl := runsFlags()
	usage := func(_ *cli.Context, err error, _ bool) error {
		return exitError{code: ExitUsage, err: err}
	}
	return &cli.App{
		Name:  "interview-export",
		Usage: "export OpenTrain AI interview transcripts into PostgreSQL",
		Description: "Fetches the AI screening interview of each proposal ID from the OpenTrain public API and\n" +
			"upserts it into the interviews and interview_messages tables.\n\n" + precedence,
		Version:         Version,
		Reader:          e.stdin,
		Writer:          e.stdout,
		ErrWriter:       e.stderr,
		HideHelpCommand: true,
		ExitErrHandler:  func(*cli.Context, error) {},
		OnUsageError:    usage,
		// No command is a mistake (a cron line cut short), not a success.
		Action: func(c *cli.Context) error {
			if c.Args().Present() {
				return exitError{code: ExitUsage, err: fmt.Errorf("unknown command %q: use export, migrate, report, runs or version", c.Args().First())}
			}
			cli.ShowAppHelp(c)
			return exitError{code: ExitUsage, err: errors.New("no command given: use export, migrate, report, runs or version")}
		},
		Commands: []*cli.Command{
			{
				Name:         "export",
				Usage:        "fetch interviews and upsert them into PostgreSQL (applies pending migrations first)",
				UsageText:    "interview-export export --ids-file PATH [options]",
				Description:  precedence,
				Flags:        exportFl,
				Before:       loadConfigFile(exportFl),
				Action:       func(c *cli.Context) error { return wrap(runExport(c, e)) },
				OnUsageError: usage,
			},
			{
				Name:         "migrate",
				Usage:        "apply pending migrations (safe to run twice or from two processes at once)",
				Description:  precedence,
				Flags:        migrateFl,
				Before:       loadConfigFile(migrateFl),
				Action:       func(c *cli.Context) error { return wrap(runMigrate(c, e)) },
				OnUsageError: usage,
			},
			{
				Name:         "report",
				Usage:        "outcome counts, a score histogram, transcript lengths, recent runs and the last run's failures",
				Description:  precedence,
				Flags:        reportFl,
				Before:       loadConfigFile(reportFl),
				Action:       func(c *cli.Context) error { return wrap(runReport(c, e)) },
				OnUsageError: usage,
			},
			{
				Name:         "runs",
				Usage:        "the run history from export_runs",
				Description:  precedence,
				Flags:        runsFl,
				Before:       loadConfigFile(runsFl),
				Action:       func(c *cli.Context) error { return wrap(runRuns(c, e)) },
				OnUsageError: usage,
			},
			{
				Name:  "version",
				Usage: "print the version",
				Action: func(c *cli.Context) error {
					fmt.Fprintf(e.stdout, "interview-export %s\n", Version)
					return nil
				},
			},
		},
	}
}

// wrap gives every error an exit status.
func wrap(err error) error {
	if err == nil {
		return nil
	}
	var ee exitError
	if errors.As(err, &ee) {
		return ee
	}
	var ue usageError
	if errors.As(err, &ue) {
		return exitError{code: ExitUsage, err: err}
	}
	return exitError{code: ExitRunFailed, err: err}
}

// interruptCode returns 130 or 143 when ctx ended because of a signal.
func interruptCode(ctx context.Context) (int, bool) {
	var se SignalError
	if !errors.As(context.Cause(ctx), &se) {
		return 0, false
	}
	if se.Signal == syscall.SIGTERM {
		return ExitTerminated, true
	}
	return ExitInterrupted, true
}

// newLogger returns the slog logger of the command's flags, which never
// prints secret: any occurrence of it in a log value becomes [REDACTED].
func newLogger(c *cli.Context, w io.Writer, secret string) (*slog.Logger, error) {
	var level slog.Level
	if err := level.UnmarshalText([]byte(c.String(flagLogLevel))); err != nil {
		return nil, usageError{fmt.Errorf("--log-level %q: want debug, info, warn or error", c.String(flagLogLevel))}
	}
	opts := &slog.HandlerOptions{Level: level, ReplaceAttr: func(_ []string, a slog.Attr) slog.Attr {
		if secret != "" && a.Value.Kind() == slog.KindString && strings.Contains(a.Value.String(), secret) {
			a.Value = slog.StringValue(strings.ReplaceAll(a.Value.String(), secret, "[REDACTED]"))
		}
		return a
	}}
	switch c.String(flagLogFormat) {
	case "text":
		return slog.New(slog.NewTextHandler(w, opts)), nil
	case "json":
		return slog.New(slog.NewJSONHandler(w, opts)), nil
	}
	return nil, usageError{fmt.Errorf("--log-format %q: want text or json", c.String(flagLogFormat))}
}
