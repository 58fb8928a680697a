package extract

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// Gate spaces requests for the whole run: every worker calls Wait before each
// request. It combines a token-bucket limiter (burst 1) with a pause that a
// 429 imposes on everyone until its Retry-After, and it learns the API's
// quota, which OpenTrain does not document:
//
//   - When the API announces its limit (RateLimit-Policy or RateLimit-Limit,
//     the IETF draft's headers), the gate holds at 97% of it.
//
//   - Otherwise a 429 received while pacing at rate r says the quota is at
//     most r; when a tenth or more of the last second or two's requests
//     were refused (a pace well above the quota, or a quota shared with
//     other clients), it is about what the API accepted of them. The gate
//     holds at 93% of it.
//
//   - Calm for a few seconds (3, doubling after each probe that found
//     nothing, up to 20, jittered so that shards do not probe together;
//     back to 3 after a cut, the quota having moved), it probes above: +5%,
//     then steps that double each time the last one passed (2 s while they
//     are small enough for the API's burst to hide, 1 s from +20% on), so
//     that a quota four times as large is found within about 8 seconds of
//     the probe's start. A 429 ends the probe at the last step that passed
//     (a step of +40% or more survives its first, which may be requests
//     that bunched up on the way), and when that step found a quota that
//     moved, the pace holds at it and probes again soon.
//
//   - Without --rate, a run starts at 4/s and doubles each calm second,
//     unlimited from 64/s on; a 429 while unlimited starts again from the
//     rate actually sent in the last second.
//
//   - 429s that keep coming for seconds whatever the pace, refusing nearly
//     every request (a storm), never cut below half the pace they
//     interrupted, and once calm the pace returns to it within seconds (by
//     half again each second).
//
//   - A 429 without Retry-After holds only its own request (the client backs
//     it off) and says nothing of the pace unless such 429s are a quarter or
//     more of the last two seconds' requests: 429s that come whatever the
//     pace (a flaky proxy, a noisy API) must not drive the rate to the floor.
//
// The rate never exceeds the configured ceiling (--rate); at or under the
// quota, no 429 comes and nothing changes.
type Gate struct {
	mu          sync.Mutex
	lim         *rate.Limiter
	ceiling     rate.Limit // configured rate; rate.Inf when unlimited
	quota       rate.Limit // the API's limit as learned; 0 while unknown
	announced   bool       // quota came from the API's headers
	learned     bool       // quota came from a 429
	restoreAt   rate.Limit // while ramping without a ceiling: above it the limit is lifted
	pausedUntil time.Time
	lastCut     time.Time
	lastRaise   time.Time
	lastSet     time.Time // when the rate last changed
	// Probing above the quota learned: after probeWait calm seconds the
	// pace steps up, by a step that doubles each time one passes; a 429
	// ends the probe at the last step that passed (lastCalm), and makes the
	// next probe wait twice as long when the quota did not move.
	probing      bool
	step         float64
	probeBase    rate.Limit // the pace the probe started from
	lastCalm     rate.Limit
	forgiveUntil time.Time // a big step's first 429: the end of its pause
	probeWait    time.Duration
	nextProbe    time.Time
	// starts counted per second, to know the rate actually sent, and the
	// 429s without Retry-After among them.
	secStart           time.Time
	thisSec, prevSec   int
	bareThis, barePrev int
	limThis, limPrev   int        // 429s with Retry-After
	good               rate.Limit // the pace held calmly before the last cut
	reason             string     // why the rate last changed
	// The current episode of 429s (none more than 2 s apart): when it began
	// and its last, and the pace it interrupted. A short episode never cuts
	// below half that pace; one that persisted whatever the pace (a storm)
	// gives way, once calm, to a fast return to it.
	episodeStart, lastEvidence, recovered time.Time
	episodeRate                           rate.Limit
	stormy                                bool // most of the last two seconds' requests refused, at its last 429
	// Other shards sharing the quota, as they last told (see Peers), and
	// this gate's 429s with Retry-After, for them.
	peerProbing               bool
	peerLimited, limitedTotal int64
	peerRates                 map[string]Peer
	now                       func() time.Time
	rng                       *rand.Rand
	changed                   func(perSecond float64, reason string) // told each change, with mu held
}

