package load

import (
	"context"
	_ "embed"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
)

var (
	//go:embed sql/upsert_proposals.sql
	upsertProposalsSQL string
	//go:embed sql/upsert_jobs.sql
	upsertJobsSQL string
	//go:embed sql/save_cursor.sql
	saveCursorSQL string
)

// Proposal is what the change feed or a listing said of a proposal: one
// row of proposals. Empty strings and zero times are unknown (NULL).
type Proposal struct {
	ProposalID, JobID, Status string
	ReceivedAt, StatusAt      time.Time
	// StatusEventID is the feed event that set Status; 0 for a listing.
	StatusEventID int64
	// ListedScore is the listing's metrics.interviewScore, a decimal
	// literal ("" unknown).
	ListedScore string
}

// Job is one row of jobs, from GET /jobs/mine.
type Job struct {
	JobID, Title, Status string
	CreatedAt, UpdatedAt time.Time
	ProposalsTotal       *int32
}

// FeedCursor is where a shard's --updates run goes on from.
type FeedCursor struct {
	Shard string
	Value int64
}

// mergeProposals folds the facts about one proposal into one row (ON
// CONFLICT cannot touch a row twice in a statement): the latest status by
// event id, the first job and receipt time known.
func mergeProposals(in []Proposal) []Proposal {
	at := make(map[string]int, len(in))
	out := make([]Proposal, 0, len(in))
	for _, p := range in {
		i, ok := at[p.ProposalID]
		if !ok {
			at[p.ProposalID] = len(out)
			out = append(out, p)
			continue
		}
		m := &out[i]
		if m.JobID == "" {
			m.JobID = p.JobID
		}
		if m.ReceivedAt.IsZero() {
			m.ReceivedAt = p.ReceivedAt
		}
		if p.ListedScore != "" {
			m.ListedScore = p.ListedScore
		}
		if p.Status != "" && (m.Status == "" || p.StatusEventID > m.StatusEventID) {
			m.Status, m.StatusAt, m.StatusEventID = p.Status, p.StatusAt, p.StatusEventID
		}
	}
	return out
}

func nullText(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

func nullTime(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	return &t
}

func nullID(n int64) *int64 {
	if n == 0 {
		return nil
	}
	return &n
}

// writeFacts upserts a batch's proposals and jobs and moves its cursor.
func writeFacts(ctx context.Context, tx pgx.Tx, runID int64, b *Batch) error {
	if len(b.Proposals) > 0 {
		rows := mergeProposals(b.Proposals)
		ids, jobs, statuses := make([]string, len(rows)), make([]*string, len(rows)), make([]*string, len(rows))
		received, changed, events := make([]*time.Time, len(rows)), make([]*time.Time, len(rows)), make([]*int64, len(rows))
		scores := make([]*string, len(rows))
		for i, p := range rows {
			ids[i], jobs[i], statuses[i] = p.ProposalID, nullText(p.JobID), nullText(p.Status)
			received[i], changed[i], events[i] = nullTime(p.ReceivedAt), nullTime(p.StatusAt), nullID(p.StatusEventID)
			scores[i] = nullText(p.ListedScore)
		}
		if _, err := tx.Exec(ctx, upsertProposalsSQL, ids, jobs, statuses, received, changed, events, scores); err != nil {
			return fmt.Errorf("upsert proposals: %w", err)
		}
	}
	if len(b.Jobs) > 0 {
		seen := map[string]bool{}
		var ids []string
		var titles, statuses []*string
		var created, updated []*time.Time
		var totals []*int32
		for _, j := range b.Jobs {
			if seen[j.JobID] {
				continue
			}
			seen[j.JobID] = true
			ids, titles, statuses = append(ids, j.JobID), append(titles, nullText(j.Title)), append(statuses, nullText(j.Status))
			created, updated, totals = append(created, nullTime(j.CreatedAt)), append(updated, nullTime(j.UpdatedAt)), append(totals, j.ProposalsTotal)
		}
		if _, err := tx.Exec(ctx, upsertJobsSQL, ids, titles, statuses, created, updated, totals); err != nil {
			return fmt.Errorf("upsert jobs: %w", err)
		}
	}
	if b.Cursor != nil {
		if _, err := tx.Exec(ctx, saveCursorSQL, b.Cursor.Shard, b.Cursor.Value, runID); err != nil {
			return fmt.Errorf("save the feed cursor: %w", err)
		}
	}
	return nil
}

// FeedCursor returns the stored feed cursor of shard; ok is false when
// there is none (the first --updates run reads the whole history).
func (s *Store) FeedCursor(ctx context.Context, shard string) (cursor int64, ok bool, err error) {
	err = s.pool.QueryRow(ctx, `SELECT cursor FROM feed_cursors WHERE shard = $1`, shard).Scan(&cursor)
	if errors.Is(err, pgx.ErrNoRows) {
		return 0, false, nil
	}
	if err != nil {
		return 0, false, fmt.Errorf("read the feed cursor: %w", err)
	}
	return cursor, true, nil
}

// PendingFailures returns the proposal IDs with an open failure that is
// due: every transient one, and the permanent ones whose re-check time has
// come (invalid IDs aside, which never succeed). --updates fetches them
// again before reading the feed, so a failure never holds the cursor back.
func (s *Store) PendingFailures(ctx context.Context) ([]string, error) {
	rows, err := s.pool.Query(ctx, `SELECT proposal_id FROM failure_ledger
		WHERE error_code <> $1 AND (class = $2 OR recheck_at <= now())
		ORDER BY proposal_id`, CodeInvalidID, ClassTransient)
	if err != nil {
		return nil, fmt.Errorf("read earlier failures: %w", err)
	}
	ids, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return nil, fmt.Errorf("read earlier failures: %w", err)
	}
	return ids, nil
}
