package extract

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"
)

// ErrAPIUnavailable means the API cannot be used now: it kept failing the
// same way (connection refused, 5xx, a 404 page without the API's envelope)
// until the circuit breaker gave up, or it asked to wait longer than the
// configured maximum. The run should stop and be tried again later; IDs not
// tried keep no outcome.
var ErrAPIUnavailable = errors.New("the API is unavailable")

// UnavailableError says why the API is taken as unavailable. It wraps
// ErrAPIUnavailable.
type UnavailableError struct {
	Reason string
	// RetryAt, when set, is when the API said it would take requests again.
	RetryAt time.Time
}

func (e *UnavailableError) Error() string { return "the API is unavailable: " + e.Reason }
func (e *UnavailableError) Unwrap() error { return ErrAPIUnavailable }

// Defaults of the circuit breaker.
const (
	DefaultBreakerStreak   = 10
	DefaultBreakerIDs      = 3
	DefaultOutageTimeout   = 30 * time.Second
	DefaultBreakerProbe    = 2 * time.Second
	DefaultMaxRetryAfter   = 5 * time.Minute
	breakerPollingInterval = 50 * time.Millisecond
)

// breaker is a circuit breaker across proposal IDs. A streak of failed
// requests (at least streak of them, over at least ids distinct IDs, with
// no success between them) opens it: requests wait, one probe at a time
// goes out every probeEvery, and a successful one closes it again. When it
// has stayed open until giveUp after the streak's first failure, every
// request fails with an *UnavailableError. Scattered transient faults never
// open it: any success resets the streak.
type breaker struct {
	streak, ids        int
	giveUp, probeEvery time.Duration
	now                func() time.Time

	mu          sync.Mutex
	failures    int
	failedIDs   map[string]struct{}
	first       time.Time // first failure of the streak
	lastProblem string
	open        bool
	probing     bool
	nextProbe   time.Time
	gaveUp      *UnavailableError
}

func newBreaker(streak, ids int, giveUp, probeEvery time.Duration) *breaker {
	return &breaker{streak: streak, ids: ids, giveUp: giveUp, probeEvery: probeEvery, now: time.Now,
		failedIDs: map[string]struct{}{}}
}

// allow blocks while the breaker is open and another request probes, and
// returns an *UnavailableError once it has given up. It returns whether
// the request it lets go is the probe.
func (b *breaker) allow(ctx context.Context) (probe bool, err error) {
	for {
		b.mu.Lock()
		now := b.now()
		switch {
		case b.gaveUp != nil:
			b.mu.Unlock()
			return false, b.gaveUp
		case !b.open:
			b.mu.Unlock()
			return false, nil
		case now.Sub(b.first) >= b.giveUp:
			b.gaveUp = &UnavailableError{Reason: fmt.Sprintf("%d requests in a row failed, for %s (last: %s)",
				b.failures, now.Sub(b.first).Round(time.Second), b.lastProblem)}
			b.mu.Unlock()
			return false, b.gaveUp
		case !b.probing && !now.Before(b.nextProbe):
			b.probing = true
			b.mu.Unlock()
			return true, nil
		}
		b.mu.Unlock()
		if err := sleep(ctx, breakerPollingInterval); err != nil {
			return false, err
		}
	}
}

// succeeded records a request, sent at sentAt, that got a real answer from
// the API. One sent before the streak's first failure says nothing of now: a
// slow answer from before an outage must not reset the streak.
func (b *breaker) succeeded(probe bool, sentAt time.Time) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if !probe && (b.open || (b.failures > 0 && sentAt.Before(b.first))) {
		return
	}
	b.failures, b.open, b.lastProblem = 0, false, ""
	clear(b.failedIDs)
	if probe {
		b.probing = false
	}
}

// failed records a request that failed in the way an outage does. It
// reports whether that opened the breaker.
func (b *breaker) failed(probe bool, proposalID, problem string) (opened bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	now := b.now()
	if b.failures == 0 {
		b.first = now
	}
	b.failures++
	if proposalID != "" && len(b.failedIDs) < b.ids {
		b.failedIDs[proposalID] = struct{}{}
	}
	b.lastProblem = problem
	if probe {
		b.probing = false
		b.nextProbe = now.Add(b.probeEvery)
	}
	if !b.open && b.failures >= b.streak && len(b.failedIDs) >= b.ids {
		b.open, b.nextProbe = true, now.Add(b.probeEvery)
		return true
	}
	return false
}

// isOpen reports whether the breaker holds requests back.
func (b *breaker) isOpen() bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.open || b.gaveUp != nil
}

// released gives the probe back when its request ended without an answer
// either way (its context ended).
func (b *breaker) released(probe bool) {
	if !probe {
		return
	}
	b.mu.Lock()
	b.probing = false
	b.mu.Unlock()
}

// unavailableIfTransient turns a request that failed for good the way an
// outage fails (connection errors, timeouts, cut bodies, 5xx) into an
// *UnavailableError: outside the per-proposal loop (the token check, a
// listing) nothing can go on without that answer.
func unavailableIfTransient(err error) error {
	var fe *FetchError
	if errors.As(err, &fe) {
		switch fe.Reason {
		case ReasonNetworkError, ReasonTimeout, ReasonTruncatedBody, ReasonServerError:
			return &UnavailableError{Reason: fe.Error()}
		}
	}
	return err
}
