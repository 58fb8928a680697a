package export

import (
	"context"
	"time"

	"github.com/interview-export/interview-export/load"
)

// DefaultKeepRuns is --keep-runs' default: the run history of a quarter.
const DefaultKeepRuns = 90 * 24 * time.Hour

// followerRowSpan is how long a follower's cycles add to one export_runs
// row: a follower records at most one row a minute.
const followerRowSpan = time.Minute

// prunePause is the least time between two prunings of a follower.
const prunePause = time.Hour

// pause lets a piece of a run's work happen at most once a period: a
// follower's cycles come every few seconds, a batch run has one.
type pause struct{ last time.Time }

// due reports whether the work may happen at now and, when it may, marks it
// done.
func (p *pause) due(now time.Time, period time.Duration) bool {
	if !p.last.IsZero() && now.Sub(p.last) < period {
		return false
	}
	p.last = now
	return true
}

// minuteRow is the export_runs row a follower's cycles of one minute share.
type minuteRow struct {
	id      int64
	started time.Time
	// base holds the intake totals the row stored (earlier cycles'), and
	// status the worst status of its cycles.
	base   load.Counts
	status load.RunStatus
}

// shared reports whether a cycle starting at now adds to the row.
func (m minuteRow) shared(now time.Time) bool {
	return m.id != 0 && now.Sub(m.started) < followerRowSpan
}

// worse is the status of a row whose cycles ended as a and b: a failure
// outweighs an interruption, which outweighs a partial run.
func worse(a, b load.RunStatus) load.RunStatus {
	rank := map[load.RunStatus]int{"": 0, load.RunSucceeded: 1, load.RunPartial: 2, load.RunInterrupted: 3, load.RunFailed: 4}
	if rank[a] > rank[b] {
		return a
	}
	return b
}

// prune removes the runs older than --keep-runs, with their failures; a
// follower prunes at most once an hour. A failure to prune is logged: the
// history waits for the next run.
func (x *exportRun) prune(ctx context.Context, now time.Time) {
	keep := x.o.KeepRuns
	if keep <= 0 || x.o.DryRun || x.store == nil || !x.pruning.due(now, prunePause) {
		return
	}
	p, err := x.store.PruneRuns(context.WithoutCancel(ctx), now.Add(-keep))
	if err != nil {
		x.log.Warn("could not prune the run history; the next run tries again", "error", err.Error())
		return
	}
	if p.Runs > 0 {
		x.log.Info("pruned the run history", "runs", p.Runs, "failures", p.Failures, "keep_runs", keep.String())
	}
}
