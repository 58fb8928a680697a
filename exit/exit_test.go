package exit_test

import (
	"context"
	"errors"
	"fmt"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/stretchr/testify/assert"

	"github.com/interview-export/interview-export/exit"
	"github.com/interview-export/interview-export/extract"
	"github.com/interview-export/interview-export/idquery"
	"github.com/interview-export/interview-export/load"
)

func TestExitStatus(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		err  error
		code int
		want string // a part of the message; "" for none
	}{
		{"success", nil, exit.OK, ""},
		{"some failed", exit.ErrSomeFailed, exit.Failures, ""},
		{"SIGINT", fmt.Errorf("run: %w", exit.SignalError{Signal: syscall.SIGINT}), exit.Interrupted, "run again to finish"},
		{"SIGTERM", exit.SignalError{Signal: syscall.SIGTERM}, exit.Terminated, "committed work is kept"},
		{"locked", fmt.Errorf("shard 0/1: %w", load.ErrLocked), exit.Locked, "wait for it to finish"},
		{"401", fmt.Errorf("fetch: %w", extract.ErrUnauthorized), exit.Usage, "OT_API_TOKEN or --token-file"},
		{"scope", fmt.Errorf("%w: needs jobs:read", extract.ErrScopeMissing), exit.Usage, "jobs:read"},
		{"listing refused", fmt.Errorf("%w: GET /jobs/j/proposals: forbidden", extract.ErrListingRefused), exit.Usage, "--job"},
		{"query refused", &idquery.RefusedError{Reason: "returns 2 columns"}, exit.Usage, "--ids-query returns 2 columns"},
		{"query timeout", &idquery.RefusedError{Reason: "slow", Timeout: true}, exit.Usage, "--ids-query-timeout"},
		{"client config", fmt.Errorf("%w: API base URL", extract.ErrConfig), exit.Usage, "--api-url"},
		{"usage", exit.UsageError{Err: errors.New("--rate -1: want 0 or more")}, exit.Usage, "--rate -1"},
		{"outage", fmt.Errorf("fetch: %w", &extract.UnavailableError{Reason: "10 requests in a row failed"}), exit.Unavailable, "run again later"},
		{"long retry-after", &extract.UnavailableError{Reason: "429", RetryAt: time.Date(2026, 11, 29, 3, 0, 0, 0, time.UTC)}, exit.Unavailable, "run again after 2026-11-29T03:00:00Z"},
		{"lock held", &load.LockHeldError{Tries: 5, Holders: "pid 7"}, exit.RunFailed, "pid 7"},
		{"database gone", errors.New("write batch: conn closed"), exit.RunFailed, "conn closed"},
		{"grant missing", fmt.Errorf("%w: DELETE on interview_messages", load.ErrPermission), exit.Usage, "GRANT it"},
		{"permission denied", fmt.Errorf("write batch: %w", &pgconn.PgError{Code: "42501", Message: "permission denied for table jobs"}), exit.Usage, "docs/operations.md"},
		{"context", context.Canceled, exit.RunFailed, "canceled"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			code, msg := exit.Status(tt.err)
			assert.Equal(t, tt.code, code)
			if tt.want == "" {
				assert.Empty(t, msg)
			} else {
				assert.Contains(t, msg, tt.want)
			}
		})
	}
}

func TestRunStatus(t *testing.T) {
	t.Parallel()
	assert.Equal(t, load.RunSucceeded, exit.RunStatus(exit.OK))
	assert.Equal(t, load.RunPartial, exit.RunStatus(exit.Failures))
	assert.Equal(t, load.RunInterrupted, exit.RunStatus(exit.Interrupted))
	assert.Equal(t, load.RunInterrupted, exit.RunStatus(exit.Terminated))
	assert.Equal(t, load.RunFailed, exit.RunStatus(exit.Usage))
	assert.Equal(t, load.RunFailed, exit.RunStatus(exit.RunFailed))
}
