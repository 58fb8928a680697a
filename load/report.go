package load

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
)

// Report is what the tables say about the interviews and the export runs.
type Report struct {
	Outcomes []OutcomeCount `json:"outcomes"`
	Scores   ScoreStats     `json:"scores"`
	Messages MessageStats   `json:"messages_per_interview"`
	Runs     []Run          `json:"runs"`
	// LastRunFailures groups the failures of the most recent run by cause.
	LastRunFailures []FailureGroup `json:"last_run_failures"`
	// ScoresByStatus sets scores against hiring outcomes, when the change
	// feed or the listings told any proposal's status.
	ScoresByStatus []StatusScores `json:"scores_by_status,omitempty"`
	// Lifecycle is what happened to candidates' data (docs/privacy.md).
	Lifecycle Lifecycle `json:"lifecycle"`
}

// Lifecycle counts the removals of content, the erasures and, over the
// runs reported, the re-checks.
type Lifecycle struct {
	// Removed counts the interviews whose content was removed, by reason
	// (deleted_upstream, erased, retention).
	Removed map[string]int64 `json:"content_removed"`
	// Erasures counts the erased proposal IDs (stored or not).
	Erasures int64 `json:"erasures"`
	// Of the runs reported: stored transcripts re-checked, removed as
	// deleted upstream, removed by retention, IDs skipped as erased.
	Rechecked        int64 `json:"rechecked"`
	RemovedUpstream  int64 `json:"removed_upstream"`
	RemovedRetention int64 `json:"removed_retention"`
	SkippedErased    int64 `json:"skipped_erased"`
	// OldestFetch is when the stored transcript fetched longest ago was.
	OldestFetch *time.Time `json:"oldest_stored_fetch"`
}

// StatusScores are the scores of the available interviews of proposals in
// one status (the API's raw value); AvgScore is on 0–100, of the scores
// whose scale is known.
type StatusScores struct {
	Status     string   `json:"status"`
	Interviews int64    `json:"interviews"`
	Scored     int64    `json:"scored"`
	AvgScore   *float64 `json:"avg_score"`
}

// OutcomeCount is the number of proposals with one status.
type OutcomeCount struct {
	Status    string `json:"status"`
	Proposals int64  `json:"proposals"`
	Messages  int64  `json:"messages"`
}

// ScoreStats describes the scores of available interviews, on one scale:
// score_100, the score on 0–100 where its scale is known (docs/data.md).
type ScoreStats struct {
	Scored   int64 `json:"scored"`
	Unscored int64 `json:"unscored"`
	// Of Scored: on 0–100, on 0–10 (shown times ten), and of a scale that
	// cannot be told (left out of the statistics and the histogram).
	On100        int64 `json:"on_100"`
	On10         int64 `json:"on_10"`
	UnknownScale int64 `json:"unknown_scale"`
	// Min, Avg and Max are of score_100.
	Min *float64 `json:"min"`
	Avg *float64 `json:"avg"`
	Max *float64 `json:"max"`
	// Buckets split 0–100 in ten equal ranges, the last one closed.
	Buckets []Bucket `json:"buckets"`
}

// score100 is the SQL of an interviews row's score on 0–100: NULL where its
// scale is unknown.
const score100 = `CASE score_scale WHEN 100 THEN score WHEN 10 THEN score * 10 END`

// Bucket is one range of a histogram.
type Bucket struct {
	Lo    float64 `json:"lo"`
	Hi    float64 `json:"hi"`
	Count int64   `json:"count"`
}

// MessageStats describes transcript lengths of available interviews.
type MessageStats struct {
	Interviews int64   `json:"interviews"`
	Min        int64   `json:"min"`
	Median     float64 `json:"median"`
	P90        float64 `json:"p90"`
	Max        int64   `json:"max"`
	Avg        float64 `json:"avg"`
}

