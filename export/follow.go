package command

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/interview-export/interview-export/extract"
	"github.com/interview-export/interview-export/follow"
	"github.com/interview-export/interview-export/load"
	"github.com/interview-export/interview-export/metrics"
)

// followOutageBound is how many --outage-timeout an outage may last before
// a follower gives up with exit 75: it rides out a shorter one.
const followOutageBound = 10

// followOptions are export --updates --follow's own settings.
type followOptions struct {
	pollInterval  time.Duration
	webhookListen string
	listen        string
	secret        []byte
}

func (f followOptions) validate(o exportOptions) error {
	switch {
	case !o.source.updates:
		return errors.New("--follow follows the change feed: pass --updates too")
	case o.dryRun:
		return errors.New("--follow writes as it goes: it does not take --dry-run")
	case f.pollInterval < time.Second:
		return fmt.Errorf("--poll-interval %s: want 1s or more", f.pollInterval)
	case f.webhookListen != "" && len(f.secret) == 0:
		return errors.New("--webhook-listen verifies every delivery: give the secret (whsec_…) with --webhook-secret-file FILE or INTERVIEW_EXPORT_WEBHOOK_SECRET")
	case f.webhookListen != "" && f.listen != "":
		return errors.New("--webhook-listen serves /metrics, /healthz and /readyz too: drop --listen")
	}
	return nil
}

// readSecret reads the webhook secret from path, else the environment.
func readSecret(path string, getenv func(string) string) ([]byte, error) {
	secret := strings.TrimSpace(getenv("INTERVIEW_EXPORT_WEBHOOK_SECRET"))
	if path != "" {
		raw, err := os.ReadFile(path)
		if err != nil {
			return nil, fmt.Errorf("read --webhook-secret-file: %w", err)
		}
		secret = strings.TrimSpace(string(raw))
	}
	if secret == "" {
		return nil, nil
	}
	return []byte(secret), nil
}

// follow keeps exporting after the feed, as a follow.Service: each cycle
// that gave a proposal an outcome keeps its row in export_runs, an idle
// one leaves none, and an outage longer than followOutageBound ×
// --outage-timeout ends it (exit 75).
func (x *exportRun) follow(c *cli.Context, f followOptions) error {
	ctx := c.Context
	if err := x.openShared(c); err != nil {
		return err
	}
	wake := make(chan struct{}, 1)
	var hook *follow.WebhookHandler
	if f.webhookListen != "" {
		hook = &follow.WebhookHandler{Secret: f.secret, Log: x.log, Wake: func() {
			select {
			case wake <- struct{}{}:
			default: // a wake-up is pending already
			}
		}}
	}
	seen := metrics.NewFollower(x.o.run.Shard.String(), time.Now)
	if addr := cmp.Or(f.webhookListen, f.listen); addr != "" {
		stop, err := follow.Serve(addr, follow.Handler(seen, hook), x.log)
		if err != nil {
			return usageError{err}
		}
		defer stop()
	}
	// The follower joins its account's pace board once the token was
	// checked: the board is keyed by the account it belongs to.
	stopSharing, sharing := func() {}, false
	defer func() { stopSharing() }()
	x.log.Info("following the change feed", "poll_interval", f.pollInterval.String(), "webhook_listen", f.webhookListen, "listen", f.listen)
	svc := &follow.Service{
		Cycle: func(ctx context.Context, checkToken bool) (metrics.Cycle, bool, error) {
			counts, err := x.cycle(ctx, checkToken)
			if !sharing && x.client.Account() != "" {
				stopSharing, sharing = x.shareQuota(ctx), true
			}
			return x.observed(counts, err), x.run != nil, err
		},
		Outage:       func(err error) bool { return errors.Is(err, extract.ErrAPIUnavailable) || load.Unavailable(err) },
		GiveUpAfter:  followOutageBound * x.o.client.OutageTimeout,
		PollInterval: f.pollInterval,
		Wake:         wake,
		Metrics:      seen,
		Log:          x.log,
	}
	err := svc.Run(ctx)
	if oe := (*follow.OutageError)(nil); errors.As(err, &oe) {
		return fmt.Errorf("%w (%d × --outage-timeout)", err, followOutageBound)
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
		// Idle: no row of history for a poll that found nothing.
		dropped, derr := x.store.DropIdleRun(context.WithoutCancel(ctx), x.runID)
		if derr != nil {
			x.log.Warn("could not drop the idle cycle's row", "error", derr.Error())
		}
		if dropped {
			return counts, nil
		}
	}
	if _, ferr := x.store.FinishRun(context.WithoutCancel(ctx), x.runID, status, errorText(code, redact(msg, x.e.secrets)), code, counts); ferr != nil {
		x.log.Error("could not record the end of the cycle", "error", ferr.Error())
	}
	x.log.Info("cycle finished", "run_id", x.runID, "available", counts.Available, "no_interview", counts.NoInterview,
		"failed", counts.Failed, "events_read", counts.EventsRead, "duration_seconds", counts.Duration.Seconds())
	return counts, err
}

// observed is a cycle for the metrics.
func (x *exportRun) observed(counts load.Counts, err error) metrics.Cycle {
	st := x.client.Stats()
	cy := metrics.Cycle{Available: counts.Available, NoInterview: counts.NoInterview, Failed: counts.Failed,
		FailedKnown: counts.FailedKnown, Requests: st.Requests, RateLimited: st.RateLimited, Rate: st.RatePerSecond,
		OK: err == nil, End: time.Now()}
	if src, ok := x.src.(*extract.UpdatesSource); ok {
		cy.Newest = src.Newest
	}
	return cy
}
