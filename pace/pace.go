// Package pace decides how fast requests may leave for an API whose quota
// is not documented: it learns the quota from the API's 429s (or from its
// RateLimit headers), holds just under it, probes above it now and then to
// find one that grew, and shares it with the other processes on the same
// account through a Board.
//
// It owns the model and nothing else: it knows no HTTP, no database and no
// flags. Time is passed into every method that depends on it, as
// golang.org/x/time/rate does, so that tests and the simulator drive the
// real admission path in virtual time; only Wait reads the wall clock.
//
// The model, in one place (Pace.step): the requests and 429s are counted
// per second, and once a second the pace moves according to its Phase:
//
//	Starting   no quota known: the pace doubles from Tuning.Start each
//	           calm second that used half of it (up to the ceiling).
//	Holding    at Tuning.Hold of the quota learned (or at the ceiling),
//	           climbing back by Tuning.Regain a second when below it;
//	           after Tuning.ProbeAfter calm, a probe starts.
//	Probing    steps above the pace held, each twice the last while they
//	           pass; a refused second ends the probe at the last step that
//	           passed.
//	Announced  at Tuning.HoldAnnounced of the quota the API announced.
//
// A refused second (a 429 with Retry-After, or 429s without it on
// Tuning.BareShare of the requests) says the quota is at most the pace; when
// Tuning.OverShare of the last two seconds' requests were refused, it is
// about what the API accepted of them. Refused seconds no more than two
// seconds apart are one episode, which never cuts below Tuning.EpisodeFloor
// of the pace it interrupted. Every change keeps the pace between
// Tuning.Floor and the ceiling.
package pace

import (
	"cmp"
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// Phase is what the pace is doing; see the package doc.
type Phase int

const (
	Starting Phase = iota
	Holding
	Probing
	Announced
)

func (ph Phase) String() string {
	return [...]string{"starting", "holding", "probing", "announced"}[ph]
}

// Facts of the model's structure rather than tunings: how the counts are
// windowed and what a second must hold to say something.
const (
	episodeGap = 2 * time.Second // refused seconds further apart than this are two episodes
	noChange   = 0.01            // a move of less than 1% of the pace is not made
)

// Config makes a Pace.
type Config struct {
	// Ceiling is the most requests per second ever allowed (--rate); 0
	// means none: the pace starts slow and may be lifted.
	Ceiling float64
	// Tuning is the rules' numbers; the zero value means DefaultTuning.
	Tuning Tuning
	// Changed, when set, is told each change of the pace, with the Pace's
	// lock held: it must not call the Pace.
	Changed func(Status)
	// Seed seeds the probes' jitter (0: random), so that simulations repeat.
	Seed uint64
}

// Status is the pace as it stands.
type Status struct {
	Phase Phase
	// Rate is the pace in requests per second.
	Rate float64
	// Quota is the API's quota as learned or announced, 0 while unknown.
	Quota float64
	// Reason says why the pace last changed.
	Reason string
}

// second counts what happened in one second.
type second struct {
	sent         int       // requests that left
	limited      int       // 429s with Retry-After that began a pause
	firstLimited time.Time // the first of them
	echoes       int       // 429s with Retry-After answered during a pause: requests in flight with the one that began it
	bare         int       // 429s without Retry-After
	peersLimited int       // 429s with Retry-After that other members of the account heard
	freed        float64
}

func (s second) plus(o second) second {
	return second{sent: s.sent + o.sent, limited: s.limited + o.limited, echoes: s.echoes + o.echoes, bare: s.bare + o.bare,
		peersLimited: s.peersLimited + o.peersLimited, freed: s.freed + o.freed}
}

// Pace spaces the requests of one process. It is safe for concurrent use.
type Pace struct {
	mu      sync.Mutex
	t       Tuning
	ceiling rate.Limit
	lim     *rate.Limiter // its limit is the pace
	rng     *rand.Rand
	changed func(Status)

	// The mutable state: fifteen fields.
	phase       Phase
	quota       rate.Limit // learned or announced; 0 while unknown
	pausedUntil time.Time  // the latest Retry-After
	cur, prev   second     // this second and the one before it (zero when not contiguous)
	secAt       time.Time  // when this second began: the last step
	lastRefused time.Time  // the step of the last refused second: the episode
	before      rate.Limit // the pace the current episode interrupted
	stepSize    float64    // the probe's current step
	probeWait   time.Duration
	nextProbe   time.Time
	changedAt   time.Time // when the pace last changed
	reason      string
	limited     int64             // 429s with Retry-After so far, for the Board
	heard       map[string]Member // the other members of the account, as last heard
}

// New returns a Pace; it fails only on a Tuning that does not Validate.
func New(cfg Config) (*Pace, error) {
	t := cfg.Tuning
	if t == (Tuning{}) {
		t = DefaultTuning
	}
	if err := t.Validate(); err != nil {
		return nil, err
	}
	if cfg.Ceiling < 0 || math.IsNaN(cfg.Ceiling) {
		return nil, fmt.Errorf("pace: a ceiling of %v requests/s; it must be 0 (none) or above", cfg.Ceiling)
	}
	seed := cmp.Or(cfg.Seed, rand.Uint64())
	p := &Pace{t: t, ceiling: rate.Inf, rng: rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15)), changed: cfg.Changed,
		probeWait: t.ProbeAfter}
	start := rate.Limit(t.Start)
	if cfg.Ceiling > 0 {
		p.ceiling = rate.Limit(max(cfg.Ceiling, t.Floor))
		start, p.phase, p.reason = p.ceiling, Holding, "the configured rate"
	} else {
		p.reason = "no rate given: starting slow"
	}
	p.lim = rate.NewLimiter(start, 1)
	return p, nil
}

