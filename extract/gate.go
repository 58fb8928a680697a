package extract

import (
	"context"
	"math"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// Gate spaces requests for the whole run: every worker calls Wait before each
// request. It combines a token-bucket limiter (burst 1) with a pause that a
// 429 imposes on everyone until its Retry-After, and adapts: each 429 halves
// the rate, and each calm second raises it by half back up to the
// configured ceiling.
type Gate struct {
	mu          sync.Mutex
	lim         *rate.Limiter
	ceiling     rate.Limit // configured rate; rate.Inf when unlimited
	restoreAt   rate.Limit // when unlimited: the rate above which the limit is lifted again
	pausedUntil time.Time
	lastCut     time.Time
	lastRaise   time.Time
	// starts counted per second, to know the actual rate when unlimited.
	secStart         time.Time
	thisSec, prevSec int
	now              func() time.Time
}

// minRate is the floor of the adaptive rate: one request every two seconds.
const minRate = rate.Limit(0.5)

// NewGate returns a gate allowing perSecond requests per second; 0 means no
// limit until the API answers 429.
func NewGate(perSecond float64) *Gate {
	ceiling := rate.Inf
	if perSecond > 0 {
		ceiling = rate.Limit(perSecond)
	}
	return &Gate{lim: rate.NewLimiter(ceiling, 1), ceiling: ceiling, now: time.Now}
}

// Wait blocks until a request may leave: after any pause a 429 announced and
// within the current rate. It returns ctx's error if ctx ends first.
func (g *Gate) Wait(ctx context.Context) error {
	for {
		g.mu.Lock()
		wait := g.pausedUntil.Sub(g.now())
		g.mu.Unlock()
		if wait > 0 {
			if err := sleep(ctx, wait); err != nil {
				return err
			}
			continue
		}
		if err := g.lim.Wait(ctx); err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			return err
		}
		g.mu.Lock()
		now := g.now()
		if now.Before(g.pausedUntil) { // a 429 arrived while we waited for a token
			g.mu.Unlock()
			continue
		}
		g.count(now)
		g.raise(now)
		g.mu.Unlock()
		return nil
	}
}

// Pause holds every request until retryAfter has passed and lowers the rate.
// A burst of 429s answered to requests already in flight lowers it once.
func (g *Gate) Pause(retryAfter time.Duration) {
	g.mu.Lock()
	defer g.mu.Unlock()
	now := g.now()
	if until := now.Add(retryAfter); until.After(g.pausedUntil) {
		g.pausedUntil = until
	}
	if now.Sub(g.lastCut) < time.Second {
		return
	}
	cur := g.lim.Limit()
	if cur == rate.Inf {
		cur = rate.Limit(max(g.prevSec, g.thisSec, 1))
		g.restoreAt = cur * 4
	}
	g.lim.SetLimitAt(now, max(cur/2, minRate))
	g.lastCut = now
	g.lastRaise = g.pausedUntil
}

// Limit returns the current rate; math.Inf(1) when unlimited.
func (g *Gate) Limit() float64 {
	l := g.lim.Limit()
	if l == rate.Inf {
		return math.Inf(1)
	}
	return float64(l)
}

func (g *Gate) count(now time.Time) {
	if now.Sub(g.secStart) >= time.Second {
		if now.Sub(g.secStart) >= 2*time.Second {
			g.prevSec = 0
		} else {
			g.prevSec = g.thisSec
		}
		g.thisSec = 0
		g.secStart = now
	}
	g.thisSec++
}

func (g *Gate) raise(now time.Time) {
	cur := g.lim.Limit()
	if cur == g.ceiling || now.Sub(g.lastRaise) < time.Second {
		return
	}
	next := cur * 1.5
	switch {
	case g.ceiling != rate.Inf && next >= g.ceiling:
		next = g.ceiling
	case g.ceiling == rate.Inf && next >= g.restoreAt:
		next = rate.Inf
	}
	g.lim.SetLimitAt(now, next)
	g.lastRaise = now
}

// sleep waits for d or until ctx ends.
func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