// Run is one row of export_runs.
type Run struct {
	ID          int64      `json:"id"`
	StartedAt   time.Time  `json:"started_at"`
	FinishedAt  *time.Time `json:"finished_at"`
	Status      string     `json:"status"`
	Shard       string     `json:"shard"`
	Source      string     `json:"source"`
	IDsRead     int64      `json:"ids_read"`
	Skipped     int64      `json:"skipped"`
	Available   int64      `json:"available"`
	NoInterview int64      `json:"no_interview"`
	Failed      int64      `json:"failed"`
	Changed     int64      `json:"interviews_changed"`
	Requests    int64      `json:"requests"`
	Retries     int64      `json:"retries"`
	RateLimited int64      `json:"rate_limited"`
	Error       *string    `json:"error"`
	// Every other counter and setting of the row.
	IDsDuplicate    int64            `json:"ids_duplicate"`
	MessagesWritten int64            `json:"messages_written"`
	MessagesDeleted int64            `json:"messages_deleted"`
	EventsRead      int64            `json:"events_read"`
	EventsByType    map[string]int64 `json:"events_by_type"`
	SettledRate     *float64         `json:"settled_rate"`
	ExitStatus      *int32           `json:"exit_status"`
	Settings        map[string]any   `json:"settings"`
	// Candidates' data.
	Rechecked        int64 `json:"rechecked"`
	RemovedUpstream  int64 `json:"removed_upstream"`
	RemovedRetention int64 `json:"removed_retention"`
	SkippedErased    int64 `json:"skipped_erased"`
}

// Duration is how long the run took, or has been running at now.
func (r Run) Duration(now time.Time) time.Duration {
	if r.FinishedAt != nil {
		return r.FinishedAt.Sub(r.StartedAt)
	}
	return now.Sub(r.StartedAt)
}

// FailureGroup counts the failures of one cause.
type FailureGroup struct {
	Code       string `json:"code"`
	HTTPStatus *int32 `json:"http_status"`
	Count      int64  `json:"count"`
	// Known counts, of Count, the known permanent failures found failing
	// the same way again.
	Known   int64  `json:"known"`
	Example string `json:"example"`
}

// Runs returns the last limit runs, newest first.
func (s *Store) Runs(ctx context.Context, limit int) ([]Run, error) {
	rows, err := s.pool.Query(ctx, `SELECT id, started_at, finished_at, status, shard, source, ids_read, ids_skipped,
		available, no_interview, failed, interviews_changed, requests, retries, rate_limited, error,
		ids_duplicate, messages_written, messages_deleted, events_read, events_by_type, settled_rate, exit_status, settings,
		rechecked, removed_upstream, removed_retention, skipped_erased
		FROM export_runs ORDER BY id DESC LIMIT $1`, limit)
	if err != nil {
		return nil, fmt.Errorf("read export_runs: %w", err)
	}
	runs, err := pgx.CollectRows(rows, pgx.RowToStructByPos[Run])
	if err != nil {
		return nil, fmt.Errorf("read export_runs: %w", err)
	}
	return runs, nil
}

