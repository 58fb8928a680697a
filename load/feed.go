package load

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
)

// ShardCursor is one shard's row of feed_cursors.
type ShardCursor struct {
	Shard     string    `json:"shard"`
	Cursor    int64     `json:"cursor"`
	RunID     *int64    `json:"run_id"`
	UpdatedAt time.Time `json:"updated_at"`
}

// FeedCursors returns every shard's stored feed cursor, by shard.
func (s *Store) FeedCursors(ctx context.Context) ([]ShardCursor, error) {
	rows, err := s.pool.Query(ctx, `SELECT shard, cursor, run_id, updated_at FROM feed_cursors ORDER BY shard`)
	if err != nil {
		return nil, fmt.Errorf("read the feed cursors: %w", err)
	}
	cursors, err := pgx.CollectRows(rows, pgx.RowToStructByPos[ShardCursor])
	if err != nil {
		return nil, fmt.Errorf("read the feed cursors: %w", err)
	}
	return cursors, nil
}

// ResetFeedCursor sets shard's cursor to *cursor, back or forth, or removes
// it when cursor is nil, so that the next --updates run reads the whole
// history. Hold the shard's run lock (LockRun) while calling it.
func (s *Store) ResetFeedCursor(ctx context.Context, shard string, cursor *int64) error {
	var err error
	if cursor == nil {
		_, err = s.pool.Exec(ctx, `DELETE FROM feed_cursors WHERE shard = $1`, shard)
	} else {
		_, err = s.pool.Exec(ctx, `INSERT INTO feed_cursors (shard, cursor) VALUES ($1, $2)
			ON CONFLICT (shard) DO UPDATE SET cursor = excluded.cursor, run_id = NULL, updated_at = now()`, shard, *cursor)
	}
	if err != nil {
		return fmt.Errorf("reset the feed cursor of shard %s: %w", shard, err)
	}
	return nil
}

// OpenFailure is one row of failure_ledger.
type OpenFailure struct {
	ProposalID string     `json:"proposal_id"`
	Code       string     `json:"error_code"`
	Class      string     `json:"class"`
	RecheckAt  *time.Time `json:"recheck_at"`
}

// OpenFailures returns the ledger: each proposal that failed and reached no
// outcome since.
func (s *Store) OpenFailures(ctx context.Context) ([]OpenFailure, error) {
	rows, err := s.pool.Query(ctx, `SELECT proposal_id, error_code, class, recheck_at FROM failure_ledger ORDER BY proposal_id`)
	if err != nil {
		return nil, fmt.Errorf("read the open failures: %w", err)
	}
	failures, err := pgx.CollectRows(rows, pgx.RowToStructByPos[OpenFailure])
	if err != nil {
		return nil, fmt.Errorf("read the open failures: %w", err)
	}
	return failures, nil
}
