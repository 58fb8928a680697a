package command

import (
	"context"
	"errors"
	"fmt"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"

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
		{"success", nil, ExitOK, ""},
		{"some failed", errSomeFailed, ExitFailures, ""},
		{"SIGINT", fmt.Errorf("run: %w", SignalError{Signal: syscall.SIGINT}), ExitInterrupted, "run again to finish"},
		{"SIGTERM", SignalError{Signal: syscall.SIGTERM}, ExitTerminated, "committed work is kept"},
		{"locked", fmt.Errorf("shard 0/1: %w", load.ErrLocked), ExitLocked, "wait for it to finish"},
		{"401", fmt.Errorf("fetch: %w", extract.ErrUnauthorized), ExitUsage, "OT_API_TOKEN or --token-file"},
		{"scope", fmt.Errorf("%w: needs jobs:read", extract.ErrScopeMissing), ExitUsage, "jobs:read"},
		{"listing refused", fmt.Errorf("%w: GET /jobs/j/proposals: forbidden", extract.ErrListingRefused), ExitUsage, "--job"},
		{"query refused", &idquery.RefusedError{Reason: "returns 2 columns"}, ExitUsage, "--ids-query returns 2 columns"},
		{"query timeout", &idquery.RefusedError{Reason: "slow", Timeout: true}, ExitUsage, "--ids-query-timeout"},
		{"client config", fmt.Errorf("%w: API base URL", extract.ErrConfig), ExitUsage, "--api-url"},
		{"usage", usageError{errors.New("--rate -1: want 0 or more")}, ExitUsage, "--rate -1"},
		{"outage", fmt.Errorf("fetch: %w", &extract.UnavailableError{Reason: "10 requests in a row failed"}), ExitUnavailable, "run again later"},
		{"long retry-after", &extract.UnavailableError{Reason: "429", RetryAt: time.Date(2026, 11, 29, 3, 0, 0, 0, time.UTC)}, ExitUnavailable, "run again after 2026-11-29T03:00:00Z"},
		{"lock held", &load.LockHeldError{Tries: 5, Holders: "pid 7"}, ExitRunFailed, "pid 7"},
		{"database gone", errors.New("write batch: conn closed"), ExitRunFailed, "conn closed"},
		{"context", context.Canceled, ExitRunFailed, "canceled"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			code, msg := exitStatus(tt.err)
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
	assert.Equal(t, load.RunSucceeded, runStatus(ExitOK))
	assert.Equal(t, load.RunPartial, runStatus(ExitFailures))
	assert.Equal(t, load.RunInterrupted, runStatus(ExitInterrupted))
	assert.Equal(t, load.RunInterrupted, runStatus(ExitTerminated))
	assert.Equal(t, load.RunFailed, runStatus(ExitUsage))
	assert.Equal(t, load.RunFailed, runStatus(ExitRunFailed))
}
