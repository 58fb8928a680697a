package command

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestParseDuration(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]time.Duration{
		"20h": 20 * time.Hour, "90s": 90 * time.Second, "0": 0, "30d": 30 * 24 * time.Hour,
		"1d12h": 36 * time.Hour, "0.5d": 12 * time.Hour, " 7d ": 7 * 24 * time.Hour,
	} {
		got, err := parseDuration(in)
		require.NoError(t, err, in)
		assert.Equal(t, want, got, in)
	}
	for _, bad := range []string{"soon", "d", "-1d", "3days", "1d1x"} {
		_, err := parseDuration(bad)
		assert.ErrorContains(t, err, "a duration such as 20h", bad)
	}
}
