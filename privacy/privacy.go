// Package privacy runs the commands of candidates' data that are not an
// export (docs/privacy.md): erase (and its undo) and retention. It owns
// what they take (the IDs to erase, one way of three, all valid or none
// used), what they say, and their errors; the SQL is package load's, the
// connection package export's. It names no flag.
package privacy

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/interview-export/interview-export/exit"
	"github.com/interview-export/interview-export/export"
	"github.com/interview-export/interview-export/extract"
	"github.com/interview-export/interview-export/load"
)

// Erasure is an erase command: the proposals given one way (IDs, IDsFile
// or Jobs), why, and whether to lift instead (Undo) or only say (DryRun).
type Erasure struct {
	DatabaseURL  string
	IDs          []string
	IDsFile      string
	Stdin        io.Reader // for IDsFile "-"
	Jobs         []string
	Reason       string
	Undo, DryRun bool
}

// Erase erases (or with Undo lifts the erasure of) the proposals e names,
// in one transaction, and says what it did on out.
func Erase(ctx context.Context, e Erasure, out io.Writer) error {
	reason := strings.TrimSpace(e.Reason)
	if reason == "" && !e.Undo {
		return exit.UsageError{Err: errors.New("erase needs --reason: why, for the record (a ticket number or \"erasure request\"; never the person's name)")}
	}
	if e.Undo && e.DryRun {
		return exit.UsageError{Err: errors.New("--undo changes nothing but the erasures table: run it without --dry-run")}
	}
	store, err := export.ConnectCurrent(ctx, e.DatabaseURL)
	if err != nil {
		return err
	}
	defer store.Close()
	ids, err := e.ids(ctx, store)
	if err != nil {
		return err
	}
	if e.Undo {
		n, err := store.Unerase(ctx, ids)
		if err != nil {
			return err
		}
		fmt.Fprintf(out, "lifted %d erasure(s) of %d ID(s) given; later runs may fetch them again\n", n, len(ids))
		return nil
	}
	r, err := store.Erase(ctx, ids, reason, e.DryRun)
	if err != nil {
		return err
	}
	verb := "erased"
	if e.DryRun {
		verb = "would erase"
	}
	fmt.Fprintf(out, "%s %d proposal(s): %d interview(s) emptied, %d message(s) deleted", verb, r.Erased, r.Interviews, r.Messages)
	if r.Unknown > 0 {
		fmt.Fprintf(out, "; %d not stored yet (recorded: never fetched)", r.Unknown)
	}
	if r.AlreadyErased > 0 {
		fmt.Fprintf(out, "; %d erased before", r.AlreadyErased)
	}
	fmt.Fprintln(out)
	if e.DryRun {
		fmt.Fprintln(out, "dry run: nothing was changed")
	}
	return nil
}

// ids are the proposals e names, given exactly one way. An invalid ID
// refuses the whole command, with its place.
func (e Erasure) ids(ctx context.Context, store *load.Store) ([]string, error) {
	given := 0
	for _, set := range []bool{len(e.IDs) > 0, e.IDsFile != "", len(e.Jobs) > 0} {
		if set {
			given++
		}
	}
	if given != 1 {
		return nil, exit.UsageError{Err: errors.New("give the proposals to erase one way: as arguments, with --ids-file PATH, or with --job ID")}
	}
	switch {
	case len(e.Jobs) > 0:
		ids, err := store.ProposalsOfJobs(ctx, e.Jobs)
		if err == nil && len(ids) == 0 {
			err = exit.UsageError{Err: fmt.Errorf("no proposal is stored for job %s: the proposals table is filled by export --updates and --job runs; "+
				"give the proposal IDs instead", strings.Join(e.Jobs, ", "))}
		}
		return ids, err
	case e.IDsFile != "":
		return fileIDs(ctx, e.IDsFile, e.Stdin)
	}
	for i, id := range e.IDs {
		if err := extract.ValidateID(id); err != nil {
			return nil, exit.UsageError{Err: fmt.Errorf("argument %d is not a proposal ID (%v), so nothing was erased", i+1, err)}
		}
	}
	return e.IDs, nil
}

// fileIDs reads an IDs file as export does; a line that is not an ID
// refuses them all.
func fileIDs(ctx context.Context, path string, stdin io.Reader) ([]string, error) {
	src, err := extract.OpenFileSource(path, stdin)
	if err != nil {
		return nil, exit.UsageError{Err: err}
	}
	defer src.Close()
	var ids, bad []string
	err = src.IDs(ctx, func(in extract.Input) error {
		if in.Kind == extract.Invalid {
			bad = append(bad, fmt.Sprintf("%s: %v", in.Where, in.Err))
		} else {
			ids = append(ids, in.ID)
		}
		return nil
	})
	switch {
	case err != nil:
		return nil, exit.UsageError{Err: err}
	case len(bad) > 0:
		return nil, exit.UsageError{Err: fmt.Errorf("%s holds %d line(s) that are not proposal IDs, so nothing was erased: %s",
			path, len(bad), strings.Join(bad[:min(len(bad), 5)], "; "))}
	case len(ids) == 0:
		return nil, exit.UsageError{Err: fmt.Errorf("%s holds no proposal ID: nothing to erase", path)}
	}
	return ids, nil
}

// Retention removes, as of now, the content past retain (keeping the
// scores) and says how much on out; with dryRun it only counts.
func Retention(ctx context.Context, databaseURL string, retain export.Period, dryRun bool, now time.Time, out io.Writer) error {
	if retain.IsZero() {
		return exit.UsageError{Err: errors.New("retention needs --retain PERIOD (18mo, 400d, 52w, 2y)")}
	}
	store, err := export.ConnectCurrent(ctx, databaseURL)
	if err != nil {
		return err
	}
	defer store.Close()
	cutoff := retain.Cutoff(now)
	n, err := store.RemoveExpired(ctx, cutoff, 0, dryRun)
	if err != nil {
		return err
	}
	verb := "removed"
	if dryRun {
		verb = "would remove"
	}
	fmt.Fprintf(out, "retention %s: %s the content of %d interview(s) whose last message is before %s (scores kept)\n",
		retain, verb, n, cutoff.UTC().Format(time.RFC3339))
	return nil
}
