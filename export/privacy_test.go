package export_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/interview-export/interview-export/export"
)

// A retention period is a whole number of days, weeks, months or years,
// counted on the calendar; under a day is refused with a hint.
func TestParsePeriod(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 12, 6, 22, 0, 0, 0, time.UTC)
	for in, want := range map[string]time.Time{
		"400d": time.Date(2025, 11, 1, 22, 0, 0, 0, time.UTC),
		"52w":  time.Date(2025, 12, 7, 22, 0, 0, 0, time.UTC),
		"18mo": time.Date(2025, 6, 6, 22, 0, 0, 0, time.UTC),
		"2y":   time.Date(2024, 12, 6, 22, 0, 0, 0, time.UTC),
	} {
		p, err := export.ParsePeriod(in)
		require.NoError(t, err, in)
		assert.Equal(t, want, p.Cutoff(now), in)
	}
	for _, in := range []string{"", "0"} {
		p, err := export.ParsePeriod(in)
		require.NoError(t, err)
		assert.True(t, p.IsZero(), "%q is no retention", in)
	}
	for in, msg := range map[string]string{
		"12h":  "shorter than a day",
		"90m":  "shorter than a day",
		"1.5y": "unknown unit",
		"18":   "not a retention period such as 18mo",
		"0d":   "not a retention period",
		"mo":   "not a retention period",
		"-3d":  "not a retention period",
	} {
		_, err := export.ParsePeriod(in)
		assert.ErrorContains(t, err, msg, in)
	}
	p, _ := export.ParsePeriod("18mo")
	assert.Equal(t, "18mo", p.String())
}
