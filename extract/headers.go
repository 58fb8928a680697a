package extract

import (
	"net/http"
	"strconv"
	"strings"
	"time"
)

// What the API's headers say of its pace: Retry-After on a 429, and the
// IETF draft's RateLimit headers when it announces its quota.

// parseRetryAfter reads a Retry-After value: delay-seconds or an HTTP date.
// It returns 0 when the header is absent or unreadable.
func parseRetryAfter(v string, now time.Time) time.Duration {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0
	}
	if secs, err := strconv.ParseFloat(v, 64); err == nil {
		if secs < 0 {
			return 0
		}
		return time.Duration(min(secs, 1e9) * float64(time.Second))
	}
	if t, err := http.ParseTime(v); err == nil {
		// An HTTP date has one-second resolution and the server may have
		// truncated its resume time: wait until that second is over.
		return max(t.Add(time.Second).Sub(now), 0)
	}
	return 0
}

// announcedQuota reads requests per second from RateLimit-Policy ("20;w=1",
// or `"default";q=20;w=1` in the newer draft; the tightest policy wins) or
// RateLimit-Limit (per RateLimit-Policy's window, else per second).
func announcedQuota(h http.Header) float64 {
	best := float64(0)
	window := 1.0
	for _, policy := range strings.Split(h.Get("RateLimit-Policy"), ",") {
		var quota, w float64 = -1, 1
		for i, part := range strings.Split(policy, ";") {
			part = strings.TrimSpace(part)
			k, v, hasEq := strings.Cut(part, "=")
			switch {
			case i == 0 && !hasEq:
				if n, err := strconv.ParseFloat(part, 64); err == nil {
					quota = n
				}
			case k == "q":
				if n, err := strconv.ParseFloat(v, 64); err == nil {
					quota = n
				}
			case k == "w":
				if n, err := strconv.ParseFloat(v, 64); err == nil && n > 0 {
					w = n
				}
			}
		}
		if quota > 0 {
			window = w
			if r := float64(quota / w); best == 0 || r < best {
				best = r
			}
		}
	}
	if best > 0 {
		return best
	}
	if n, err := strconv.ParseFloat(strings.TrimSpace(h.Get("RateLimit-Limit")), 64); err == nil && n > 0 {
		return float64(n / window)
	}
	return 0
}
