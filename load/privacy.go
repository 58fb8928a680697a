package load

import (
	"context"
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/jackc/pgx/v5"
)

// What the warehouse does with candidates' data over time (docs/privacy.md):
// erasures (Erase, Unerase), retention (RemoveExpired), the IDs no run may
// fetch (Record.Withheld, in Recorded) and the re-checks that let deletions upstream arrive
// (RecheckDue).
//
// Erase and RemoveExpired take erasures' lock in SHARE ROW EXCLUSIVE mode,
// and every batch a Writer commits takes it in SHARE mode: an erasure or a
// retention pass waits for the batches in flight and holds off new ones
// until it commits, and a batch leaves out what is erased or retained by
// then. Nothing in flight can bring removed content back.
const lockContent = `LOCK TABLE erasures IN SHARE ROW EXCLUSIVE MODE`

// Content removal reasons: the values of interviews.content_removed.
const (
	RemovedUpstream  = "deleted_upstream"
	RemovedErased    = "erased"
	RemovedRetention = "retention"
)

// Erasure is what Erase did, or would do.
type Erasure struct {
	// Requested counts the distinct IDs asked for.
	Requested int64
	// Erased counts the IDs newly recorded in erasures; AlreadyErased those
	// that were there before (erasing twice is harmless).
	Erased, AlreadyErased int64
	// Unknown counts, of Erased, the IDs the warehouse held nothing of: they
	// are recorded all the same, so that they are never fetched.
	Unknown int64
	// Interviews counts the interviews rows whose content was removed, and
	// Messages the message rows deleted.
	Interviews, Messages int64
}

// Erase removes, in one transaction, the content of each proposal of ids
// (its messages, summary, score and extra) and records it in erasures with
// reason, so that no later run fetches it. With dryRun it reports what it
// would do and changes nothing. Either every ID is erased or none is.
func (s *Store) Erase(ctx context.Context, ids []string, reason string, dryRun bool) (Erasure, error) {
	var e Erasure
	ids = distinct(ids)
	e.Requested = int64(len(ids))
	tx, err := s.pool.Begin(ctx)
	if err != nil {
		return e, markUnavailable(fmt.Errorf("erase: %w", err))
	}
	defer tx.Rollback(context.WithoutCancel(ctx))
	if _, err := tx.Exec(ctx, lockContent); err != nil {
		return e, fmt.Errorf("erase: wait for the exports' batches in flight: %w", err)
	}
	err = tx.QueryRow(ctx, `WITH asked AS (SELECT unnest($1::text[]) AS proposal_id),
		added AS (
			INSERT INTO erasures (proposal_id, reason, was_stored)
			SELECT a.proposal_id, $2, EXISTS (SELECT 1 FROM interviews i WHERE i.proposal_id = a.proposal_id)
			FROM asked a
			ON CONFLICT (proposal_id) DO NOTHING
			RETURNING was_stored)
		SELECT count(*), count(*) FILTER (WHERE NOT was_stored) FROM added`, ids, reason).Scan(&e.Erased, &e.Unknown)
	if err != nil {
		return e, fmt.Errorf("erase: record the erasures: %w", err)
	}
	e.AlreadyErased = e.Requested - e.Erased
	// The row first: it is locked until the transaction ends, so that a
	// batch waiting on it cannot write messages after they are deleted.
	tag, err := tx.Exec(ctx, `UPDATE interviews SET score = NULL, score_scale = NULL, summary = NULL, extra = NULL, message_count = 0,
			content_digest = NULL, content_removed = $2, content_removed_at = now()
		WHERE proposal_id = ANY (ARRAY(SELECT unnest($1::text[]))) AND content_removed IS DISTINCT FROM $2`, ids, RemovedErased)
	if err != nil {
		return e, fmt.Errorf("erase: remove the interviews' content: %w", err)
	}
	e.Interviews = tag.RowsAffected()
	if e.Messages, err = deleteMessages(ctx, tx, ids); err != nil {
		return e, fmt.Errorf("erase: %w", err)
	}
	if dryRun {
		return e, nil
	}
	if err := tx.Commit(ctx); err != nil {
		return Erasure{}, markUnavailable(fmt.Errorf("erase: commit: %w", err))
	}
	return e, nil
}

// Unerase lifts the erasure of ids: later runs may fetch them again. It
// returns how many were erased.
func (s *Store) Unerase(ctx context.Context, ids []string) (int64, error) {
	tag, err := s.pool.Exec(ctx, `DELETE FROM erasures WHERE proposal_id = ANY (ARRAY(SELECT unnest($1::text[])))`, ids)
	if err != nil {
		return 0, markUnavailable(fmt.Errorf("lift erasures: %w", err))
	}
	return tag.RowsAffected(), nil
}

