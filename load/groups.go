package load

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"
)

// GroupScores are the counts and score statistics of one job or one hiring
// status (report --by), on 0–100 (score_100): a score whose scale is
// unknown is counted in UnknownScale and left out of the statistics.
type GroupScores struct {
	// Key is the job's ID or the status (the API's raw value, UNKNOWN for
	// none); Label the job's title, or the status again.
	Key         string   `json:"key"`
	Label       string   `json:"label"`
	Proposals   int64    `json:"proposals"`
	Interviews  int64    `json:"interviews"`
	AvgScore    *float64 `json:"avg_score"`
	MedianScore *float64 `json:"median_score"`
	P90Score    *float64 `json:"p90_score"`
	MinScore    *float64 `json:"min_score"`
	MaxScore    *float64 `json:"max_score"`
	// UnknownScale counts the scores of the group whose scale is unknown.
	UnknownScale int64 `json:"unknown_scale"`
}

// groupSQL is the statistics of the views' rows grouped by one expression.
const groupSQL = `SELECT %[1]s AS key, %[2]s AS label, count(*) AS proposals,
	count(*) FILTER (WHERE interview_status = 'available') AS interviews,
	round(avg(score_100), 2)::float8, percentile_cont(0.5) WITHIN GROUP (ORDER BY score_100),
	percentile_cont(0.9) WITHIN GROUP (ORDER BY score_100), min(score_100)::float8, max(score_100)::float8,
	count(score) FILTER (WHERE score_100 IS NULL)
	FROM interview_scores GROUP BY 1 ORDER BY 3 DESC, 1`

// ScoresBy returns the statistics by job ("job") or by hiring status
// ("status"), from the view interview_scores.
func (s *Store) ScoresBy(ctx context.Context, by string) ([]GroupScores, error) {
	var q string
	switch by {
	case "job":
		q = fmt.Sprintf(groupSQL, "coalesce(job_id, 'UNKNOWN')", "coalesce(max(job_title), max(job_id), 'UNKNOWN')")
	case "status":
		q = fmt.Sprintf(groupSQL, "coalesce(status, 'UNKNOWN')", "coalesce(max(status), 'UNKNOWN')")
	default:
		return nil, fmt.Errorf("scores by %q: want job or status", by)
	}
	rows, err := s.pool.Query(ctx, q)
	if err != nil {
		return nil, fmt.Errorf("report scores by %s: %w", by, err)
	}
	groups, err := pgx.CollectRows(rows, pgx.RowToStructByPos[GroupScores])
	if err != nil {
		return nil, fmt.Errorf("report scores by %s: %w", by, err)
	}
	return groups, nil
}

// JobHistogram is the score distribution of one job on 0–100 (score_100,
// the scores whose scale is known), in the report's ten buckets.
type JobHistogram struct {
	JobID  string  `json:"job_id"`
	Title  string  `json:"title"`
	Counts []int64 `json:"counts"`
}

// JobHistograms returns the score distribution of the limit jobs with the
// most scored interviews, over the ten buckets of [lo, hi].
func (s *Store) JobHistograms(ctx context.Context, lo, hi float64, limit int) ([]JobHistogram, error) {
	rows, err := s.pool.Query(ctx, `WITH top AS (
			SELECT job_id, coalesce(max(job_title), job_id) AS title, count(score_100) AS n
			FROM interview_scores WHERE job_id IS NOT NULL AND score_100 IS NOT NULL
			GROUP BY job_id ORDER BY n DESC, job_id LIMIT $3)
		SELECT t.job_id, t.title, array_agg(coalesce(c.n, 0) ORDER BY g)
		FROM top t CROSS JOIN generate_series(1, 10) g
		LEFT JOIN (SELECT job_id, least(width_bucket(score_100, $1, $2, 10), 10) AS b, count(*) AS n
		           FROM interview_scores WHERE score_100 IS NOT NULL GROUP BY 1, 2) c ON c.job_id = t.job_id AND c.b = g
		GROUP BY t.job_id, t.title, t.n ORDER BY t.n DESC, t.job_id`, lo, hi, limit)
	if err != nil {
		return nil, fmt.Errorf("report job histograms: %w", err)
	}
	hs, err := pgx.CollectRows(rows, pgx.RowToStructByPos[JobHistogram])
	if err != nil {
		return nil, fmt.Errorf("report job histograms: %w", err)
	}
	return hs, nil
}