// MustNew is New for a tuning known to be valid; it panics otherwise.
func MustNew(cfg Config) *Pace {
	p, err := New(cfg)
	if err != nil {
		panic(err)
	}
	return p
}

// Reserve says how long a request that asks at now must wait before it may
// leave. Zero means it leaves now, and is counted; otherwise nothing is
// counted, and the caller asks again once the wait has passed.
func (p *Pace) Reserve(now time.Time) time.Duration {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.advance(now)
	if now.Before(p.pausedUntil) {
		return p.pausedUntil.Sub(now)
	}
	if p.lim.AllowN(now, 1) {
		p.cur.sent++
		return 0
	}
	wait := (1 - p.lim.TokensAt(now)) / float64(p.lim.Limit())
	return max(time.Duration(wait*float64(time.Second)), time.Millisecond)
}

// Wait blocks until a request may leave, on the wall clock, or returns
// ctx's error when ctx ends first.
func (p *Pace) Wait(ctx context.Context) error {
	for {
		d := p.Reserve(time.Now())
		if d == 0 {
			return nil
		}
		t := time.NewTimer(d)
		select {
		case <-ctx.Done():
			t.Stop()
			return ctx.Err()
		case <-t.C:
		}
	}
}

// Limited is a 429 with a Retry-After, answered at now: no request leaves
// before retryAfter has passed. 429s answered while a pause holds are the
// requests that were in flight with the one that began it: they count in
// the share of requests refused, but begin no cut of their own.
func (p *Pace) Limited(now time.Time, retryAfter time.Duration) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.advance(now)
	p.limited++
	if now.Before(p.pausedUntil) {
		p.pausedUntil = maxTime(p.pausedUntil, now.Add(retryAfter))
		p.cur.echoes++
		return
	}
	p.pausedUntil = now.Add(retryAfter)
	p.cur.limited++
	if p.cur.firstLimited.IsZero() {
		p.cur.firstLimited = now
	}
}

// Refused is a 429 without Retry-After, answered at now: only its own
// request backs off (the caller sees to it), and such 429s say something of
// the pace only when they are Tuning.BareShare of the requests.
func (p *Pace) Refused(now time.Time) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.advance(now)
	p.cur.bare++
}

