package extract

import (
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
)

// simAPI is an API's rate limit in virtual time: a token bucket whose rate
// may change, a storm during which it answers 429 to everything, and
// spurious 429s without Retry-After whatever the pace.
type simAPI struct {
	quota      func(at time.Duration) float64 // 0: no quota
	burst      float64
	storm      func(at time.Duration) bool
	bareChance float64 // of each request, a 429 without Retry-After
	tokens     float64
}

// simClient is one process: its gate and the most it can send per second
// (its concurrency over the API's latency).
type simClient struct {
	g        *Gate
	capacity float64
	acc      float64
	peers    bool // tells the others its Share and hears theirs once a second, as shards do through the database
}

// simResult is what a simulation saw.
type simResult struct {
	done, limited int
	limitedAt     []time.Duration // when each 429 was answered
	wall          time.Duration   // until the last client had done its share
	allowed       float64         // requests the quota allowed over the wall
	minLimit      float64         // the lowest rate any gate set
	limitAt       func(at time.Duration) float64
}

// simulate runs clients against api in steps of 10 ms until each has done
// want successful requests (or limit passes), and reports the shares.
func simulate(api *simAPI, clients []*simClient, want int, limit time.Duration) simResult {
	return simulateTrace(api, clients, want, limit, nil)
}

// simulateTrace is simulate calling each(at) every step.
func simulateTrace(api *simAPI, clients []*simClient, want int, limit time.Duration, each func(time.Duration)) simResult {
	const dt = 10 * time.Millisecond
	start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	var now time.Time
	for i, c := range clients {
		c.g.now = func() time.Time { return now }
		c.g.rng = rand.New(rand.NewPCG(uint64(i), 3))
	}
	rng := rand.New(rand.NewPCG(7, 11))
	res := simResult{minLimit: math.Inf(1)}
	done := make([]int, len(clients))
	var history []float64 // the first client's limit, every second
	api.tokens = api.burst
	trace := testing.Verbose() && os.Getenv("GATE_TRACE") != ""
	lastReason := ""
	for at := time.Duration(0); at < limit; at += dt {
		now = start.Add(at)
		if each != nil {
			each(at)
		}
		if at%time.Second == 0 {
			history = append(history, clients[0].g.Limit())
			share(clients, done, want)
		}
		if q := api.quota; q != nil && q(at) > 0 {
			api.tokens = min(api.burst, api.tokens+q(at)*dt.Seconds())
		}
		finished := true
		for i, c := range clients {
			if done[i] >= want {
				continue
			}
			finished = false
			if now.Before(c.g.pausedUntil) {
				c.acc = 0
				continue
			}
			c.acc = min(c.acc+min(c.g.Limit(), c.capacity)*dt.Seconds(), 2)
			for c.acc >= 1 && done[i] < want && !now.Before(c.g.pausedUntil) {
				c.acc--
				c.g.mu.Lock()
				c.g.started(now)
				c.g.raise(now)
				c.g.mu.Unlock()
				switch {
				case api.storm != nil && api.storm(at):
					res.limited++
					c.g.Pause(time.Second)
				case api.quota != nil && api.quota(at) > 0 && api.tokens < 1:
					res.limited++
					res.limitedAt = append(res.limitedAt, at)
					wait := time.Duration(math.Ceil((1-api.tokens)/api.quota(at))) * time.Second // whole seconds
					c.g.Pause(wait)
				case rng.Float64() < api.bareChance:
					res.limited++
					c.g.Refused()
				default:
					if api.quota != nil && api.quota(at) > 0 {
						api.tokens--
					}
					done[i]++
					res.done++
				}
				res.minLimit = min(res.minLimit, c.g.Limit())
				if trace && i == 0 && c.g.reason != lastReason {
					lastReason = c.g.reason
					fmt.Printf("%8s %6.1f %s\n", at, c.g.Limit(), lastReason)
				}
			}
		}
		if finished {
			res.wall = at
			break
		}
	}
	if res.wall == 0 {
		res.wall = limit
	}
	if api.quota != nil {
		for at := time.Duration(0); at < res.wall; at += dt {
			res.allowed += api.quota(at) * dt.Seconds()
		}
	}
	res.limitAt = func(at time.Duration) float64 { return history[min(int(at/time.Second), len(history)-1)] }
	return res
}