// ProposalsOfJobs returns the IDs of the proposals stored for jobs (table
// proposals, which --updates and the job listings fill).
func (s *Store) ProposalsOfJobs(ctx context.Context, jobs []string) ([]string, error) {
	rows, err := s.pool.Query(ctx, `SELECT proposal_id FROM proposals WHERE job_id = ANY ($1::text[]) ORDER BY proposal_id`, jobs)
	if err != nil {
		return nil, markUnavailable(fmt.Errorf("read the proposals of jobs: %w", err))
	}
	ids, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return nil, markUnavailable(fmt.Errorf("read the proposals of jobs: %w", err))
	}
	return ids, nil
}

// retentionBatch is how many interviews one retention transaction removes
// the content of: the exports' batches wait for at most one. Each batch
// walks interviews_retention_idx in order (ORDER BY keeps the planner off a
// sequential scan that LIMIT makes look cheap).
const retentionBatch = 1000

// RemoveExpired removes the content (messages, summary, extra) of every
// interview whose last message was sent before cutoff, keeping its score,
// and marks it removed by retention, so that it is never fetched again. It
// works in transactions of a thousand, each added to run runID's
// removed_retention when runID is not 0. With dryRun it only counts.
func (s *Store) RemoveExpired(ctx context.Context, cutoff time.Time, runID int64, dryRun bool) (int64, error) {
	const expired = `status = 'available' AND content_removed IS NULL AND coalesce(last_message_at, changed_at) < $1`
	if dryRun {
		var n int64
		err := s.pool.QueryRow(ctx, `SELECT count(*) FROM interviews WHERE `+expired, cutoff).Scan(&n)
		if err != nil {
			return 0, markUnavailable(fmt.Errorf("count the interviews past retention: %w", err))
		}
		return n, nil
	}
	var total int64
	for {
		var n int64
		err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
			if _, err := tx.Exec(ctx, lockContent); err != nil {
				return fmt.Errorf("wait for the exports' batches in flight: %w", err)
			}
			rows, err := tx.Query(ctx, `UPDATE interviews SET summary = NULL, extra = NULL, content_digest = NULL,
					content_removed = $2, content_removed_at = now()
				WHERE proposal_id IN (SELECT proposal_id FROM interviews WHERE `+expired+`
					ORDER BY coalesce(last_message_at, changed_at) LIMIT $3 FOR UPDATE SKIP LOCKED)
				RETURNING proposal_id`, cutoff, RemovedRetention, retentionBatch)
			if err != nil {
				return err
			}
			ids, err := pgx.CollectRows(rows, pgx.RowTo[string])
			if err != nil {
				return err
			}
			if _, err := deleteMessages(ctx, tx, ids); err != nil {
				return err
			}
			n = int64(len(ids))
			if runID != 0 && n > 0 {
				if _, err := tx.Exec(ctx, `UPDATE export_runs SET removed_retention = removed_retention + $2 WHERE id = $1`, runID, n); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			return total, markUnavailable(fmt.Errorf("remove the content past retention (%d removed so far): %w", total, err))
		}
		total += n
		if n < retentionBatch {
			return total, nil
		}
	}
}

// deleteMessages deletes the messages of ids, through the primary key.
func deleteMessages(ctx context.Context, tx pgx.Tx, ids []string) (int64, error) {
	if len(ids) == 0 {
		return 0, nil
	}
	tag, err := tx.Exec(ctx, `DELETE FROM interview_messages WHERE proposal_id = ANY (ARRAY(SELECT unnest($1::text[])))`, ids)
	if err != nil {
		return 0, fmt.Errorf("delete the messages: %w", err)
	}
	return tag.RowsAffected(), nil
}

func distinct(ids []string) []string {
	seen := make(map[string]bool, len(ids))
	out := ids[:0:0]
	for _, id := range ids {
		if !seen[id] {
			seen[id] = true
			out = append(out, id)
		}
	}
	return out
}

// RecheckPlan is one run's part of the re-checks of stored transcripts.
type RecheckPlan struct {
	// Now is the run's time; Window is --recheck-stored-after: no stored
	// transcript should go longer without a fetch.
	Now    time.Time
	Window time.Duration
	// Shard names the run's shard (its re-checks are planned apart), Holds
	// tells its IDs, and Shards is how many shards share the warehouse.
	Shard  string
	Holds  func(id string) bool
	Shards int
}