// Announce is the API's statement of its quota in requests per second
// (from RateLimit-Policy or RateLimit-Limit), read at now; a new one
// steps at once to just under it. A statement of 0 or less says nothing.
func (p *Pace) Announce(now time.Time, perSecond float64) {
	if perSecond <= 0 || math.IsInf(perSecond, 0) || math.IsNaN(perSecond) {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.advance(now)
	if p.phase == Announced && p.quota == rate.Limit(perSecond) {
		return
	}
	// A new statement: the step runs now rather than at the second's end,
	// so that not one more second is paced by a guess.
	p.quota, p.phase = rate.Limit(perSecond), Announced
	p.roll(now)
}

// Status returns the pace as it stands.
func (p *Pace) Status() Status {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.status()
}

func (p *Pace) status() Status {
	return Status{Phase: p.phase, Rate: float64(p.lim.Limit()), Quota: float64(p.quota), Reason: p.reason}
}

// PausedUntil returns when the latest Retry-After ends.
func (p *Pace) PausedUntil() time.Time {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.pausedUntil
}

// advance runs the step of each second that has ended by now; called with
// mu held.
func (p *Pace) advance(now time.Time) {
	if p.secAt.IsZero() {
		p.secAt, p.nextProbe = now, now.Add(p.probeWait)
		return
	}
	gone := now.Sub(p.secAt)
	if gone < time.Second {
		return
	}
	p.roll(now)
}

// roll runs the step of the second that began at secAt and begins the next
// at now; called with mu held.
func (p *Pace) roll(now time.Time) {
	gone := now.Sub(p.secAt)
	p.step(now)
	p.prev, p.cur, p.secAt = p.cur, second{}, now
	if gone >= 2*time.Second {
		p.prev = second{} // a second without a call in it: nothing to add
	}
}

// step moves the pace once a second, from the second that just ended (and
// the one before it); the one place where the pace changes. Called with mu
// held.
func (p *Pace) step(now time.Time) {
	last := p.cur
	refused := last.limited
	if p.bareTells(p.cur.plus(p.prev)) {
		refused += last.bare
	}
	peersProbing := p.othersProbing()
	cur := p.lim.Limit()
	switch {
	case p.phase == Probing && (refused > 0 || last.peersLimited > 0):
		p.probeFailed(now, cur, refused == 0)
	case refused > 0 && peersProbing:
		// Another member probes above the account's quota: this 429 is its
		// answer, which it hears through the board. The pause is obeyed;
		// the pace held here stays.
	case refused > 0:
		p.cut(now, cur)
	case p.phase == Holding && last.peersLimited > 0 && now.Sub(p.lastRefused) > episodeGap:
		// Another member of the account was refused: the members hold
		// one quota, and step back together as one process would; the
		// one refused cut for itself.
		p.lastRefused, p.quota = now, min(p.quota, cur)
		p.set(now, p.hold(), fmt.Sprintf("another member of the account was refused: stepping back from %.3g/s", float64(cur)))
		p.scheduleProbe(now)
	case p.phase == Starting && last.peersLimited > 0:
		// Another member of the account was refused: the account's
		// quota is reached, and this slow start stops where it stands.
		p.phase, p.quota, p.probeWait = Holding, cur, p.t.ProbeAfter
		p.set(now, cur*rate.Limit(p.t.Hold), fmt.Sprintf("another member of the account was refused: holding under %.3g/s", float64(cur)))
		p.scheduleProbe(now)
	default:
		p.calm(now, cur, last, last.freed, peersProbing)
	}
}

// bareTells says whether the window's 429s without Retry-After say
// something of the pace: only when they are Tuning.BareShare of its
// requests, since isolated ones come whatever the pace.
func (p *Pace) bareTells(win second) bool {
	return win.bare > 0 && float64(win.bare) >= p.t.BareShare*float64(max(win.sent, 1))
}

// accepted is the rate at which the API accepted requests over the last
// two seconds, up to the first 429 that paused them (after it nothing
// left): what was sent less what was refused, over the time they had.
// Called with mu held, from the step, before the second rolls on.
func (p *Pace) accepted(now time.Time) rate.Limit {
	win, from := p.cur, p.secAt
	if p.busy(p.prev) && p.prev.sent > 0 {
		win, from = win.plus(p.prev), from.Add(-time.Second) // an idle second says nothing of the rate accepted
	}
	until := now
	if !p.cur.firstLimited.IsZero() {
		until = p.cur.firstLimited
	}
	refused := win.limited + win.echoes
	if p.bareTells(win) {
		refused += win.bare
	}
	span := max(until.Sub(from), 100*time.Millisecond)
	return rate.Limit(float64(max(win.sent-refused, 0)) / span.Seconds())
}

// cut lowers the pace for a refused second: the quota is at most the
// pace, and at most what the API accepted. An episode that began at the
// pace held never cuts below Tuning.EpisodeFloor of it, and keeps the quota
// it interrupted: 429s that refuse more than that whatever the pace (a
// storm) are not the quota, and once calm the pace regains it. Called with
// mu held.
func (p *Pace) cut(now time.Time, cur rate.Limit) {
	accepted := p.accepted(now)
	if now.Sub(p.lastRefused) > episodeGap || p.lastRefused.IsZero() {
		// A new episode. One that began before any quota was learned, or
		// while the pace was still below the one held (regaining after a
		// storm), has no floor: it is the quota, refusing.
		p.before = cur
		if p.quota == 0 || cur < p.hold()*(1-noChange) {
			p.before = 0
		}
	}
	p.lastRefused = now
	est := min(cur, accepted)
	why := fmt.Sprintf("a 429 at %.3g/s: the API accepted %.3g/s", float64(cur), float64(accepted))
	if p.phase == Announced {
		why += ", under the quota it announced (shared with other clients?)"
	}
	p.phase, p.probeWait = Holding, p.t.ProbeAfter
	if floor := p.before * rate.Limit(p.t.EpisodeFloor); est*rate.Limit(p.t.Hold) < floor {
		p.quota = p.before / rate.Limit(p.t.Hold)
		p.set(now, floor, why+fmt.Sprintf("; refused whatever the pace: held at half the %.3g/s it interrupted", float64(p.before)))
	} else {
		p.quota = est
		p.set(now, est*rate.Limit(p.t.Hold), why)
	}
	p.scheduleProbe(maxTime(now, p.pausedUntil))
}

// probeFailed ends a probe, a refused second here or elsewhere on the
// account having said the quota lies below this step: the quota is about
// the last step that passed, or what the API accepted when less (its burst
// can hide a small overshoot). When no step passed beyond the first, the
// next probe waits twice as long: a steady quota costs fewer and fewer
// refusals. Called with mu held.
func (p *Pace) probeFailed(now time.Time, cur rate.Limit, elsewhere bool) {
	passed := cur / rate.Limit(1+p.stepSize)
	found := passed
	if !elsewhere {
		found = min(passed, p.accepted(now))
	}
	learned := p.quota
	p.quota = max(p.quota, found)
	hold := p.quota * rate.Limit(p.t.Hold)
	if p.quota <= learned*rate.Limit(1+2*p.t.ProbeStep) {
		p.probeWait = min(2*p.probeWait, p.t.ProbeAfterMax)
	} else {
		// Found more than the burst hides: the quota moved. Hold at what
		// was found, and look again soon.
		p.probeWait, hold = p.t.ProbeAfter, p.quota
	}
	p.phase, p.lastRefused, p.before = Holding, now, passed // the pace the probe's episode interrupted
	where := "here"
	if elsewhere {
		where = "at another member of the account"
	}
	p.set(now, hold, fmt.Sprintf("a 429 %s while probing at %.3g/s: the quota is about %.3g/s", where,
		float64(cur), float64(p.quota)))
	p.scheduleProbe(maxTime(now, p.pausedUntil))
}

// calm raises the pace after a second without a refusal; called with mu
// held.
func (p *Pace) calm(now time.Time, cur rate.Limit, last second, freed float64, peersProbing bool) {
	// A second that sent less than half its pace tested nothing above it.
	tested := p.busy(last)
	switch p.phase {
	case Starting:
		if !tested {
			return
		}
		if cur < p.ceiling {
			p.set(now, cur*2, fmt.Sprintf("calm: ramping from %.3g/s", float64(cur)))
		}
	case Announced:
		if hold := p.quota * rate.Limit(p.t.HoldAnnounced); math.Abs(float64(hold-cur)) >= noChange*float64(hold) {
			p.set(now, hold, fmt.Sprintf("the API announced %.4g/s", float64(p.quota)))
		}
	case Holding:
		if p.share(now, cur, freed, peersProbing) {
			return
		}
		hold := p.hold()
		switch {
		case cur < hold && now.Sub(p.lastRefused) > episodeGap:
			p.set(now, min(hold, cur*rate.Limit(p.t.Regain)), fmt.Sprintf("calm: back toward %.3g/s", float64(hold)))
		case tested && p.quota > 0 && p.t.ProbeStep > 0 && cur < p.ceiling && !peersProbing && !now.Before(p.nextProbe):
			p.phase, p.stepSize = Probing, p.t.ProbeStep
			p.set(now, cur*rate.Limit(1+p.stepSize), fmt.Sprintf("calm: probing above %.3g/s", float64(cur)))
		}
	case Probing:
		// Each step lasts long enough that the API's burst cannot hide an
		// overshoot of its size: two seconds while small, then one.
		stepFor := time.Second
		if p.stepSize <= 2*p.t.ProbeStep {
			stepFor = 2 * time.Second
		}
		if !tested || now.Sub(p.changedAt) < stepFor {
			return
		}
		if cur >= p.ceiling {
			// Nothing above the ceiling to find: the quota is at least it.
			p.phase, p.quota = Holding, cur/rate.Limit(p.t.Hold)
			p.set(now, cur, "calm: probing up to the configured rate, which passed")
			return
		}
		p.stepSize *= 2
		p.set(now, cur*rate.Limit(1+p.stepSize), fmt.Sprintf("calm: probing above %.3g/s, which passed", float64(cur)))
	}
}

// hold is the pace Holding holds: under the quota learned, or the ceiling
// while none is.
func (p *Pace) hold() rate.Limit {
	if p.quota == 0 {
		return p.ceiling
	}
	return min(p.quota*rate.Limit(p.t.Hold), p.ceiling)
}

// set changes the pace, within the floor and the ceiling, and says why;
// called with mu held, from step alone.
func (p *Pace) set(now time.Time, r rate.Limit, why string) {
	p.lim.SetLimitAt(now, min(max(r, rate.Limit(p.t.Floor)), p.ceiling))
	p.changedAt = maxTime(now, p.pausedUntil) // the new pace is tried from the end of the pause
	p.reason = why
	if p.changed != nil {
		p.changed(p.status())
	}
}

// scheduleProbe sets the next probe probeWait after from, and up to half as
// much again: jittered, so that the members of an account do not all probe
// at once. Called with mu held.
func (p *Pace) scheduleProbe(from time.Time) {
	p.nextProbe = from.Add(p.probeWait + time.Duration(p.rng.Int64N(int64(p.probeWait/2)+1)))
}

func maxTime(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}