// share passes the Share of each client still at work to the others that
// coordinate.
func share(clients []*simClient, done []int, want int) {
	for i, c := range clients {
		if !c.peers || done[i] >= want {
			continue
		}
		peers := map[string]Peer{}
		for j, d := range clients {
			if j != i && d.peers && done[j] < want {
				peers[fmt.Sprint(j)] = d.g.Share()
			}
		}
		c.g.Peers(peers)
	}
}

func steady(q float64) func(time.Duration) float64 { return func(time.Duration) float64 { return q } }

func clients(n int, rate, capacity float64) []*simClient {
	cs := make([]*simClient, n)
	for i := range cs {
		cs[i] = &simClient{g: NewGate(rate), capacity: capacity}
	}
	return cs
}

// 429s without Retry-After that come whatever the pace (2% of requests)
// leave the quota's pace alone.
func TestGateIgnoresSpurious429s(t *testing.T) {
	t.Parallel()
	r := simulate(&simAPI{quota: steady(20), burst: 5, bareChance: 0.02}, clients(1, 0, 320), 1600, 10*time.Minute)
	used := float64(r.done) / r.allowed
	t.Logf("spurious: %d done in %s, %.1f%% of the quota, %d 429s", r.done, r.wall, 100*used, r.limited)
	assert.GreaterOrEqual(t, used, 0.75)
	lowest := math.Inf(1)
	for at := 10 * time.Second; at < r.wall; at += time.Second {
		lowest = min(lowest, r.limitAt(at))
	}
	assert.Greater(t, lowest, 20*0.5, "once found, never below half the quota")
}

// The default --rate 10 with 5% spurious 429s and no quota keeps its pace.
func TestGateKeepsTheConfiguredRateThroughNoise(t *testing.T) {
	t.Parallel()
	r := simulate(&simAPI{bareChance: 0.05}, clients(1, 10, 160), 300, 10*time.Minute)
	t.Logf("default rate: %d done in %s, %d 429s, lowest rate %.1f", r.done, r.wall, r.limited, r.minLimit)
	assert.LessOrEqual(t, r.wall, 45*time.Second)
	assert.Equal(t, 10.0, r.minLimit, "never cut")
}

// Without a quota, scattered 429s among faults do not slow an unlimited run:
// it starts slow, is unlimited within seconds, and is never cut.
func TestGateUnlimitedThroughScattered429s(t *testing.T) {
	t.Parallel()
	cs := clients(1, 0, 100)
	r := simulate(&simAPI{bareChance: 53.0 / 1500}, cs, 1500, 10*time.Minute)
	t.Logf("unlimited: %d done in %s, %d 429s", r.done, r.wall, r.limited)
	assert.LessOrEqual(t, r.wall, 3*15*time.Second)
	assert.Equal(t, float64(startRate), r.minLimit, "never cut below the start")
	assert.True(t, math.IsInf(cs[0].g.Limit(), 1), "unlimited at the end")
}

// A steady quota of 20/s, alone: most of it used, few 429s. Probing above
// it at least every 20 seconds or so (to find a quota that grew) costs a
// refused probe each time: about 90% here (94% against the bundled fake),
// where probing 1% every 10 s used 92.7% but took 20 minutes to find a
// quota four times as large.
func TestGateSteadyQuota(t *testing.T) {
	t.Parallel()
	r := simulate(&simAPI{quota: steady(20), burst: 5}, clients(1, 0, 160), 2400, 10*time.Minute)
	used := float64(r.done) / r.allowed
	t.Logf("steady: %d done in %s, %.1f%% of the quota, %d 429s", r.done, r.wall, 100*used, r.limited)
	assert.GreaterOrEqual(t, used, 0.88)
	assert.LessOrEqual(t, float64(r.limited)/float64(r.done+r.limited), 0.01)
}

