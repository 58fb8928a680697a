package export

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/interview-export/interview-export/exit"
	"github.com/interview-export/interview-export/extract"
	"github.com/interview-export/interview-export/follow"
	"github.com/interview-export/interview-export/internal/sanitize"
	"github.com/interview-export/interview-export/load"
	"github.com/interview-export/interview-export/metrics"
)

// FollowOutageBound is how many --outage-timeout an outage may last before
// a follower gives up with exit 75: it rides out a shorter one.
const FollowOutageBound = 10

// Follow are the settings of a run that follows the feed.
type Follow struct {
	PollInterval  time.Duration
	WebhookListen string // serves the webhook, /metrics, /healthz, /readyz
	Listen        string // serves /metrics, /healthz, /readyz only
	Secret        []byte // the webhook's
}

// follow keeps exporting after the feed, as a follow.Service: each cycle
// that gave a proposal an outcome keeps its row in export_runs, an idle
// one leaves none, and an outage longer than FollowOutageBound ×
// --outage-timeout ends it (exit 75).
func (x *exportRun) follow(ctx context.Context, f Follow) error {
	if err := x.openShared(ctx); err != nil {
		return err
	}
	wake := make(chan struct{}, 1)
	var hook *follow.WebhookHandler
	if f.WebhookListen != "" {
		hook = &follow.WebhookHandler{Secret: f.Secret, Log: x.log, Wake: func() {
			select {
			case wake <- struct{}{}:
			default: // a wake-up is pending already
			}
		}}
	}
	seen := metrics.NewFollower(x.o.Run.Shard.String(), time.Now)
	if addr := cmp.Or(f.WebhookListen, f.Listen); addr != "" {
		stop, err := follow.Serve(addr, follow.Handler(seen, hook), x.log)
		if err != nil {
			return exit.UsageError{Err: err}
		}
		defer stop()
	}
	// The follower joins its account's pace board once the token was
	// checked: the board is keyed by the account it belongs to.
	stopSharing, sharing := func() {}, false
	defer func() { stopSharing() }()
	x.log.Info("following the change feed", "poll_interval", f.PollInterval.String(), "webhook_listen", f.WebhookListen, "listen", f.Listen)
	svc := &follow.Service{
		Cycle: func(ctx context.Context, checkToken bool) (metrics.Cycle, bool, error) {
			counts, err := x.cycle(ctx, checkToken)
			if !sharing && x.client.Account() != "" {
				stopSharing, sharing = x.shareQuota(ctx), true
			}
			return x.observed(counts, err), x.run != nil, err
		},
		Outage:       func(err error) bool { return errors.Is(err, extract.ErrAPIUnavailable) || load.Unavailable(err) },
		GiveUpAfter:  FollowOutageBound * x.o.Client.OutageTimeout,
		PollInterval: f.PollInterval,
		Wake:         wake,
		Metrics:      seen,
		Log:          x.log,
	}
	err := svc.Run(ctx)
	if oe := (*follow.OutageError)(nil); errors.As(err, &oe) {
		return fmt.Errorf("%w (%d × --outage-timeout)", err, FollowOutageBound)
	}
	return err
}

// cycle is one export of the feed from the stored cursor.
func (x *exportRun) cycle(ctx context.Context, first bool) (load.Counts, error) {
	defer x.closeCycle()
	x.started = time.Now()
	if err := x.openCycle(ctx, first); err != nil {
		return load.Counts{}, err
	}
	counts, err := x.run.Execute(ctx)
	code, msg, status, _ := ended(ctx, counts, err)
	if counts.Done() == 0 && err == nil {
		// Idle: no row of history for a poll that found nothing (a row
		// that earlier cycles of the minute wrote to stays).
		dropped, derr := x.store.DropIdleRun(context.WithoutCancel(ctx), x.runID)
		if derr != nil {
			x.log.Warn("could not drop the idle cycle's row", "error", derr.Error())
		}
		if dropped {
			x.minute = minuteRow{}
			return counts, nil
		}
	}
	x.minute.status = worse(x.minute.status, status)
	stored, ferr := x.store.FinishRun(context.WithoutCancel(ctx), x.runID, x.minute.status, errorText(code, sanitize.Secrets(msg, x.env.Secrets)),
		code, counts.After(x.minute.base))
	if ferr != nil {
		x.log.Error("could not record the end of the cycle", "error", ferr.Error())
	} else {
		x.minute.base = stored
	}
	x.prune(ctx, time.Now())
	x.log.Info("cycle finished", "run_id", x.runID, "available", counts.Available, "no_interview", counts.NoInterview,
		"failed", counts.Failed, "events_read", counts.EventsRead, "duration_seconds", counts.Duration.Seconds())
	return counts, err
}

// observed is a cycle for the metrics.
func (x *exportRun) observed(counts load.Counts, err error) metrics.Cycle {
	st := x.client.Stats()
	cy := metrics.Cycle{Available: counts.Available, NoInterview: counts.NoInterview, Failed: counts.Failed,
		FailedKnown: counts.FailedKnown, Requests: st.Requests, RateLimited: st.RateLimited, Rate: st.RatePerSecond,
		OK: err == nil, End: time.Now(), Lifecycle: countsOf(counts).lifecycle()}
	if x.feed != nil {
		cy.Newest = x.feed.Newest
	}
	return cy
}
