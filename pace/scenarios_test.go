package pace_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"

	"github.com/interview-export/interview-export/pace"
)

// scenario is one condition that accounts meet, in virtual time, with the
// goal the bench's quota table holds the exporter to (docs/pace.md).
type scenario struct {
	name string
	run  func(pace.Tuning) simResult
	// goal returns the goals that r misses, none when it meets them all.
	goal func(r simResult) []string
}

// check returns what failed of a list of named conditions.
func check(conds ...any) []string {
	var failed []string
	for i := 0; i < len(conds); i += 2 {
		if !conds[i+1].(bool) {
			failed = append(failed, conds[i].(string))
		}
	}
	return failed
}

func (r simResult) String() string {
	return fmt.Sprintf("%d done in %s, %.1f%% of the quota, %d 429s (%.2f%%), lowest pace %.2f/s", r.done, r.wall,
		100*r.used(), r.limited, 100*r.refusedShare(), r.minRate)
}

var stormWindow = func(at time.Duration) bool { return at >= 10*time.Second && at < 20*time.Second }

var scenarios = []scenario{
	{
		// One process, an unknown steady quota of 20/s: most of it used,
		// few 429s, though it probes above now and then.
		name: "steady",
		run: func(t pace.Tuning) simResult {
			return simulate(&simAPI{quota: steady(20), burst: 5}, clients(1, 0, 160, t), 2400, 10*time.Minute)
		},
		goal: func(r simResult) []string {
			return check("≥ 90% of the quota", r.used() >= 0.90, "≤ 1% refused", r.refusedShare() <= 0.01)
		},
	},
	{
		// The API announces its quota in RateLimit headers: it is held.
		name: "announced",
		run: func(t pace.Tuning) simResult {
			return simulate(&simAPI{quota: steady(20), burst: 5, announce: true}, clients(1, 0, 160, t), 1200, 10*time.Minute)
		},
		goal: func(r simResult) []string {
			return check("≥ 95% of the quota", r.used() >= 0.95, "no 429 after the first 5 s", r.limitedAfter(5*time.Second) == 0)
		},
	},
	{
		// Four processes on one token share a 20/s quota through the board.
		name: "shared",
		run: func(t pace.Tuning) simResult {
			cs := clients(4, 0, 80, t)
			for _, c := range cs {
				c.board = true
			}
			return simulate(&simAPI{quota: steady(20), burst: 5}, cs, 400, 10*time.Minute)
		},
		goal: func(r simResult) []string {
			return check("≥ 85% of the quota", r.used() >= 0.85, "≤ 2% refused", r.refusedShare() <= 0.02,
				"never at the floor", r.minRate > pace.DefaultTuning.Floor)
		},
	},
	{
		// A quota of 10/s that becomes 40/s at the 20th second is found
		// again: 2,600 requests, 80 s at the ideal.
		name: "rising",
		run: func(t pace.Tuning) simResult {
			quota := func(at time.Duration) float64 {
				if at < 20*time.Second {
					return 10
				}
				return 40
			}
			return simulate(&simAPI{quota: quota, burst: 5}, clients(1, 0, 320, t), 2600, 10*time.Minute)
		},
		goal: func(r simResult) []string {
			return check("≤ 100 s", r.wall <= 100*time.Second, "≥ 30/s by 45 s", r.rateAt(45*time.Second) >= 30,
				"≤ 3% refused", r.refusedShare() <= 0.03)
		},
	},
	{
		// Ten seconds of 429s whatever the pace (a storm) at a 40/s quota:
		// 2,800 requests, 80 s at the ideal.
		name: "storm",
		run: func(t pace.Tuning) simResult {
			return simulate(&simAPI{quota: steady(40), burst: 5, storm: stormWindow}, clients(1, 0, 320, t), 2800, 10*time.Minute)
		},
		goal: func(r simResult) []string {
			before := r.rateAt(9 * time.Second)
			return check("≤ 100 s", r.wall <= 100*time.Second, "never below half the pace it interrupted", r.lowestFrom(9*time.Second) >= before/2,
				"back at 80% of the quota within 5 s of its end", r.rateAt(25*time.Second) >= 0.8*40)
		},
	},
	{
		// 2% of requests answered 429 without Retry-After whatever the
		// pace, at a 20/s quota.
		name: "spurious",
		run: func(t pace.Tuning) simResult {
			return simulate(&simAPI{quota: steady(20), burst: 5, bareChance: 0.02}, clients(1, 0, 320, t), 1600, 10*time.Minute)
		},
		goal: func(r simResult) []string {
			return check("≥ 75% of the quota", r.used() >= 0.75, "once found, never below half the quota", r.lowestFrom(10*time.Second) > 10)
		},
	},
	{
		// --rate 10, no quota, 5% of requests answered 429 without
		// Retry-After: the configured pace holds.
		name: "rate-noise",
		run: func(t pace.Tuning) simResult {
			return simulate(&simAPI{bareChance: 0.05}, clients(1, 10, 160, t), 300, 10*time.Minute)
		},
		goal: func(r simResult) []string {
			return check("≤ 45 s", r.wall <= 45*time.Second, "never cut", r.minRate == 10)
		},
	},
	{
		// No quota, no rate given, 3.5% of requests answered 429 without
		// Retry-After (the faults scenario): never slowed.
		name: "unpaced-noise",
		run: func(t pace.Tuning) simResult {
			return simulate(&simAPI{bareChance: 0.035}, clients(1, 0, 100, t), 1500, 10*time.Minute)
		},
		goal: func(r simResult) []string {
			return check("≤ 20 s", r.wall <= 20*time.Second, "never cut below the start", r.minRate >= pace.DefaultTuning.Start)
		},
	},
}

// Every scenario meets its goal with the default tuning.
func TestScenarios(t *testing.T) {
	t.Parallel()
	for _, sc := range scenarios {
		t.Run(sc.name, func(t *testing.T) {
			t.Parallel()
			r := sc.run(pace.DefaultTuning)
			t.Logf("%s: %s", sc.name, r)
			assert.Empty(t, sc.goal(r), "goals missed: %s", strings.Join(sc.goal(r), "; "))
		})
	}
}
