package extract

import (
	"context"
	"math"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestGateAdapts(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	g := NewGate(10)
	g.now = func() time.Time { return now }

	g.Pause(2 * time.Second)
	assert.Equal(t, 5.0, g.Limit(), "a 429 halves the rate")
	g.Pause(2 * time.Second)
	assert.Equal(t, 5.0, g.Limit(), "429s of requests already in flight cut once")

	now = now.Add(1100 * time.Millisecond)
	g.Pause(time.Second)
	assert.Equal(t, 2.5, g.Limit())

	// No raise before the pause is over plus a calm second.
	g.raise(now)
	assert.Equal(t, 2.5, g.Limit())
	for range 20 {
		now = now.Add(1100 * time.Millisecond)
		g.raise(now)
	}
	assert.Equal(t, 10.0, g.Limit(), "recovers to the configured rate, never above")
}

func TestGateUnlimitedRestores(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	g := NewGate(0)
	g.now = func() time.Time { return now }
	assert.True(t, math.IsInf(g.Limit(), 1))
	for range 40 { // 40 requests within the current second
		g.count(now)
	}
	g.Pause(time.Second)
	assert.Equal(t, 20.0, g.Limit(), "half the rate observed")
	for range 30 {
		now = now.Add(1100 * time.Millisecond)
		g.raise(now)
	}
	assert.True(t, math.IsInf(g.Limit(), 1), "back to unlimited once well above the rate that drew the 429")
}

func TestGateWaitHonoursPause(t *testing.T) {
	t.Parallel()
	g := NewGate(0)
	g.Pause(300 * time.Millisecond)
	start := time.Now()
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