// Recheck is what RecheckDue planned.
type Recheck struct {
	IDs []string
	// Stored is the shard's share of the transcripts held; Overdue those of
	// them fetched longer than Window ago; Share what the time since the
	// last plan earned.
	Stored, Overdue, Share int64
}

// ErrNoWindow is a RecheckPlan without a window.
var ErrNoWindow = errors.New("a re-check plan needs a window")

// RecheckDue plans the run's re-checks: the stored transcripts (content
// still held) fetched longest ago, as many as the time since the shard's
// last plan earns of them (Stored × elapsed / Window), or every overdue one
// when more are: a warehouse is re-checked evenly, about Stored / Window a
// day whatever the runs' cadence, rather than in a wave every Window, and
// nothing waits much longer than Window (the first run on a warehouse
// catches up on what is overdue). The plan is recorded in recheck_state.
func (s *Store) RecheckDue(ctx context.Context, p RecheckPlan) (Recheck, error) {
	var r Recheck
	if p.Window <= 0 {
		return r, ErrNoWindow
	}
	shards := int64(max(p.Shards, 1))
	oldest := p.Now.Add(-p.Window)
	// A shard's first plan earns nothing but what is overdue: the share
	// accrues from then on.
	var credited time.Time
	err := s.pool.QueryRow(ctx, `SELECT count(*), count(*) FILTER (WHERE fetched_at < $1),
			coalesce((SELECT credited_until FROM recheck_state WHERE shard = $2), $3)
		FROM interviews WHERE status = 'available' AND content_removed IS NULL`,
		oldest, p.Shard, p.Now).Scan(&r.Stored, &r.Overdue, &credited)
	if err != nil {
		return r, markUnavailable(fmt.Errorf("plan the re-checks: %w", err))
	}
	r.Stored, r.Overdue = ceilDiv(r.Stored, shards), ceilDiv(r.Overdue, shards)
	credited = maxTime(credited, oldest)
	if r.Stored > 0 {
		elapsed := max(p.Now.Sub(credited), 0)
		r.Share = int64(math.Floor(float64(r.Stored) * elapsed.Seconds() / p.Window.Seconds()))
	}
	want := max(r.Share, r.Overdue)
	// The credit moves by what the share used, so that a frequent run
	// (a follower's cycles) loses no fraction; a catch-up settles it all.
	next := credited
	if r.Share > 0 {
		next = credited.Add(time.Duration(float64(r.Share) / float64(r.Stored) * float64(p.Window)))
	}
	if r.Overdue > r.Share || r.Stored == 0 {
		next = p.Now
	}
	if want > 0 {
		if r.IDs, err = s.oldestStored(ctx, p, want); err != nil {
			return r, err
		}
	}
	_, err = s.pool.Exec(ctx, `INSERT INTO recheck_state (shard, credited_until) VALUES ($1, $2)
		ON CONFLICT (shard) DO UPDATE SET credited_until = excluded.credited_until`, p.Shard, next)
	if err != nil {
		return r, markUnavailable(fmt.Errorf("record the re-check plan: %w", err))
	}
	return r, nil
}

// oldestStored returns up to want of the shard's stored transcripts fetched
// longest ago, reading pages of the index in order (keyset pagination), so
// that a shard reads about want × Shards rows, not the table.
func (s *Store) oldestStored(ctx context.Context, p RecheckPlan, want int64) ([]string, error) {
	page := min(want*int64(max(p.Shards, 1))+16, 20000)
	var ids []string
	after, afterID := time.Time{}, ""
	for int64(len(ids)) < want {
		rows, err := s.pool.Query(ctx, `SELECT proposal_id, fetched_at FROM interviews
			WHERE status = 'available' AND content_removed IS NULL AND fetched_at < $1
			  AND (fetched_at, proposal_id) > ($2, $3)
			ORDER BY fetched_at, proposal_id LIMIT $4`, p.Now, after, afterID, page)
		if err != nil {
			return nil, markUnavailable(fmt.Errorf("plan the re-checks: %w", err))
		}
		var id string
		var at time.Time
		read := 0
		_, err = pgx.ForEachRow(rows, []any{&id, &at}, func() error {
			read++
			after, afterID = at, id
			if int64(len(ids)) < want && (p.Holds == nil || p.Holds(id)) {
				ids = append(ids, id)
			}
			return nil
		})
		if err != nil {
			return nil, markUnavailable(fmt.Errorf("plan the re-checks: %w", err))
		}
		if int64(read) < page {
			break
		}
	}
	return ids, nil
}

func ceilDiv(a, b int64) int64 { return (a + b - 1) / b }

func maxTime(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}
