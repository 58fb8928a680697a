package pace

import (
	"context"
	"fmt"
	"math"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// Member is what one process tells the others that share its account's
// quota: every process on one token (shards, a follower, a one-off
// backfill) is a member of the same board.
type Member struct {
	Rate    float64 // requests/s it paces at
	Busy    bool    // it sent at least half its pace in the last second
	Probing bool    // it probes above the account's quota, for all
	Limited int64   // 429s with Retry-After it has heard so far
}

// Board is where the members of one account tell each other their pace.
// Package load keeps one in the database.
type Board interface {
	// Publish records self's Member and returns the other members that
	// published lately, keyed by member.
	Publish(ctx context.Context, self string, m Member) (map[string]Member, error)
	// Leave removes self, so that the others share what it held.
	Leave(ctx context.Context, self string) error
}

// Tell returns what this pace tells the other members at now.
func (p *Pace) Tell(now time.Time) Member {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.advance(now)
	s := p.status()
	return Member{Rate: s.Rate, Busy: p.busy(p.prev), Probing: p.phase == Probing, Limited: p.limited}
}

// busy says whether a second sent at least half the pace: only such a
// second tests the pace, and only a busy member takes part in sharing.
func (p *Pace) busy(s second) bool {
	return 2*float64(s.sent) >= float64(p.lim.Limit())
}

// Heard is what the other members told, heard at now, keyed by member.
// The rules it brings into the step:
//
//   - While one of them probes (for all), this pace starts no probe and
//     does not cut for the 429s that probe draws here; while this one
//     probes, a 429 heard by another member ends the probe as its own
//     would.
//   - A 429 another member heard while not probing says the account is
//     over its one quota: a holding pace steps back with it, once an
//     episode, as one process's pace would (the step).
//   - When nobody probes, a busy member's pace moves halfway toward the
//     mean of the busy members', so that they finish together, and the
//     pace of a busy member that left is shared among those that remain.
func (p *Pace) Heard(now time.Time, others map[string]Member) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.advance(now)
	if p.othersProbingIn(others) && !p.othersProbing() {
		// Another member probes for all: the next probe here waits as if
		// this one had, so that together they probe as one would.
		p.probeWait = min(2*p.probeWait, p.t.ProbeAfterMax)
		p.scheduleProbe(now)
	}
	for k, old := range p.heard {
		m, ok := others[k]
		switch {
		case !ok && old.Busy:
			p.cur.freed += old.Rate
		case ok && m.Limited > old.Limited && !old.Probing && !m.Probing:
			// A probe's 429 is the prober's answer, which it hears
			// itself; any other says the account is over its quota.
			p.cur.peersLimited += int(m.Limited - old.Limited)
		}
	}
	p.heard = others
}

func (p *Pace) othersProbing() bool { return p.othersProbingIn(p.heard) }

func (p *Pace) othersProbingIn(others map[string]Member) bool {
	for _, m := range others {
		if m.Probing {
			return true
		}
	}
	return false
}

// share moves a busy pace toward the busy members' mean, adding a share
// of what members that left held, and says whether it moved; called with
// mu held, from the step.
func (p *Pace) share(now time.Time, cur rate.Limit, freed float64, peersProbing bool) bool {
	if (len(p.heard) == 0 && freed == 0) || p.quota == 0 || peersProbing || now.Before(p.pausedUntil) || !p.busy(p.cur) {
		return false
	}
	n, sum := 1.0, float64(cur)
	for _, m := range p.heard {
		if !m.Busy {
			continue
		}
		n, sum = n+1, sum+m.Rate
	}
	target := float64(cur) + freed/n + (sum/n-float64(cur))/2
	if math.Abs(target-float64(cur)) < noChange*float64(cur) {
		return false
	}
	why := "sharing the account's quota with 1 other member"
	if n > 2 {
		why = fmt.Sprintf("sharing the account's quota with %d other members", int(n)-1)
	}
	if freed > 0 {
		why = fmt.Sprintf("taking a share of the %.3g/s of members that left", freed)
	}
	p.quota = rate.Limit(target) / rate.Limit(p.t.Hold)
	p.set(now, rate.Limit(target), why)
	return true
}

// Share tells the board this pace's Member and hands the pace what the
// other members told, every `every`, until stop is called; stop then
// leaves the board, so that the others share what this member held. A
// board that fails only leaves the pace as it finds it alone: failed is
// told each error (the caller decides what to log).
func Share(ctx context.Context, p *Pace, b Board, self string, every time.Duration, failed func(error)) (stop func()) {
	ctx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	wg.Go(func() {
		tick := time.NewTicker(every)
		defer tick.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
			}
			qctx, qcancel := context.WithTimeout(ctx, every)
			others, err := b.Publish(qctx, self, p.Tell(time.Now()))
			qcancel()
			if err != nil {
				if ctx.Err() == nil && failed != nil {
					failed(err)
				}
				continue
			}
			p.Heard(time.Now(), others)
		}
	})
	return func() {
		cancel()
		wg.Wait()
		lctx, lcancel := context.WithTimeout(context.Background(), time.Second)
		defer lcancel()
		if err := b.Leave(lctx, self); err != nil && failed != nil {
			failed(err)
		}
	}
}
