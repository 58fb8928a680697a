package load

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/interview-export/interview-export/pace"
)

// PaceBoard is the pace.Board of one API account, kept in the table
// pace_board: every process on a token that belongs to the account is a
// member of it. A member not heard from for Within has ended.
type PaceBoard struct {
	store   *Store
	account string
	Within  time.Duration
}

// PaceBoard returns the board of account, where members that published in
// the last three seconds are at work.
func (s *Store) PaceBoard(account string) *PaceBoard {
	return &PaceBoard{store: s, account: account, Within: 3 * time.Second}
}

var _ pace.Board = (*PaceBoard)(nil)

// Publish records self's pace and returns the other members' heard within
// b.Within, keyed by member, in one round trip.
func (b *PaceBoard) Publish(ctx context.Context, self string, m pace.Member) (map[string]pace.Member, error) {
	rows, err := b.store.pool.Query(ctx, `WITH own AS (
			INSERT INTO pace_board (account, member, rate, busy, probing, limited, seen_at) VALUES ($1, $2, $3, $4, $5, $6, now())
			ON CONFLICT (account, member) DO UPDATE SET rate = EXCLUDED.rate, busy = EXCLUDED.busy, probing = EXCLUDED.probing,
				limited = EXCLUDED.limited, seen_at = EXCLUDED.seen_at)
		SELECT member, rate, busy, probing, limited FROM pace_board
		WHERE account = $1 AND member <> $2 AND seen_at > now() - make_interval(secs => $7)`,
		b.account, self, m.Rate, m.Busy, m.Probing, m.Limited, b.Within.Seconds())
	if err != nil {
		return nil, err
	}
	others := map[string]pace.Member{}
	var (
		name string
		o    pace.Member
	)
	_, err = pgx.ForEachRow(rows, []any{&name, &o.Rate, &o.Busy, &o.Probing, &o.Limited}, func() error {
		others[name] = o
		return nil
	})
	return others, err
}

// Leave deletes self's row: the other members share what it held.
func (b *PaceBoard) Leave(ctx context.Context, self string) error {
	_, err := b.store.pool.Exec(ctx, `DELETE FROM pace_board WHERE account = $1 AND member = $2`, b.account, self)
	return err
}
