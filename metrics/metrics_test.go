package metrics_test

import (
	"io"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/interview-export/interview-export/metrics"
)

// A batch run's textfile carries every series, and the next run reads its
// last success back with Prometheus's own parser.
func TestRunTextfile(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "interview_export.prom")
	success := time.Date(2026, 12, 1, 3, 0, 0, 500_000_000, time.UTC)
	r := metrics.Run{Shard: "0/1", FinishedAt: success.Add(time.Minute), LastSuccess: success, Duration: 90 * time.Second, ExitStatus: 1,
		Proposals: map[string]int64{"available": 7, "skipped": 2}, Failures: map[string]int64{"http_403": 1, "invalid_id": 0},
		Requests: 10, Retries: 1, RateLimited: 2, Messages: 70, RequestRate: 18.6}
	require.NoError(t, metrics.Publish(t.Context(), metrics.Target{Textfile: path}, r))
	raw, err := os.ReadFile(path)
	require.NoError(t, err)
	text := string(raw)
	for _, want := range []string{
		`interview_export_proposals{outcome="available",shard="0/1"} 7`,
		`interview_export_proposals{outcome="no_interview",shard="0/1"} 0`,
		`interview_export_proposals{outcome="skipped",shard="0/1"} 2`,
		`interview_export_failures{code="http_403",shard="0/1"} 1`,
		`interview_export_exit_status{shard="0/1"} 1`,
		`interview_export_request_rate{shard="0/1"} 18.6`,
		"# HELP interview_export_proposals " + metrics.Proposals.Help,
	} {
		assert.Contains(t, text, want)
	}
	assert.Equal(t, success, metrics.PreviousLastSuccess(path).UTC())
	assert.True(t, metrics.PreviousLastSuccess(filepath.Join(t.TempDir(), "none")).IsZero())
}

// The follower serves the same vocabulary as running totals, with the same
// help, and is ready only after a cycle in which everything answered.
func TestFollowerSeries(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 12, 1, 3, 0, 0, 0, time.UTC)
	m := metrics.NewFollower("0/1", func() time.Time { return now })
	assert.False(t, m.Ready())
	var accepted int64 = 3
	m.CountDeliveries("accepted", func() int64 { return accepted })
	m.Observe(metrics.Cycle{Available: 2, Requests: 5, RateLimited: 1, Rate: 9.3, Newest: now.Add(-4 * time.Second), OK: true, End: now})
	m.Observe(metrics.Cycle{Available: 1, Requests: 7, OK: true, End: now})
	assert.True(t, m.Ready())
	rec := httptest.NewRecorder()
	m.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	body, _ := io.ReadAll(rec.Body)
	text := string(body)
	for _, want := range []string{
		`interview_export_proposals_total{outcome="available",shard="0/1"} 3`,
		`interview_export_requests_total{shard="0/1"} 7`,
		`interview_export_cycles_total{result="ok",shard="0/1"} 2`,
		`interview_export_webhook_deliveries_total{result="accepted",shard="0/1"} 3`,
		`interview_export_feed_newest_event_age_seconds{shard="0/1"} 4`,
		"# HELP interview_export_proposals_total " + metrics.Proposals.Help,
	} {
		assert.Contains(t, text, want)
	}
	assert.False(t, strings.Contains(text, "interview_export_proposals{"), "totals only")
	m.Observe(metrics.Cycle{OK: false})
	assert.False(t, m.Ready())
}
