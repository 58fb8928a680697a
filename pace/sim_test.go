package pace_test

import (
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"testing"
	"time"

	"github.com/interview-export/interview-export/pace"
)

// simAPI is an API's rate limit in virtual time: a token bucket whose rate
// may change, a storm during which it answers 429 to everything, and
// spurious 429s without Retry-After whatever the pace.
type simAPI struct {
	quota      func(at time.Duration) float64 // 0: no quota
	burst      float64
	storm      func(at time.Duration) bool
	bareChance float64 // of each request, a 429 without Retry-After
	announce   bool    // each answer announces the quota (RateLimit headers)
	tokens     float64
}

// simClient is one process: its pace and the most it can send per second
// (its concurrency over the API's latency).
type simClient struct {
	p        *pace.Pace
	capacity float64
	acc      float64
	board    bool // a member of the account's board: tells and hears once a second
}

// simResult is what a simulation saw.
type simResult struct {
	done, limited int
	limitedAt     []time.Duration // when each 429 was answered
	wall          time.Duration   // until the last client had done its share
	allowed       float64         // requests the quota allowed over the wall
	minRate       float64         // the lowest pace any client set
	history       []float64       // the first client's pace, each second
}

// limitedAfter counts the 429s answered from from on.
func (r simResult) limitedAfter(from time.Duration) int {
	n := 0
	for _, at := range r.limitedAt {
		if at >= from {
			n++
		}
	}
	return n
}

func (r simResult) used() float64 { return float64(r.done) / r.allowed }

// refusedShare is the share of the requests answered 429.
func (r simResult) refusedShare() float64 {
	return float64(r.limited) / float64(max(r.done+r.limited, 1))
}

// rateAt is the first client's pace at the second at.
func (r simResult) rateAt(at time.Duration) float64 {
	return r.history[min(int(at/time.Second), len(r.history)-1)]
}

// lowestFrom is the first client's lowest pace from the second from on.
func (r simResult) lowestFrom(from time.Duration) float64 {
	lowest := math.Inf(1)
	for at := from; at < r.wall; at += time.Second {
		lowest = min(lowest, r.rateAt(at))
	}
	return lowest
}

var simStart = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

// simulate runs clients against api until each has done
// want successful requests (or limit passes); the steps are of a
// millisecond, so that the pace's own spacing, not the step, sets the
// rate. It drives each pace through
// its public methods alone: Reserve before each request, then Limited,
// Refused or nothing as the API answered; Tell and Heard once a second for
// the members of a board.
func simulate(api *simAPI, clients []*simClient, want int, limit time.Duration) simResult {
	const dt = time.Millisecond
	rng := rand.New(rand.NewPCG(7, 11))
	res := simResult{minRate: math.Inf(1)}
	done := make([]int, len(clients))
	api.tokens = api.burst
	trace := testing.Verbose() && os.Getenv("PACE_TRACE") != ""
	lastReason := ""
	for at := time.Duration(0); at < limit; at += dt {
		now := simStart.Add(at)
		if at%time.Second == 0 {
			res.history = append(res.history, clients[0].p.Status().Rate)
			share(now, clients, done, want)
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
			c.acc = min(c.acc+c.capacity*dt.Seconds(), 2)
			for c.acc >= 1 && done[i] < want && c.p.Reserve(now) == 0 {
				c.acc--
				limited := res.limited
				switch {
				case api.storm != nil && api.storm(at):
					res.limited++
					c.p.Limited(now, time.Second)
				case api.quota != nil && api.quota(at) > 0 && api.tokens < 1:
					res.limited++
					wait := time.Duration(math.Ceil((1-api.tokens)/api.quota(at))) * time.Second // whole seconds
					c.p.Limited(now, wait)
				case rng.Float64() < api.bareChance:
					res.limited++
					c.p.Refused(now)
				default:
					if api.quota != nil && api.quota(at) > 0 {
						api.tokens--
					}
					done[i]++
					res.done++
					if api.announce {
						c.p.Announce(now, api.quota(at))
					}
				}
				if res.limited > limited {
					res.limitedAt = append(res.limitedAt, at)
				}
				st := c.p.Status()
				res.minRate = min(res.minRate, st.Rate)
				if trace && i == 0 && st.Reason != lastReason {
					lastReason = st.Reason
					fmt.Printf("%8s %6.1f %-9s %s\n", at, st.Rate, st.Phase, lastReason)
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
	return res
}

// share hands each board member still at work what the others told.
func share(now time.Time, clients []*simClient, done []int, want int) {
	told := make([]pace.Member, len(clients))
	for i, c := range clients {
		told[i] = c.p.Tell(now)
	}
	for i, c := range clients {
		if !c.board || done[i] >= want {
			continue
		}
		others := map[string]pace.Member{}
		for j, d := range clients {
			if j != i && d.board && done[j] < want {
				others[fmt.Sprint(j)] = told[j]
			}
		}
		c.p.Heard(now, others)
	}
}

func steady(q float64) func(time.Duration) float64 { return func(time.Duration) float64 { return q } }

// clients returns n processes pacing with tuning under ceiling (0: none).
func clients(n int, ceiling, capacity float64, tuning pace.Tuning) []*simClient {
	cs := make([]*simClient, n)
	for i := range cs {
		cs[i] = &simClient{p: pace.MustNew(pace.Config{Ceiling: ceiling, Tuning: tuning, Seed: uint64(i + 1)}), capacity: capacity}
	}
	return cs
}
