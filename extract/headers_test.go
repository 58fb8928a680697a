package extract

import (
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
)

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

func TestAnnouncedQuota(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]float64{"100;w=60": 100.0 / 60, `"a";q=50;w=10, "b";q=3;w=1`: 3, `"default";q=20;w=1`: 20, "": 0, "x": 0} {
		assert.InDelta(t, want, announcedQuota(http.Header{"Ratelimit-Policy": {in}}), 1e-9, in)
	}
	assert.InDelta(t, 20, announcedQuota(http.Header{"Ratelimit-Limit": {"20"}}), 1e-9, "RateLimit-Limit, per second")
}
