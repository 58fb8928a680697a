package pace

import (
	"errors"
	"fmt"
	"time"
)

// Tuning holds every number the pace's rules use. Each field names the
// scenario that needs it in docs/pace.md, and each has a value that turns
// its rule off, so that the simulator can show what the scenario does
// without it (pace_rules_test.go).
type Tuning struct {
	// Floor is the lowest pace, in requests per second.
	Floor float64
	// Start is the pace of the first second when no ceiling is given; it
	// doubles each calm second that used half of it (the slow start), so
	// that it stops at about twice what the process can send.
	Start float64
	// Hold is the share of a quota learned from 429s that the pace holds.
	Hold float64
	// HoldAnnounced is the share of a quota the API announced in its
	// headers that the pace holds.
	HoldAnnounced float64
	// Regain is the factor per calm second by which a pace below the one
	// held climbs back to it.
	Regain float64
	// ProbeAfter is how long the pace holds calm before it probes above
	// the quota learned; it doubles after each probe that found nothing,
	// up to ProbeAfterMax, and is jittered by up to half as much again.
	ProbeAfter, ProbeAfterMax time.Duration
	// ProbeStep is a probe's first step above the pace held (0.05: +5%);
	// each step that passes doubles the next (0: never probe).
	ProbeStep float64
	// EpisodeFloor is the share of the pace an episode of 429s interrupted
	// below which the episode never cuts (0: no floor, every refused second
	// cuts again).
	EpisodeFloor float64
	// BareShare is the share of the last two seconds' requests that 429s
	// without Retry-After must reach to say anything of the pace (0: each
	// one does).
	BareShare float64
}

// DefaultTuning is the tuning the bench's quota table was measured with.
var DefaultTuning = Tuning{
	Floor:         0.5,
	Start:         4,
	Hold:          0.93,
	HoldAnnounced: 0.97,
	Regain:        1.5,
	ProbeAfter:    2 * time.Second,
	ProbeAfterMax: 20 * time.Second,
	ProbeStep:     0.05,
	EpisodeFloor:  0.5,
	BareShare:     0.25,
}

// Validate says which field is out of its range, and why.
func (t Tuning) Validate() error {
	var errs []error
	check := func(ok bool, field, want string, v any) {
		if !ok {
			errs = append(errs, fmt.Errorf("pace tuning: %s is %v; it must be %s", field, v, want))
		}
	}
	check(t.Floor > 0, "Floor", "above 0", t.Floor)
	check(t.Start >= t.Floor, "Start", "at least Floor", t.Start)
	check(t.Hold > 0 && t.Hold <= 1, "Hold", "in (0, 1]", t.Hold)
	check(t.HoldAnnounced > 0 && t.HoldAnnounced <= 1, "HoldAnnounced", "in (0, 1]", t.HoldAnnounced)
	check(t.Regain >= 1, "Regain", "at least 1 (1: never regain)", t.Regain)
	check(t.ProbeAfter >= time.Second, "ProbeAfter", "at least 1s", t.ProbeAfter)
	check(t.ProbeAfterMax >= t.ProbeAfter, "ProbeAfterMax", "at least ProbeAfter", t.ProbeAfterMax)
	check(t.ProbeStep >= 0 && t.ProbeStep < 1, "ProbeStep", "in [0, 1)", t.ProbeStep)
	check(t.EpisodeFloor >= 0 && t.EpisodeFloor < 1, "EpisodeFloor", "in [0, 1)", t.EpisodeFloor)
	check(t.BareShare >= 0 && t.BareShare <= 1, "BareShare", "in [0, 1]", t.BareShare)
	return errors.Join(errs...)
}