// Ten seconds of 429s whatever the pace (every request refused, with
// Retry-After: 1) neither drive the rate to the floor nor hold it down
// once they stop: it never goes below half the pace they interrupted, and
// is back at that pace within seconds. 2,800 requests at 40/s: 80 s at the
// ideal, at most 100 s.
func TestGateRidesOutAStorm(t *testing.T) {
	t.Parallel()
	storm := func(at time.Duration) bool { return at >= 10*time.Second && at < 20*time.Second }
	r := simulate(&simAPI{quota: steady(40), burst: 5, storm: storm}, clients(1, 0, 320), 2800, 10*time.Minute)
	before := r.limitAt(9 * time.Second)
	t.Logf("storm: %d done in %s, %d 429s; rate at 9s %.1f, lowest in the storm %.1f, at 21s %.1f, 25s %.1f", r.done, r.wall,
		r.limited, before, r.limitAt(19*time.Second), r.limitAt(21*time.Second), r.limitAt(25*time.Second))
	assert.GreaterOrEqual(t, r.limitAt(19*time.Second), before/2, "never below half the pace the storm interrupted")
	assert.GreaterOrEqual(t, r.limitAt(25*time.Second), 0.8*40, "back near the quota within 5 seconds of its end")
	assert.LessOrEqual(t, r.wall, 100*time.Second)
	assert.Greater(t, r.minLimit, float64(minRate), "never at the floor")
}

// Four shards of one job share a 20/s quota. Telling each other their pace
// once a second (through the database), they hold one pace: most of the
// quota used, at most 2% of requests answered 429, and the shards finish
// together. Alone (a dry run, or the database not answering), each finds
// its share from what the API accepted of what it sent: less of the quota
// and more 429s, as each probes for more on its own, and never the floor.
func TestGateShardsShareAQuota(t *testing.T) {
	t.Parallel()
	for _, coordinated := range []bool{true, false} {
		cs := clients(4, 0, 80)
		for _, c := range cs {
			c.peers = coordinated
		}
		r := simulate(&simAPI{quota: steady(20), burst: 5}, cs, 400, 10*time.Minute)
		used := float64(r.done) / r.allowed
		share := float64(r.limited) / float64(r.done+r.limited)
		t.Logf("shared, coordinated %v: %d done in %s, %.1f%% of the quota, %d 429s (%.1f%%)", coordinated, r.done, r.wall, 100*used, r.limited, 100*share)
		assert.Greater(t, r.minLimit, float64(minRate), "never at the floor")
		if coordinated {
			assert.GreaterOrEqual(t, used, 0.85)
			assert.LessOrEqual(t, share, 0.02)
		} else {
			assert.GreaterOrEqual(t, used, 0.70)
			assert.LessOrEqual(t, share, 0.04)
		}
	}
}

// A quota of 10/s that becomes 40/s at the 20th second is found again
// within seconds: 2,600 requests, 80 s at the ideal, in at most 100 s.
func TestGateFindsARisingQuota(t *testing.T) {
	t.Parallel()
	quota := func(at time.Duration) float64 {
		if at < 20*time.Second {
			return 10
		}
		return 40
	}
	r := simulate(&simAPI{quota: quota, burst: 5}, clients(1, 0, 320), 2600, 10*time.Minute)
	share := float64(r.limited) / float64(r.done+r.limited)
	t.Logf("rising: %d done in %s, %d 429s (%.1f%%), rate at 19s %.1f, 30s %.1f, 40s %.1f", r.done, r.wall, r.limited, 100*share,
		r.limitAt(19*time.Second), r.limitAt(30*time.Second), r.limitAt(40*time.Second))
	assert.LessOrEqual(t, r.wall, 100*time.Second)
	assert.GreaterOrEqual(t, r.limitAt(45*time.Second), 30.0, "found again within about 20 s of the change")
	assert.LessOrEqual(t, share, 0.03)
}
