package extract

import (
	"context"
	"math"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// calmSeconds moves the clock of g on by n seconds without a 429, each
// second sending what the pace allows.
func calmSeconds(g *Gate, now *time.Time, n int) {
	for range n {
		*now = now.Add(time.Second)
		for range int(g.Limit()) {
			g.started(*now)
		}
		g.raise(*now)
	}
}

// A 429 while pacing tells the quota: the gate holds at 93% of it, never
// above the configured rate; once calm it probes above it in steps that
// double, and a probe refused near the quota learned returns to the pace
// held and waits twice as long before the next.
func TestGateLearnsTheQuotaFrom429s(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	g := NewGate(10)
	g.now = func() time.Time { return now }

	g.Pause(time.Second)
	assert.InDelta(t, 9.3, g.Limit(), 1e-9, "10/s drew a 429: hold at 93% of it")
	g.Pause(time.Second)
	assert.InDelta(t, 9.3, g.Limit(), 1e-9, "429s of requests already in flight cut once")
	quota, announced := g.Quota()
	assert.Equal(t, 10.0, quota)
	assert.False(t, announced)

	// Refused again within seconds of holding: the quota was lower still.
	now = now.Add(2500 * time.Millisecond)
	g.Pause(time.Second)
	held := 9.3 * 0.85 * 0.93
	assert.InDelta(t, held, g.Limit(), 1e-9)

	// Calm seconds at the pace held (every second sends what it allows).
	calm := func(seconds int) { calmSeconds(g, &now, seconds) }
	calm(2)
	assert.InDelta(t, held, g.Limit(), 1e-9, "no probe before the wait")
	for i := 0; !g.probing; i++ {
		require.Less(t, i, 4, "a probe within 3 s of the pause's end, and half as much again of jitter")
		calm(1)
	}
	assert.InDelta(t, held*1.05, g.Limit(), 1e-9, "the first step: 5%")
	assert.Contains(t, g.Reason(), "probing")
	calm(2)
	assert.InDelta(t, held*1.05*1.10, g.Limit(), 1e-9, "each step lasts two seconds and doubles")

	// Refused while probing, a little above the quota learned: back to the
	// pace held, and the next probe waits twice as long.
	g.Pause(time.Second)
	assert.InDelta(t, held, g.Limit(), 1e-6)
	assert.Contains(t, g.Reason(), "while probing")
	assert.Equal(t, 2*probeWaitMin, g.probeWait)

	for range 100 {
		calm(1)
		assert.LessOrEqual(t, g.Limit(), 10.0, "never above --rate")
	}
}

// Without a configured rate, the gate starts slow and doubles each calm
// second until the limit is lifted; a 429 then starts again from what was
// sent, and ramps until a 429 tells the quota.
func TestGateUnlimitedRampsThenHolds(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	g := NewGate(0)
	g.now = func() time.Time { return now }
	assert.Equal(t, 4.0, g.Limit(), "starts slow")
	g.raise(now) // the first request
	for _, want := range []float64{8, 16, 32, math.Inf(1)} {
		now = now.Add(1100 * time.Millisecond)
		g.raise(now)
		assert.Equal(t, want, g.Limit(), "doubles each calm second, lifted at 16× the start")
	}
	for range 8 { // a burst of 8 requests
		g.started(now)
	}
	g.Pause(time.Second)
	assert.Equal(t, 8.0, g.Limit(), "the rate actually sent")
	now = now.Add(1100 * time.Millisecond)
	g.raise(now)
	now = now.Add(1100 * time.Millisecond)
	g.raise(now)
	assert.Equal(t, 16.0, g.Limit(), "doubles each calm second")
	g.Pause(time.Second)
	assert.InDelta(t, 16*0.93, g.Limit(), 1e-9, "then holds under the rate that drew the 429")
}

// A 429 at a pace well above what the API accepted (a ramp overshot the
// quota, or other clients share it) learns what was accepted; a lone 429
// among many accepted requests learns the pace it came at.
func TestGateLearnsWhatWasAccepted(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	g := NewGate(40)
	g.now = func() time.Time { return now }
	for range 40 {
		g.started(now)
	}
	now = now.Add(500 * time.Millisecond)
	g.Pause(time.Second)
	quota, _ := g.Quota()
	assert.Equal(t, 40.0, quota, "1 refused of 40: the pace that drew it")

	g = NewGate(40)
	g.now = func() time.Time { return now }
	for range 40 {
		g.started(now)
	}
	now = now.Add(500 * time.Millisecond)
	for range 4 {
		g.Refused() // without Retry-After: 4 tell nothing alone
	}
	for range 10 { // the 429s of requests in flight count once
		g.Pause(time.Second)
	}
	quota, _ = g.Quota()
	assert.InDelta(t, 35/1.5, quota, 1e-9, "5 refused of 40, over the last second and a half")
	assert.InDelta(t, quota*0.93, g.Limit(), 1e-9)
}

// An announced quota (the IETF draft's headers) is held at 97%.
func TestGateFollowsAnnouncedQuota(t *testing.T) {
	t.Parallel()
	g := NewGate(0)
	g.Observe(http.Header{"Ratelimit-Policy": {`"default";q=20;w=1`}})
	assert.InDelta(t, 19.4, g.Limit(), 1e-9)
	quota, announced := g.Quota()
	assert.Equal(t, 20.0, quota)
	assert.True(t, announced)
	g = NewGate(5)
	g.Observe(http.Header{"Ratelimit-Limit": {"20"}})
	assert.Equal(t, 5.0, g.Limit(), "never above --rate")
	for in, want := range map[string]float64{"100;w=60": 100.0 / 60, `"a";q=50;w=10, "b";q=3;w=1`: 3, "": 0, "x": 0} {
		assert.InDelta(t, want, float64(announcedQuota(http.Header{"Ratelimit-Policy": {in}})), 1e-9, in)
	}
}

func TestGateWaitHonoursPause(t *testing.T) {
	t.Parallel()
	g := NewGate(0)
	start := time.Now() // before the pause is announced: the pause ends 300ms after it at the earliest
	g.Pause(300 * time.Millisecond)
	require.NoError(t, g.Wait(context.Background()))
	assert.GreaterOrEqual(t, time.Since(start), 300*time.Millisecond, "no request before the announced time")

	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	g.Pause(time.Hour)
	assert.ErrorIs(t, g.Wait(ctx), context.Canceled)
}

func TestParseRetryAfter(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 11, 29, 10, 0, 0, 250_000_000, time.UTC)
	tests := []struct {
		in   string
		want time.Duration
	}{
		{"", 0},
		{"3", 3 * time.Second},
		{" 1.5 ", 1500 * time.Millisecond},
		{"0", 0},
		{"-1", 0},
		{"soon", 0},
		{"Sun, 29 Nov 2026 10:00:05 GMT", 5750 * time.Millisecond}, // to the end of the announced second
		{"Sun, 29 Nov 2026 09:59:00 GMT", 0},
	}
	for _, tt := range tests {
		assert.Equal(t, tt.want, parseRetryAfter(tt.in, now), "Retry-After %q", tt.in)
	}
}

