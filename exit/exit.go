// Package exit owns the exit statuses of the contract (README.md, Exit
// statuses) and the one mapping from the error that ended a command to its
// status and its line of advice, which names the flags and environment
// variables to look at. It also keeps the hooks that run when a second signal
// ends the process at once. It does no I/O and knows no flag parsing: the
// library packages return sentinels and typed errors, and only this package
// turns them into advice.
package exit

import (
	"errors"
	"fmt"
	"os"
	"sync"
	"syscall"
	"time"

	"github.com/interview-export/interview-export/extract"
	"github.com/interview-export/interview-export/idquery"
	"github.com/interview-export/interview-export/load"
)

// Exit statuses; see README.md.
const (
	OK          = 0   // every ID reached a recorded outcome, none failed
	Failures    = 1   // finished, some IDs failed (each is in export_failures)
	Usage       = 2   // usage, configuration or authentication error
	RunFailed   = 3   // the run stopped part-way on an unexpected error (database lost); committed work stays
	Locked      = 4   // another export on the same database and shard is running
	Unavailable = 75  // the API is unavailable or asks to wait too long (EX_TEMPFAIL): try again later
	Interrupted = 130 // SIGINT, after committing or rolling back what was in flight
	Terminated  = 143 // SIGTERM, likewise
)

// SignalError is the cause main gives the run's context when a signal arrives.
type SignalError struct{ Signal os.Signal }

func (e SignalError) Error() string {
	switch e.Signal {
	case syscall.SIGINT:
		return "interrupted by SIGINT"
	case syscall.SIGTERM:
		return "interrupted by SIGTERM"
	}
	return "interrupted by " + e.Signal.String()
}

// UsageError is a bad flag, value or configuration: exit status 2.
type UsageError struct{ Err error }

func (e UsageError) Error() string { return e.Err.Error() }
func (e UsageError) Unwrap() error { return e.Err }

// FeedCursorError is a shard's stored feed cursor that the API refuses.
type FeedCursorError struct {
	Shard string
	Err   *extract.CursorRefusedError
}

func (e FeedCursorError) Error() string { return fmt.Sprintf("shard %s: %v", e.Shard, e.Err) }
func (e FeedCursorError) Unwrap() error { return e.Err }

// Reported ends a command whose lines said what went wrong already (check):
// exit status Code, nothing more printed.
type Reported struct{ Code int }

func (e Reported) Error() string { return "" }

// ErrSomeFailed ends an export in which some IDs failed: exit status 1,
// with nothing more to print than the summary.
var ErrSomeFailed = errors.New("some proposals failed")

// Status maps the error that ended a command to its exit status and the
// line to print on stderr (empty for none). It is the only place that turns
// the library packages' sentinels and typed errors into advice that names
// flags and environment variables.
func Status(err error) (code int, message string) {
	var (
		sig     SignalError
		refused *idquery.RefusedError
		usage   UsageError
		cursor  FeedCursorError
		check   Reported
		header  *extract.HeaderError
		column  *extract.ColumnError
	)
	switch {
	case err == nil:
		return OK, ""
	case errors.Is(err, ErrSomeFailed):
		return Failures, ""
	case errors.As(err, &check):
		return check.Code, ""
	case errors.As(err, &sig):
		code := Interrupted
		if sig.Signal == syscall.SIGTERM {
			code = Terminated
		}
		return code, fmt.Sprintf("%v: committed work is kept; run again to finish", err)
	case errors.Is(err, load.ErrLocked):
		return Locked, fmt.Sprintf("%v: wait for it to finish (a killed run releases its lock at once)", err)
	case errors.Is(err, extract.ErrAPIUnavailable):
		var ue *extract.UnavailableError
		when := "later"
		if errors.As(err, &ue) && !ue.RetryAt.IsZero() {
			when = "after " + ue.RetryAt.UTC().Format(time.RFC3339)
		}
		return Unavailable, fmt.Sprintf("%v: stopped early (see --outage-timeout and --max-retry-after); committed work is kept, "+
			"IDs not tried have no outcome yet: run again %s", err, when)
	case load.PermissionDenied(err):
		return Usage, fmt.Sprintf("%v: GRANT it to the role (docs/operations.md, Least privilege); "+
			"'interview-export check' lists every privilege an export needs", err)
	case load.Unavailable(err):
		return Unavailable, fmt.Sprintf("%v: stopped early; committed work is kept, IDs not tried have no outcome yet: "+
			"run again once the database answers", err)
	case errors.Is(err, extract.ErrUnauthorized):
		return Usage, fmt.Sprintf("%v: check OT_API_TOKEN or --token-file; the token may be expired or revoked", err)
	case errors.Is(err, extract.ErrScopeMissing):
		return Usage, err.Error()
	case errors.As(err, &cursor):
		return Usage, fmt.Sprintf("%v: no run of this shard can go on from it. See where each shard stands with "+
			"'interview-export feed status', then run 'interview-export feed reset --shard %s --to beginning' (the next run "+
			"reads the whole feed again: safe, fetches are idempotent) or '--to latest' (skips the history in between)",
			err, cursor.Shard)
	case errors.Is(err, extract.ErrListingRefused):
		return Usage, fmt.Sprintf("%v: check the IDs given to --job, and that the token has the jobs:read scope", err)
	case errors.As(err, &refused):
		if refused.Timeout {
			return Usage, "--ids-query ran longer than --ids-query-timeout: make it cheaper or raise the timeout"
		}
		return Usage, "--ids-query " + refused.Reason
	case errors.Is(err, extract.ErrConfig):
		return Usage, fmt.Sprintf("%v (see --api-url, OT_API_TOKEN and --token-file)", err)
	case errors.As(err, &header):
		return Usage, fmt.Sprintf("%v: to read the IDs of one of its columns, pass --ids-column NAME (for example --ids-column proposal_id); "+
			"else remove that line. Nothing was exported", err)
	case errors.As(err, &column):
		return Usage, fmt.Sprintf("--ids-column: %v", err)
	case errors.As(err, &usage):
		return Usage, err.Error()
	}
	return RunFailed, err.Error()
}

// RunStatus is the status an export run is recorded with when it ends with
// exit status code.
func RunStatus(code int) load.RunStatus {
	switch code {
	case OK:
		return load.RunSucceeded
	case Failures:
		return load.RunPartial
	case Interrupted, Terminated:
		return load.RunInterrupted
	}
	return load.RunFailed
}

// abortHooks run when a second signal ends the process at once.
var abortHooks struct {
	sync.Mutex
	hooks map[int]func(os.Signal)
	next  int
}

// OnAbort registers f to run on Abort; the returned func unregisters it.
func OnAbort(f func(os.Signal)) (unregister func()) {
	abortHooks.Lock()
	defer abortHooks.Unlock()
	if abortHooks.hooks == nil {
		abortHooks.hooks = map[int]func(os.Signal){}
	}
	id := abortHooks.next
	abortHooks.next++
	abortHooks.hooks[id] = f
	return func() {
		abortHooks.Lock()
		delete(abortHooks.hooks, id)
		abortHooks.Unlock()
	}
}

// Abort is what main calls when a second signal arrives, just before it
// exits: a running export records itself as interrupted, if the database
// answers within a second.
func Abort(sig os.Signal) {
	abortHooks.Lock()
	hooks := make([]func(os.Signal), 0, len(abortHooks.hooks))
	for _, f := range abortHooks.hooks {
		hooks = append(hooks, f)
	}
	abortHooks.Unlock()
	for _, f := range hooks {
		f(sig)
	}
}
