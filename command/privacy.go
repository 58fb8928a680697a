package command

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/interview-export/interview-export/exit"
	"github.com/interview-export/interview-export/export"
	"github.com/interview-export/interview-export/load"
	"github.com/interview-export/interview-export/privacy"
)

// The commands of candidates' data (docs/privacy.md): erase, retention and
// grants. check --reader is in check.go.

const (
	flagReason = "reason"
	flagUndo   = "undo"
	flagDryRun = "dry-run"
	flagRetain = "retain"
	flagRole   = "role"
	flagKind   = "kind"
	flagSchema = "schema"
)

func eraseFlags() []cli.Flag {
	return append(commonFlags(),
		&cli.StringFlag{Name: "ids-file", Usage: "erase the proposal IDs of `PATH`, one per line (- for standard input)"},
		&cli.StringSliceFlag{Name: "job", Usage: "erase every proposal stored for job `ID` (repeatable; from the proposals table)"},
		&cli.StringFlag{Name: flagReason, Usage: "why, for the record in erasures (a ticket number, \"GDPR art. 17 request\"; never the person's name)"},
		&cli.BoolFlag{Name: flagUndo, Usage: "lift the erasure of these IDs: later runs may fetch them again"},
		&cli.BoolFlag{Name: flagDryRun, Usage: "say what would be erased, change nothing"},
	)
}

func retentionFlags() []cli.Flag {
	return append(commonFlags(),
		&cli.GenericFlag{Name: flagRetain, Value: &export.Period{}, Usage: "remove the content of interviews whose last message is older than this `PERIOD` (18mo, 400d, 52w, 2y)", EnvVars: []string{envName(flagRetain)}},
		&cli.BoolFlag{Name: flagDryRun, Usage: "count what would be removed, change nothing"},
	)
}

func grantsFlags() []cli.Flag {
	return []cli.Flag{
		&cli.StringFlag{Name: flagRole, Usage: "the reader `ROLE` to grant to (create it first)"},
		&cli.StringFlag{Name: flagKind, Usage: "what the role may read: scores (scores and statuses, no transcript) or transcripts"},
		&cli.StringFlag{Name: flagSchema, Value: "public", Usage: "the `SCHEMA` that holds the export's tables"},
	}
}

func runErase(c *cli.Context, e *env) error {
	return privacy.Erase(c.Context, privacy.Erasure{DatabaseURL: e.databaseURL(c), IDs: c.Args().Slice(), IDsFile: c.String("ids-file"),
		Stdin: e.stdin, Jobs: c.StringSlice("job"), Reason: c.String(flagReason), Undo: c.Bool(flagUndo), DryRun: c.Bool(flagDryRun)}, e.stdout)
}

func runRetention(c *cli.Context, e *env) error {
	if c.Args().Len() > 0 {
		return exit.UsageError{Err: fmt.Errorf("unexpected argument %q", c.Args().First())}
	}
	return privacy.Retention(c.Context, e.databaseURL(c), *c.Generic(flagRetain).(*export.Period), c.Bool(flagDryRun), time.Now(), e.stdout)
}

func runGrants(c *cli.Context, e *env) error {
	role := strings.TrimSpace(c.String(flagRole))
	if role == "" {
		return exit.UsageError{Err: errors.New("grants needs --role NAME: the reader role to grant to")}
	}
	kind, err := load.ParseReaderKind(c.String(flagKind))
	if err != nil {
		return exit.UsageError{Err: fmt.Errorf("--kind: %w", err)}
	}
	fmt.Fprintf(e.stdout, "-- A %s reader (docs/privacy.md). Create the role first, e.g.\n-- CREATE ROLE %s LOGIN PASSWORD '…';\n", kind, role)
	for _, stmt := range load.ReaderGrants(role, kind, c.String(flagSchema)) {
		fmt.Fprintln(e.stdout, stmt)
	}
	return nil
}
