package pace_test

import (
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"

	"github.com/interview-export/interview-export/pace"
)

// Every rule beyond the baseline (a slow start from Tuning.Start, a cut to
// Tuning.Hold of the pace or of what the API accepted, probes above it)
// earns its place: with the rule turned off, the scenario it names misses
// its goal. docs/pace.md lists the same table.
func TestEveryRuleEarnsItsPlace(t *testing.T) {
	t.Parallel()
	byName := map[string]scenario{}
	for _, sc := range scenarios {
		byName[sc.name] = sc
	}
	rules := []struct {
		rule     string
		off      func(*pace.Tuning)
		scenario string
	}{
		{"EpisodeFloor: an episode never cuts below half the pace it interrupted", func(t *pace.Tuning) { t.EpisodeFloor = 0 }, "storm"},
		{"Regain: back to the pace held, fast, once calm", func(t *pace.Tuning) { t.Regain = 1 }, "storm"},
		{"BareShare: isolated 429s without Retry-After say nothing", func(t *pace.Tuning) { t.BareShare = 0 }, "spurious"},
		{"BareShare, with a ceiling", func(t *pace.Tuning) { t.BareShare = 0 }, "rate-noise"},
		{"ProbeStep: probes above the quota learned", func(t *pace.Tuning) { t.ProbeStep = 0 }, "rising"},
		{"ProbeAfterMax: a probe that found nothing waits twice as long", func(t *pace.Tuning) { t.ProbeAfterMax = t.ProbeAfter }, "steady"},
		{"HoldAnnounced: closer to a quota the API announced", func(t *pace.Tuning) { t.HoldAnnounced = t.Hold }, "announced"},
	}
	for _, r := range rules {
		t.Run(r.rule, func(t *testing.T) {
			t.Parallel()
			tuning := pace.DefaultTuning
			r.off(&tuning)
			sc := byName[r.scenario]
			res := sc.run(tuning)
			missed := sc.goal(res)
			t.Logf("without it, %s: %s; misses: %s", r.scenario, res, strings.Join(missed, "; "))
			assert.NotEmpty(t, missed, "the %s scenario meets its goal without this rule: drop it", r.scenario)
		})
	}
}

// The board earns its place too: four processes on one token that do not
// share their pace each find a share alone, and draw more 429s than the
// goal allows.
func TestTheBoardEarnsItsPlace(t *testing.T) {
	t.Parallel()
	cs := clients(4, 0, 80, pace.DefaultTuning)
	r := simulate(&simAPI{quota: steady(20), burst: 5}, cs, 400, 10*time.Minute)
	t.Logf("four processes without a board: %s", r)
	var shared scenario
	for _, sc := range scenarios {
		if sc.name == "shared" {
			shared = sc
		}
	}
	assert.NotEmpty(t, shared.goal(r), "four processes meet the shared goal without a board")
	assert.Greater(t, r.minRate, pace.DefaultTuning.Floor, "never at the floor, even alone")
}