// The gate's tuning.
const (
	minRate        = rate.Limit(0.5)  // the floor: one request every two seconds
	holdAnnounced  = 0.97             // of a quota the API announced
	holdLearned    = 0.93             // of a quota learned from 429s
	probeFirst     = 0.05             // the first step of a probe above the quota learned; it doubles each step
	probeStepFor   = 2 * time.Second  // each small step of a probe: a shorter one would pass on the API's burst alone
	probeWaitMin   = 3 * time.Second  // calm before the first probe, and after one that found more
	probeWaitMax   = 20 * time.Second // a quota that grows is found again within about this, plus the steps
	bigStep        = 0.4              // a step this large survives its first 429: the gain is worth a second look
	probeMoved     = 1.35             // a probe whose steps passed this multiple of the quota learned found one that moved
	rampFactor     = 1.25             // per calm second, back toward the quota learned
	slowStart      = 2.0              // per calm second while no quota is known
	startRate      = rate.Limit(4)    // without a rate given, the pace of the first second
	demandShare    = 0.7              // a pace is only tested when this share of it was sent
	unlimitedAfter = 16               // ramping without a ceiling: lift the limit at 16× the rate that drew the 429
	quickRefusal   = 2 * time.Second
	quickCut       = 0.85
	calmFor        = 5 * time.Second // a pace held this long without a 429 is a calm one
	bareShare      = 0.25            // of the last two seconds' requests: 429s without Retry-After that tell a pace
	episodeFloor   = 0.5             // of the pace a short episode of 429s interrupted: the lowest it cuts to
	persisted      = 3 * time.Second
	stormShare     = 0.8 // of the last two seconds' requests: refused whatever the pace, a storm
	recoverFactor  = 1.5 // per calm second, back to the pace a storm interrupted
	bareMin        = 5
	overShare      = 0.1 // of the last two seconds' requests: refused, a pace well above the quota
)

// NewGate returns a gate allowing perSecond requests per second; 0 means no
// limit until the API answers 429.
func NewGate(perSecond float64) *Gate {
	ceiling := rate.Inf
	if perSecond > 0 {
		ceiling = rate.Limit(perSecond)
	}
	g := &Gate{lim: rate.NewLimiter(ceiling, 1), ceiling: ceiling, now: time.Now, reason: "the configured rate", probeWait: probeWaitMin,
		rng: rand.New(rand.NewPCG(rand.Uint64(), rand.Uint64()))}
	if ceiling == rate.Inf {
		// No rate given: start gently, doubling each calm second, and lift
		// the limit once far above the start without a 429, rather than
		// meet an unknown quota with every worker at once.
		g.lim.SetLimit(startRate)
		g.restoreAt, g.reason = startRate*unlimitedAfter, "no rate given: starting slow"
	}
	return g
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
		g.started(now)
		g.raise(now)
		g.mu.Unlock()
		return nil
	}
}

// Pause is a 429 with a Retry-After: every request is held until it has
// passed, and the pace is lowered, the 429 telling where the quota is. A
// burst of 429s answered to requests already in flight counts once.
func (g *Gate) Pause(retryAfter time.Duration) {
	g.mu.Lock()
	defer g.mu.Unlock()
	now := g.now()
	if until := now.Add(retryAfter); until.After(g.pausedUntil) {
		g.pausedUntil = until
	}
	g.count(now)
	g.limThis++
	g.limitedTotal++
	g.evidence(now, "a 429 with Retry-After")
}

// Refused is a 429 without Retry-After: only its own request backs off (the
// client sees to it), and it tells about the pace only when such 429s are a
// quarter or more of the last two seconds' requests: isolated ones come
// whatever the pace, and must not drive it to the floor.
func (g *Gate) Refused() {
	g.mu.Lock()
	defer g.mu.Unlock()
	now := g.now()
	g.count(now)
	g.bareThis++
	if bare, sent := g.bareThis+g.barePrev, g.thisSec+g.prevSec; bare >= bareMin && float64(bare) >= bareShare*float64(max(sent, 1)) {
		g.evidence(now, "429s without Retry-After on a quarter of the requests")
	}
}