// 429s without Retry-After pause nothing and cut nothing while they are a
// small share of the requests; a quarter of them is evidence.
func TestGateWeighsBare429s(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	g := NewGate(20)
	g.now = func() time.Time { return now }
	for range 20 {
		g.started(now)
	}
	for range 4 {
		g.Refused()
	}
	assert.Equal(t, 20.0, g.Limit(), "4 of 20: noise")
	assert.True(t, g.pausedUntil.IsZero(), "nothing paused")
	g.Refused()
	assert.InDelta(t, 15*0.93, g.Limit(), 1e-9, "5 of 20: the pace is too high, and 15/s were accepted")
	assert.Contains(t, g.Reason(), "without Retry-After")
}

// Shards sharing a quota hold one pace: they move toward their mean; while
// one probes, the others start no probe and do not cut for the 429s it
// draws; a 429 at another shard ends a probe as this shard's own would; the
// pace of a shard that ended is shared among those that remain.
func TestGatePeers(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	g := NewGate(0)
	g.now = func() time.Time { return now }
	g.Peers(map[string]Peer{"1/2": {Rate: math.Inf(1)}})
	assert.Equal(t, 4.0, g.Limit(), "nothing to share before a pace is learned")
	g = NewGate(100)
	g.now = func() time.Time { return now }
	g.Pause(time.Second)
	require.InDelta(t, 93, g.Limit(), 1e-9)
	now = now.Add(2 * time.Second)

	g.Peers(map[string]Peer{"1/2": {Rate: 5}})
	assert.InDelta(t, 93-(93-5)/4, g.Limit(), 1e-9, "halfway toward the mean of 93 and 5")
	assert.Equal(t, "sharing the quota with another shard", g.Reason())
	pace := g.Limit()

	g.Peers(map[string]Peer{"1/2": {Rate: 5, Probing: true}})
	g.Pause(time.Second)
	assert.Equal(t, pace, g.Limit(), "the other shard's probe drew the 429: no cut here")
	calmSeconds(g, &now, 30)
	assert.False(t, g.probing, "no probe while another shard probes")

	g.Peers(map[string]Peer{"1/2": {Rate: 5}})
	for i := 0; !g.probing; i++ {
		require.Less(t, i, 10)
		calmSeconds(g, &now, 1)
	}
	g.Peers(map[string]Peer{"1/2": {Rate: 5, Limited: 1}})
	assert.False(t, g.probing, "a 429 at the other shard ends the probe")
	assert.Contains(t, g.Reason(), "another shard was refused")

	pace = g.Limit()
	now = now.Add(2 * time.Second)
	g.Peers(map[string]Peer{})
	assert.InDelta(t, pace+5, g.Limit(), 1e-9, "the shard that ended leaves its 5/s to this one")
	assert.Contains(t, g.Reason(), "shards that ended")
}

// A probe that finds a quota that grew: big steps survive their first 429
// (requests that bunched up on the way), the probe fails on a 429 after
// the pause, and the pace then holds at the last step that passed.
func TestGateProbeFindsAQuotaThatGrew(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	g := NewGate(1000)
	g.now = func() time.Time { return now }
	g.Pause(time.Second)
	g.quota = 10 // learned: hold at 9.3
	g.set(now, 9.3, "test")
	for i := 0; g.step < 2*bigStep; i++ {
		require.Less(t, i, 20, "the probe reaches a big step")
		calmSeconds(g, &now, 1)
	}
	big, passed := g.Limit(), g.lastCalm
	assert.Greater(t, float64(passed), 10*probeMoved, "the steps before passed well above the quota learned")

	g.Pause(time.Second)
	now = now.Add(10 * time.Millisecond)
	g.Pause(time.Second) // in flight with it
	assert.True(t, g.probing, "a big step survives its first 429")
	assert.Equal(t, big, g.Limit())

	now = now.Add(1500 * time.Millisecond)
	g.Pause(time.Second)
	assert.False(t, g.probing, "a 429 after the pause ends the probe")
	assert.InDelta(t, float64(passed), g.Limit(), 1e-9, "held at the last step that passed")
	assert.Contains(t, g.Reason(), "the quota is at least")
	assert.Equal(t, probeWaitMin, g.probeWait, "and probes again soon")
}
