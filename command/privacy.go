package command

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/interview-export/interview-export/exit"
	"github.com/interview-export/interview-export/export"
	"github.com/interview-export/interview-export/extract"
	"github.com/interview-export/interview-export/load"
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

// eraseIDs are the IDs erase was given: arguments, --ids-file or --job
// (exactly one way). An invalid ID refuses the whole command, with its line.
func eraseIDs(c *cli.Context, e *env, store *load.Store) ([]string, error) {
	args, file, jobs := c.Args().Slice(), c.String("ids-file"), c.StringSlice("job")
	given := 0
	for _, set := range []bool{len(args) > 0, file != "", len(jobs) > 0} {
		if set {
			given++
		}
	}
	if given != 1 {
		return nil, exit.UsageError{Err: errors.New("give the proposals to erase one way: as arguments, with --ids-file PATH, or with --job ID")}
	}
	switch {
	case len(jobs) > 0:
		ids, err := store.ProposalsOfJobs(c.Context, jobs)
		if err != nil {
			return nil, err
		}
		if len(ids) == 0 {
			return nil, exit.UsageError{Err: fmt.Errorf("no proposal is stored for job %s: the proposals table is filled by export --updates and --job runs; "+
				"give the proposal IDs instead", strings.Join(jobs, ", "))}
		}
		return ids, nil
	case file != "":
		src, err := extract.OpenFileSource(file, e.stdin)
		if err != nil {
			return nil, exit.UsageError{Err: err}
		}
		defer src.Close()
		var ids, bad []string
		err = src.IDs(c.Context, func(in extract.Input) error {
			if in.Kind == extract.Invalid {
				bad = append(bad, fmt.Sprintf("%s: %v", in.Where, in.Err))
			} else {
				ids = append(ids, in.ID)
			}
			return nil
		})
		if err != nil {
			return nil, exit.UsageError{Err: err}
		}
		if len(bad) > 0 {
			return nil, exit.UsageError{Err: fmt.Errorf("%s holds %d line(s) that are not proposal IDs, so nothing was erased: %s",
				file, len(bad), strings.Join(bad[:min(len(bad), 5)], "; "))}
		}
		return ids, nil
	}
	for i, id := range args {
		if err := extract.ValidateID(id); err != nil {
			return nil, exit.UsageError{Err: fmt.Errorf("argument %d is not a proposal ID (%v), so nothing was erased", i+1, err)}
		}
	}
	return args, nil
}

func runErase(c *cli.Context, e *env) error {
	reason := strings.TrimSpace(c.String(flagReason))
	undo, dry := c.Bool(flagUndo), c.Bool(flagDryRun)
	if reason == "" && !undo {
		return exit.UsageError{Err: errors.New("erase needs --reason: why, for the record (a ticket number or \"erasure request\"; never the person's name)")}
	}
	store, err := export.ConnectCurrent(c.Context, e.databaseURL(c))
	if err != nil {
		return err
	}
	defer store.Close()
	ids, err := eraseIDs(c, e, store)
	if err != nil {
		return err
	}
	if len(ids) == 0 {
		return exit.UsageError{Err: errors.New("no proposal ID given: nothing to erase")}
	}
	if undo {
		if dry {
			return exit.UsageError{Err: errors.New("--undo changes nothing but the erasures table: run it without --dry-run")}
		}
		n, err := store.Unerase(c.Context, ids)
		if err != nil {
			return err
		}
		fmt.Fprintf(e.stdout, "lifted %d erasure(s) of %d ID(s) given; later runs may fetch them again\n", n, len(ids))
		return nil
	}
	r, err := store.Erase(c.Context, ids, reason, dry)
	if err != nil {
		return err
	}
	verb := "erased"
	if dry {
		verb = "would erase"
	}
	fmt.Fprintf(e.stdout, "%s %d proposal(s): %d interview(s) emptied, %d message(s) deleted", verb, r.Erased, r.Interviews, r.Messages)
	if r.Unknown > 0 {
		fmt.Fprintf(e.stdout, "; %d not stored yet (recorded: never fetched)", r.Unknown)
	}
	if r.AlreadyErased > 0 {
		fmt.Fprintf(e.stdout, "; %d erased before", r.AlreadyErased)
	}
	fmt.Fprintln(e.stdout)
	if dry {
		fmt.Fprintln(e.stdout, "dry run: nothing was changed")
	}
	return nil
}

func runRetention(c *cli.Context, e *env) error {
	if c.Args().Len() > 0 {
		return exit.UsageError{Err: fmt.Errorf("unexpected argument %q", c.Args().First())}
	}
	p := *c.Generic(flagRetain).(*export.Period)
	if p.IsZero() {
		return exit.UsageError{Err: errors.New("retention needs --retain PERIOD (18mo, 400d, 52w, 2y)")}
	}
	store, err := export.ConnectCurrent(c.Context, e.databaseURL(c))
	if err != nil {
		return err
	}
	defer store.Close()
	cutoff := p.Cutoff(time.Now())
	n, err := store.RemoveExpired(c.Context, cutoff, 0, c.Bool(flagDryRun))
	if err != nil {
		return err
	}
	verb := "removed"
	if c.Bool(flagDryRun) {
		verb = "would remove"
	}
	fmt.Fprintf(e.stdout, "retention %s: %s the content of %d interview(s) whose last message is before %s (scores kept)\n",
		p, verb, n, cutoff.UTC().Format(time.RFC3339))
	return nil
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