// evidence lowers the pace for a 429 that tells it is above the quota;
// called with mu held.
func (g *Gate) evidence(now time.Time, why string) {
	if g.lastEvidence.IsZero() || now.Sub(g.lastEvidence) > 2*time.Second {
		g.episodeStart, g.episodeRate = now, g.lim.Limit()
		switch {
		case g.episodeRate == rate.Inf:
			g.episodeRate = rate.Limit(max(g.prevSec, g.thisSec)) // unpaced: what was sent
		case g.probing:
			g.episodeRate = g.lastCalm // a probe's step is no pace to return to
		}
		if now.Sub(g.recovered) < 10*time.Second {
			g.episodeRate = 0 // refused again right after a return: a real limit
		}
	}
	g.lastEvidence = now
	g.stormy = float64(g.limThis+g.limPrev) >= stormShare*float64(g.thisSec+g.prevSec)
	if now.Sub(g.lastCut) < time.Second {
		return
	}
	cur := g.lim.Limit()
	if cur != rate.Inf && now.Sub(g.lastSet) >= calmFor {
		g.good = cur // held calmly until now
	}
	switch {
	case cur == rate.Inf:
		// Nothing paced yet: start from what was actually sent, and ramp.
		sent := rate.Limit(max(g.prevSec, g.thisSec, 1))
		g.restoreAt = sent * unlimitedAfter
		g.set(now, sent, fmt.Sprintf("%s before any pace was set: from the %.3g/s sent, ramping", why, float64(sent)))
	case !g.announced && g.probing && g.step >= bigStep && (g.forgiveUntil.IsZero() || now.Before(g.forgiveUntil)):
		// A big step's first 429 (and those of the requests in flight with
		// it) may be requests that bunched up on the way: the pause is
		// obeyed, and the step fails on a 429 after it.
		if g.forgiveUntil.IsZero() {
			g.forgiveUntil = g.pausedUntil
		}
		return
	case !g.announced && g.probing:
		g.probeFailed(now, fmt.Sprintf("%s while probing at %.3g/s", why, float64(cur)))
	case !g.announced && g.peerProbing:
		// Another shard is probing above the shared quota: this 429 is its
		// answer, which it hears through the database and backs off for.
		// The pause is obeyed; the pace held here stays.
		return
	case !g.announced:
		// Pacing at cur drew a 429: the quota is at most cur, and about
		// what the API accepted when a tenth of the requests were refused
		// (a ramp overshot it, or other clients share it). When holding
		// under a quota learned before drew one within seconds, that quota
		// was too high: the next guess is lower still.
		g.quota = cur
		if acc, ok := g.accepted(now); ok {
			g.quota = min(cur, max(acc, cur*episodeFloor))
		}
		if g.learned && now.Sub(g.lastSet) < quickRefusal {
			g.quota = min(g.quota, cur*quickCut)
		}
		g.learned = true
		if len(g.peerRates) == 0 {
			g.probeWait = probeWaitMin // the quota moved (or was misread): probe again soon
		}
		g.set(now, max(g.quota*holdLearned, g.episodeRate*episodeFloor), fmt.Sprintf("%s at %.3g/s", why, float64(cur)))
	default:
		// Announced, yet refused (a quota shared with other clients): trust the 429.
		g.quota, g.announced, g.learned = cur, false, true
		g.set(now, cur*holdLearned, fmt.Sprintf("%s at %.3g/s, under the announced limit", why, float64(cur)))
	}
	g.lastCut = now
	g.lastRaise = g.pausedUntil
	g.scheduleProbe(g.pausedUntil)
}

// scheduleProbe sets the next probe probeWait after from, and up to half as
// much again: jittered, so that shards sharing a quota do not all probe at
// once. Called with mu held.
func (g *Gate) scheduleProbe(from time.Time) {
	g.nextProbe = from.Add(g.probeWait + time.Duration(g.rng.Int64N(int64(g.probeWait/2))))
}

// stepFor is how long the current step of a probe lasts: long enough that
// the API's burst cannot hide an overshoot of that size, so shorter as the
// steps grow. Called with mu held.
func (g *Gate) stepFor() time.Duration {
	if g.step > 2*probeFirst {
		return time.Second
	}
	return probeStepFor
}

