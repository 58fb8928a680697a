package extract

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestBreaker(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 11, 29, 0, 0, 0, 0, time.UTC)
	b := newBreaker(10, 3, 30*time.Second, 2*time.Second)
	b.now = func() time.Time { return now }
	ctx := context.Background()

	// Scattered faults never open it: a success resets the streak.
	for i := range 100 {
		if i%9 == 8 {
			b.succeeded(false, now)
			continue
		}
		assert.False(t, b.failed(false, fmt.Sprint("p-", i), "network_error"))
	}
	// Ten failures over one ID do not either: that is one broken proposal.
	b.succeeded(false, now)
	for range 12 {
		assert.False(t, b.failed(false, "p-x", "HTTP 500"))
	}
	// A slow answer to a request sent before the streak began does not reset it.
	b.succeeded(false, now)
	for i := range 5 {
		b.failed(false, fmt.Sprint("p-", i), "HTTP 503")
	}
	b.succeeded(false, now.Add(-time.Second))
	assert.False(t, b.failed(false, "p-7", "HTTP 503"))
	assert.Equal(t, 6, b.failures, "the streak goes on")

	// Ten in a row over three IDs do.
	b.succeeded(false, now)
	opened := false
	for i := range 10 {
		opened = b.failed(false, fmt.Sprint("p-", i%3), "HTTP 503")
	}
	require.True(t, opened)

	// While open, one probe goes out once the probe interval has passed.
	now = now.Add(2 * time.Second)
	probe, err := b.allow(ctx)
	require.NoError(t, err)
	assert.True(t, probe)
	b.failed(probe, "p-0", "HTTP 503")
	now = now.Add(2 * time.Second)
	probe, err = b.allow(ctx)
	require.NoError(t, err)
	require.True(t, probe)
	b.succeeded(probe, now) // the API is back
	probe, err = b.allow(ctx)
	require.NoError(t, err)
	assert.False(t, probe, "closed again: requests flow")

	// A streak that lasts past the give-up time ends with ErrAPIUnavailable.
	for i := range 10 {
		b.failed(false, fmt.Sprint("p-", i%3), "connection refused")
	}
	now = now.Add(31 * time.Second)
	_, err = b.allow(ctx)
	require.ErrorIs(t, err, ErrAPIUnavailable)
	assert.Contains(t, err.Error(), "connection refused")
	_, err = b.allow(ctx)
	require.ErrorIs(t, err, ErrAPIUnavailable, "for good")
}
