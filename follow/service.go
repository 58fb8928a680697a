package follow

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/interview-export/interview-export/metrics"
)

// Service is the follower: a cycle (read the change feed from its cursor
// and export what it says), then a wait for the poll interval or a
// webhook's wake-up, and again, until ctx ends (a signal: Run returns nil),
// a cycle fails for good, or an outage outlasts GiveUpAfter.
type Service struct {
	// Cycle runs one cycle; checkToken asks it to check the token first
	// (until a cycle got past that check, every cycle does). It returns
	// what the cycle did, whether it got past the token check, and its
	// error.
	Cycle func(ctx context.Context, checkToken bool) (c metrics.Cycle, pastToken bool, err error)
	// Outage says whether a cycle's error is an outage (the API or the
	// database not answering), which the follower rides out.
	Outage func(error) bool
	// GiveUpAfter is how long an outage may last before Run gives up with
	// an *OutageError.
	GiveUpAfter  time.Duration
	PollInterval time.Duration
	// Wake, when not nil, starts the next cycle at once (a webhook).
	Wake <-chan struct{}
	// Metrics observes each cycle.
	Metrics *metrics.Follower
	Log     *slog.Logger
	// Now is the clock the outage is timed with (time.Now when nil).
	Now func() time.Time
	// CycleDone, when set, is told each cycle's end, after the metrics:
	// a signal for tests that wait on a cycle rather than on the clock.
	CycleDone func(c metrics.Cycle, err error)
}

// OutageError is what a follower gives up with: an outage that lasted
// longer than its bound. It wraps the last cycle's error.
type OutageError struct {
	Bound time.Duration
	Err   error
}

func (e *OutageError) Error() string {
	return fmt.Sprintf("the outage lasted longer than %s: %v", e.Bound, e.Err)
}
func (e *OutageError) Unwrap() error { return e.Err }

// Run runs cycles until ctx ends, a cycle fails for good or an outage
// outlasts GiveUpAfter. Its outage policy, in one place: a cycle that
// succeeds ends the outage; one that meets an outage is tried again at the
// next poll, with a warning, until the outage is older than GiveUpAfter.
func (s *Service) Run(ctx context.Context) error {
	now := s.Now
	if now == nil {
		now = time.Now
	}
	var outageSince time.Time
	checked := false
	for {
		c, past, err := s.Cycle(ctx, !checked)
		checked = checked || err == nil || past
		s.Metrics.Observe(c)
		if s.CycleDone != nil {
			s.CycleDone(c, err)
		}
		switch {
		case ctx.Err() != nil:
			s.Log.Info("follower stopped", "signal", context.Cause(ctx).Error())
			return nil // a service asked to stop
		case err == nil:
			outageSince = time.Time{}
		case s.Outage(err):
			if outageSince.IsZero() {
				outageSince = now()
			}
			if lasted := now().Sub(outageSince); lasted > s.GiveUpAfter {
				return &OutageError{Bound: s.GiveUpAfter, Err: err}
			}
			s.Log.Warn("cycle stopped by an outage: trying again at the next poll", "error", err.Error(),
				"outage_for", now().Sub(outageSince).Round(time.Second).String(), "gives_up_after", s.GiveUpAfter.String())
		default:
			return err
		}
		poll := time.NewTimer(s.PollInterval)
		select {
		case <-ctx.Done():
			poll.Stop()
			s.Log.Info("follower stopped", "signal", context.Cause(ctx).Error())
			return nil
		case <-s.Wake:
			poll.Stop()
		case <-poll.C:
		}
	}
}

// Handler serves /metrics, /healthz (alive) and /readyz (the database and
// the API answered in the last cycle), and /webhooks/opentrain when hook is
// not nil.
func Handler(m *metrics.Follower, hook *WebhookHandler) http.Handler {
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", m.Handler())
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) { w.Write([]byte("ok\n")) })
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, _ *http.Request) {
		if !m.Ready() {
			http.Error(w, "the last cycle could not reach the database or the API", http.StatusServiceUnavailable)
			return
		}
		w.Write([]byte("ready\n"))
	})
	if hook != nil {
		m.CountDeliveries("accepted", hook.Accepted.Load)
		m.CountDeliveries("duplicate", hook.Duplicates.Load)
		m.CountDeliveries("refused", hook.Refused.Load)
		mux.Handle("/webhooks/opentrain", hook)
	}
	return mux
}

// Serve starts an HTTP server for h on addr; stop shuts it down within 2
// seconds.
func Serve(addr string, h http.Handler, log *slog.Logger) (stop func(), err error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("listen on %s: %w", addr, err)
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 5 * time.Second, ReadTimeout: 10 * time.Second, WriteTimeout: 10 * time.Second}
	go srv.Serve(ln)
	log.Info("listening", "addr", ln.Addr().String(), "paths", "/webhooks/opentrain /metrics /healthz /readyz")
	return func() {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		srv.Shutdown(ctx)
	}, nil
}
