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

// A 429 while pacing tells the quota: the gate holds at 93% of it, never
// above the configured rate, and probes upward slowly.
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
	assert.InDelta(t, 9.3*0.85*0.93, g.Limit(), 1e-9)

	// Calm: no probe before 10 calm seconds, then 1% of the quota at a time,
	// never above the configured rate.
	start := g.Limit()
	now = now.Add(2 * time.Second)
	g.raise(now)
	assert.InDelta(t, start, g.Limit(), 1e-9)
	for range 200 {
		now = now.Add(1100 * time.Millisecond)
		g.raise(now)
	}
	assert.Greater(t, g.Limit(), start, "probes upward")
	assert.LessOrEqual(t, g.Limit(), 10.0, "never above --rate")
}

// Without a configured rate, the first 429 starts from what was sent and
// ramps until a 429 tells the quota.
func TestGateUnlimitedRampsThenHolds(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	g := NewGate(0)
	g.now = func() time.Time { return now }
	assert.True(t, math.IsInf(g.Limit(), 1))
	for range 8 { // a burst of 8 requests
		g.count(now)
	}
	g.Pause(time.Second)
	assert.Equal(t, 8.0, g.Limit(), "the rate actually sent")
	now = now.Add(1100 * time.Millisecond)
	g.raise(now)
	now = now.Add(1100 * time.Millisecond)
	g.raise(now)
	assert.Equal(t, 8*1.25, g.Limit(), "ramps a quarter per calm second")
	g.Pause(time.Second)
	assert.InDelta(t, 10*0.93, g.Limit(), 1e-9, "then holds under the rate that drew the 429")
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
		g.count(now)
	}
	for range 4 {
		g.Refused()
	}
	assert.Equal(t, 20.0, g.Limit(), "4 of 20: noise")
	assert.True(t, g.pausedUntil.IsZero(), "nothing paused")
	for range 3 {
		g.Refused()
	}
	assert.InDelta(t, 20*0.93, g.Limit(), 1e-9, "7 of 20: the pace is too high")
	assert.Contains(t, g.Reason(), "without Retry-After")
}
