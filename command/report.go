package command

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/interview-export/interview-export/exit"
	"github.com/interview-export/interview-export/export"
	"github.com/interview-export/interview-export/load"
	"github.com/interview-export/interview-export/report"
)

const (
	flagFormat = "format"
	flagRuns   = "runs"
	flagLimit  = "limit"
	flagBy     = "by"
)

func formatFlag() cli.Flag {
	return &cli.StringFlag{Name: flagFormat, Value: "text", Usage: "text (for people) or json (for machines); report and runs also take csv, report html (one self-contained page)",
		EnvVars: []string{envName(flagFormat)}}
}

func reportFlags() []cli.Flag {
	return append(commonFlags(), formatFlag(),
		&cli.IntFlag{Name: flagRuns, Value: 5, Usage: "how many recent runs to list (with --format html: to chart)", EnvVars: []string{envName(flagRuns)}},
		&cli.StringFlag{Name: flagBy, Usage: "one row per job or per hiring status, with counts and score statistics: job or status", EnvVars: []string{envName(flagBy)}})
}

func runsFlags() []cli.Flag {
	return append(commonFlags(), formatFlag(),
		&cli.IntFlag{Name: flagLimit, Value: 20, Usage: "how many recent runs to list", EnvVars: []string{envName(flagLimit)}})
}

// checkFormat refuses a --format that is not one of formats.
func checkFormat(c *cli.Context, formats ...string) error {
	if f := c.String(flagFormat); !slices.Contains(formats, f) {
		return exit.UsageError{Err: fmt.Errorf("--format %q: want %s", f, strings.Join(formats, ", "))}
	}
	return nil
}

// openForReading connects to an already migrated database.
func openForReading(c *cli.Context, e *env) (*load.Store, error) {
	if c.Args().Len() > 0 {
		return nil, exit.UsageError{Err: fmt.Errorf("unexpected argument %q", c.Args().First())}
	}
	store, err := export.Connect(c.Context, e.databaseURL(c), 2)
	if err != nil {
		return nil, err
	}
	cur, _, err := store.SchemaVersion(c.Context)
	if err == nil && cur == 0 {
		err = errors.New("this database holds no export yet (no schema): run 'interview-export export' first")
	}
	if err != nil {
		store.Close()
		return nil, exit.UsageError{Err: err}
	}
	return store, nil
}

func runReport(c *cli.Context, e *env) error {
	if n := c.Int(flagRuns); n < 1 || n > 1000 {
		return exit.UsageError{Err: fmt.Errorf("--runs %d: want 1 to 1000", n)}
	}
	if err := checkFormat(c, "text", "json", "csv", "html"); err != nil {
		return err
	}
	by, format := c.String(flagBy), c.String(flagFormat)
	switch {
	case by != "" && by != "job" && by != "status":
		return exit.UsageError{Err: fmt.Errorf("--by %q: want job or status", by)}
	case format == "csv" && by == "":
		return exit.UsageError{Err: errors.New("--format csv writes one row per job or status: add --by job or --by status")}
	}
	store, err := openForReading(c, e)
	if err != nil {
		return err
	}
	defer store.Close()
	if format == "html" {
		return report.HTML(c.Context, e.stdout, store, c.Int(flagRuns), time.Now())
	}
	if by != "" {
		groups, err := store.ScoresBy(c.Context, by)
		if err != nil {
			return err
		}
		return report.Groups(e.stdout, format, by, groups)
	}
	r, err := store.Report(c.Context, c.Int(flagRuns))
	if err != nil {
		return err
	}
	if format == "json" {
		return report.JSON(e.stdout, r)
	}
	report.Text(e.stdout, r, time.Now())
	return nil
}

func runRuns(c *cli.Context, e *env) error {
	if n := c.Int(flagLimit); n < 1 || n > 100000 {
		return exit.UsageError{Err: fmt.Errorf("--limit %d: want 1 to 100000", n)}
	}
	if err := checkFormat(c, "text", "json", "csv"); err != nil {
		return err
	}
	store, err := openForReading(c, e)
	if err != nil {
		return err
	}
	defer store.Close()
	runs, err := store.Runs(c.Context, c.Int(flagLimit))
	if err != nil {
		return err
	}
	switch c.String(flagFormat) {
	case "json":
		return report.JSON(e.stdout, runs)
	case "csv":
		return report.RunsCSV(e.stdout, runs)
	}
	report.Runs(e.stdout, runs, time.Now())
	return nil
}