// probeFailed ends a probe that drew a 429 (here, or at another shard
// sharing the quota): the quota lies under this step, and about at the last
// step that passed. When that found no more than the quota learned before,
// the next probe waits twice as long, so that a steady quota costs fewer
// and fewer refusals. Called with mu held.
func (g *Gate) probeFailed(now time.Time, why string) {
	g.probing = false
	before := g.probeBase / holdLearned
	g.quota = max(g.lastCalm, before)
	if g.lastCalm >= before*probeMoved {
		// The quota moved: it lies between the last step that passed (a
		// big one, that the API's burst could not hide) and this one. Hold
		// at the step that passed, and probe again soon.
		g.probeWait = probeWaitMin
		if acc, ok := g.accepted(now); ok {
			g.quota = max(g.quota, min(g.lim.Limit(), acc))
		}
		g.set(now, g.quota, fmt.Sprintf("%s: the quota is at least %.3g/s", why, float64(g.quota)))
		g.quota /= holdLearned
		return
	}
	g.probeWait = min(2*g.probeWait, probeWaitMax)
	g.set(now, g.quota*holdLearned, fmt.Sprintf("%s: the quota is about %.3g/s", why, float64(g.quota)))
}

// Observe reads the API's own statement of its quota from a response's
// headers, when it makes one (RateLimit-Policy, RateLimit-Limit), and holds
// just under it.
func (g *Gate) Observe(h http.Header) {
	q := announcedQuota(h)
	if q <= 0 {
		return
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.announced && g.quota == q {
		return
	}
	g.quota, g.announced = q, true
	g.set(g.now(), q*holdAnnounced, fmt.Sprintf("the API announced %.4g/s", float64(q)))
}

// announcedQuota reads requests per second from RateLimit-Policy ("20;w=1",
// or `"default";q=20;w=1` in the newer draft; the tightest policy wins) or
// RateLimit-Limit (per RateLimit-Policy's window, else per second).
func announcedQuota(h http.Header) rate.Limit {
	best := rate.Limit(0)
	window := 1.0
	for _, policy := range strings.Split(h.Get("RateLimit-Policy"), ",") {
		var quota, w float64 = -1, 1
		for i, part := range strings.Split(policy, ";") {
			part = strings.TrimSpace(part)
			k, v, hasEq := strings.Cut(part, "=")
			switch {
			case i == 0 && !hasEq:
				if n, err := strconv.ParseFloat(part, 64); err == nil {
					quota = n
				}
			case k == "q":
				if n, err := strconv.ParseFloat(v, 64); err == nil {
					quota = n
				}
			case k == "w":
				if n, err := strconv.ParseFloat(v, 64); err == nil && n > 0 {
					w = n
				}
			}
		}
		if quota > 0 {
			window = w
			if r := rate.Limit(quota / w); best == 0 || r < best {
				best = r
			}
		}
	}
	if best > 0 {
		return best
	}
	if n, err := strconv.ParseFloat(strings.TrimSpace(h.Get("RateLimit-Limit")), 64); err == nil && n > 0 {
		return rate.Limit(n / window)
	}
	return 0
}

// Limit returns the current rate; math.Inf(1) when unlimited.
func (g *Gate) Limit() float64 {
	l := g.lim.Limit()
	if l == rate.Inf {
		return math.Inf(1)
	}
	return float64(l)
}

// Quota returns the API's quota as learned, in requests per second, and
// whether the API announced it; 0 while unknown.
func (g *Gate) Quota() (perSecond float64, announced bool) {
	g.mu.Lock()
	defer g.mu.Unlock()
	return float64(g.quota), g.announced
}

// set changes the rate, within the floor and the ceiling, and says why.
func (g *Gate) set(now time.Time, r rate.Limit, reason string) {
	g.lim.SetLimitAt(now, min(max(r, minRate), g.ceiling))
	g.lastSet = now
	if g.pausedUntil.After(now) {
		g.lastSet = g.pausedUntil // the new rate is tried from the end of the pause
	}
	g.reason = reason
	if g.changed != nil {
		g.changed(g.Limit(), reason)
	}
}

// Reason says why the rate last changed.
func (g *Gate) Reason() string {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.reason
}

// Good returns the pace held calmly (5 seconds without a 429) before the
// last cut, in requests per second; 0 while unknown.
func (g *Gate) Good() float64 {
	g.mu.Lock()
	defer g.mu.Unlock()
	return float64(g.good)
}

// count moves the per-second counters on to now's second; called with mu
// held.
func (g *Gate) count(now time.Time) {
	if now.Sub(g.secStart) >= time.Second {
		if now.Sub(g.secStart) >= 2*time.Second {
			g.prevSec, g.barePrev, g.limPrev = 0, 0, 0
		} else {
			g.prevSec, g.barePrev, g.limPrev = g.thisSec, g.bareThis, g.limThis
		}
		g.thisSec, g.bareThis, g.limThis = 0, 0, 0
		g.secStart = now
	}
}

// started counts a request leaving; called with mu held.
func (g *Gate) started(now time.Time) {
	g.count(now)
	g.thisSec++
}

// accepted returns the rate of requests the API accepted lately (those
// sent in the last one to two seconds, less the 429s among them), and
// whether it tells the quota: only when a tenth or more of them were
// refused, the pace well above it. A lone 429 at a pace under the quota
// (requests that bunched up on the way) says little of it.
func (g *Gate) accepted(now time.Time) (rate.Limit, bool) {
	window := time.Second + now.Sub(g.secStart)
	sent, refused := g.thisSec+g.prevSec, g.limThis+g.limPrev+g.bareThis+g.barePrev
	return rate.Limit(float64(max(sent-refused, 0)) / window.Seconds()), sent >= bareMin && float64(refused) >= overShare*float64(sent)
}

// raise moves the rate up after calm seconds: by doubling while no quota is
// known, fast back to just under the quota learned (or to the pace a storm
// interrupted), and above it by probes whose steps grow while they pass.
func (g *Gate) raise(now time.Time) {
	cur := g.lim.Limit()
	if g.lastRaise.IsZero() {
		g.lastRaise = now // the first request: the first second begins
	}
	if cur == g.ceiling || now.Sub(g.lastRaise) < time.Second {
		return
	}
	switch {
	case g.quota == 0:
		next, why := cur*slowStart, fmt.Sprintf("calm: ramping from %.3g/s", float64(cur))
		if g.ceiling == rate.Inf && next >= g.restoreAt {
			next, why = rate.Inf, fmt.Sprintf("calm up to %.3g/s: no limit", float64(cur))
		}
		g.set(now, next, why)
	case g.announced:
		return // the API said where it stands
	case g.episodeRate > 0 && cur < g.episodeRate && g.lastEvidence.Sub(g.episodeStart) >= persisted &&
		g.stormy && now.Sub(g.lastEvidence) >= 2*time.Second:
		// 429s came for seconds whatever the pace (a storm): now calm, back
		// to the pace they interrupted, fast.
		next := min(g.episodeRate, cur*recoverFactor)
		g.set(now, next, fmt.Sprintf("calm after a storm of 429s: back toward %.3g/s", float64(g.episodeRate)))
		if next >= g.episodeRate {
			g.quota, g.episodeRate, g.recovered = next/holdLearned, 0, now
		}
	case cur < g.quota*holdLearned && !g.probing:
		hold := g.quota * holdLearned
		g.set(now, min(hold, cur*rampFactor), fmt.Sprintf("calm: back toward %.3g/s, under the quota learned", float64(hold)))
	case float64(g.prevSec) < demandShare*float64(cur):
		// Fewer requests asked to leave than the pace allows: a step up
		// would test nothing.
	case g.probing && now.Sub(g.lastSet) < g.stepFor():
	case g.probing:
		// The last step passed calm seconds: the quota is at least that,
		// and the next step is twice as large.
		g.lastCalm = cur
		g.quota = max(g.quota, cur)
		g.step *= 2
		g.forgiveUntil = time.Time{}
		g.set(now, cur*rate.Limit(1+g.step), fmt.Sprintf("calm: probing above the quota learned, %.3g/s", float64(g.quota)))
	case !now.Before(g.nextProbe) && !g.peerProbing:
		// Calm for probeWait: the quota may have grown; find it again,
		// faster the longer it stays calm.
		g.probing, g.step, g.probeBase, g.lastCalm, g.forgiveUntil = true, probeFirst, cur, cur, time.Time{}
		g.set(now, cur*rate.Limit(1+probeFirst), fmt.Sprintf("calm: probing above the quota learned, %.3g/s", float64(g.quota)))
	}
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