// Report reads the whole report; runs bounds the run history.
func (s *Store) Report(ctx context.Context, runs int) (Report, error) {
	var r Report
	rows, err := s.pool.Query(ctx, `SELECT status, count(*), coalesce(sum(message_count), 0)
		FROM interviews GROUP BY status ORDER BY status`)
	if err != nil {
		return r, fmt.Errorf("report outcomes: %w", err)
	}
	if r.Outcomes, err = pgx.CollectRows(rows, pgx.RowToStructByPos[OutcomeCount]); err != nil {
		return r, fmt.Errorf("report outcomes: %w", err)
	}

	sc := &r.Scores
	if err := s.pool.QueryRow(ctx, `SELECT count(score), count(*) - count(score),
		count(score) FILTER (WHERE score_scale = 100), count(score) FILTER (WHERE score_scale = 10),
		count(score) FILTER (WHERE score_scale IS NULL),
		min(`+score100+`)::float8, avg(`+score100+`)::float8, max(`+score100+`)::float8
		FROM interviews WHERE status = 'available'`).Scan(&sc.Scored, &sc.Unscored, &sc.On100, &sc.On10, &sc.UnknownScale,
		&sc.Min, &sc.Avg, &sc.Max); err != nil {
		return r, fmt.Errorf("report scores: %w", err)
	}
	if sc.On100+sc.On10 > 0 {
		rows, err := s.pool.Query(ctx, `WITH counted AS (
				SELECT least(width_bucket(`+score100+`, 0, 100, 10), 10) AS b, count(*) AS n
				FROM interviews WHERE status = 'available' AND score_scale IS NOT NULL GROUP BY 1)
			SELECT (10 * (g - 1))::float8, (10 * g)::float8, coalesce(n, 0)
			FROM generate_series(1, 10) AS g LEFT JOIN counted ON counted.b = g
			ORDER BY g`)
		if err != nil {
			return r, fmt.Errorf("report score histogram: %w", err)
		}
		if sc.Buckets, err = pgx.CollectRows(rows, pgx.RowToStructByPos[Bucket]); err != nil {
			return r, fmt.Errorf("report score histogram: %w", err)
		}
	}

	m := &r.Messages
	if err := s.pool.QueryRow(ctx, `SELECT count(*), coalesce(min(message_count), 0),
		coalesce(percentile_cont(0.5) WITHIN GROUP (ORDER BY message_count), 0),
		coalesce(percentile_cont(0.9) WITHIN GROUP (ORDER BY message_count), 0),
		coalesce(max(message_count), 0), coalesce(avg(message_count), 0)::float8
		FROM interviews WHERE status = 'available'`).Scan(&m.Interviews, &m.Min, &m.Median, &m.P90, &m.Max, &m.Avg); err != nil {
		return r, fmt.Errorf("report messages: %w", err)
	}

	rows, err = s.pool.Query(ctx, `SELECT p.status, count(*), count(score), avg(`+score100+`)::float8
		FROM interviews i JOIN proposals p USING (proposal_id)
		WHERE i.status = 'available' AND p.status IS NOT NULL
		GROUP BY p.status ORDER BY p.status`)
	if err != nil {
		return r, fmt.Errorf("report scores by status: %w", err)
	}
	if r.ScoresByStatus, err = pgx.CollectRows(rows, pgx.RowToStructByPos[StatusScores]); err != nil {
		return r, fmt.Errorf("report scores by status: %w", err)
	}

	if r.Runs, err = s.Runs(ctx, runs); err != nil {
		return r, err
	}
	if r.Lifecycle, err = s.lifecycle(ctx, r.Runs); err != nil {
		return r, err
	}
	if len(r.Runs) > 0 {
		rows, err := s.pool.Query(ctx, `SELECT error_code, http_status, count(*), count(*) FILTER (WHERE known), min(message)
			FROM export_failures WHERE run_id = $1
			GROUP BY error_code, http_status ORDER BY count(*) DESC, error_code`, r.Runs[0].ID)
		if err != nil {
			return r, fmt.Errorf("report failures: %w", err)
		}
		if r.LastRunFailures, err = pgx.CollectRows(rows, pgx.RowToStructByPos[FailureGroup]); err != nil {
			return r, fmt.Errorf("report failures: %w", err)
		}
	}
	return r, nil
}

// lifecycle reads what happened to candidates' data.
func (s *Store) lifecycle(ctx context.Context, runs []Run) (Lifecycle, error) {
	l := Lifecycle{Removed: map[string]int64{RemovedUpstream: 0, RemovedErased: 0, RemovedRetention: 0}}
	rows, err := s.pool.Query(ctx, `SELECT content_removed, count(*) FROM interviews WHERE content_removed IS NOT NULL GROUP BY 1`)
	if err != nil {
		return l, fmt.Errorf("report removals: %w", err)
	}
	var reason string
	var n int64
	if _, err := pgx.ForEachRow(rows, []any{&reason, &n}, func() error {
		l.Removed[reason] = n
		return nil
	}); err != nil {
		return l, fmt.Errorf("report removals: %w", err)
	}
	if err := s.pool.QueryRow(ctx, `SELECT (SELECT count(*) FROM erasures),
			(SELECT min(fetched_at) FROM interviews WHERE status = 'available' AND content_removed IS NULL)`).Scan(&l.Erasures, &l.OldestFetch); err != nil {
		return l, fmt.Errorf("report erasures: %w", err)
	}
	for _, r := range runs {
		l.Rechecked += r.Rechecked
		l.RemovedUpstream += r.RemovedUpstream
		l.RemovedRetention += r.RemovedRetention
		l.SkippedErased += r.SkippedErased
	}
	return l, nil
}
