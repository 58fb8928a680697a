package load

import (
	"context"
	"math"
	"time"

	"github.com/jackc/pgx/v5"
)

// Pace is what a shard tells the others sharing the API's quota.
type Pace struct {
	Rate    float64 // requests/s; +Inf while unlimited
	Probing bool
	Limited int64
}

// SharePace records this shard's pace and returns the other shards' that
// were seen within the last `within`, keyed by shard, in one round trip.
func (s *Store) SharePace(ctx context.Context, shard string, own Pace, within time.Duration) (map[string]Pace, error) {
	var r *float64
	if !math.IsInf(own.Rate, 1) {
		r = &own.Rate
	}
	rows, err := s.pool.Query(ctx, `WITH own AS (
			INSERT INTO pace_shares (shard, rate, probing, limited, seen_at) VALUES ($1, $2, $3, $4, now())
			ON CONFLICT (shard) DO UPDATE SET rate = EXCLUDED.rate, probing = EXCLUDED.probing,
				limited = EXCLUDED.limited, seen_at = EXCLUDED.seen_at)
		SELECT shard, rate, probing, limited FROM pace_shares
		WHERE shard <> $1 AND seen_at > now() - make_interval(secs => $5)`,
		shard, r, own.Probing, own.Limited, within.Seconds())
	if err != nil {
		return nil, err
	}
	peers := map[string]Pace{}
	var (
		name string
		rate *float64
		p    Pace
	)
	_, err = pgx.ForEachRow(rows, []any{&name, &rate, &p.Probing, &p.Limited}, func() error {
		p.Rate = math.Inf(1)
		if rate != nil {
			p.Rate = *rate
		}
		peers[name] = p
		return nil
	})
	return peers, err
}

// LeavePace deletes this shard's pace: the others share what it held.
func (s *Store) LeavePace(ctx context.Context, shard string) error {
	_, err := s.pool.Exec(ctx, `DELETE FROM pace_shares WHERE shard = $1`, shard)
	return err
}
