package load

import (
	"context"
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/jackc/tern/v2/migrate"

	"github.com/interview-export/interview-export/migrations"
)

// versionTable is tern's bookkeeping table, resolved through search_path like
// every other table, so one database can hold several independent schemas.
const versionTable = "interview_export_schema_version"

// ErrLocked is returned by LockRun when another export holds the lock of the
// same database, schema and shard.
var ErrLocked = errors.New("another export is running on this database and shard")

var (
	//go:embed sql/start_run.sql
	startRunSQL string
	//go:embed sql/finish_run.sql
	finishRunSQL string
)

// Store is a connection pool to the export database.
type Store struct {
	pool *pgxpool.Pool
}

// Open connects to databaseURL (a libpq URL or key=value DSN) and checks the
// connection. maxConns bounds the pool; 0 leaves pgx's default.
func Open(ctx context.Context, databaseURL string, maxConns int32) (*Store, error) {
	cfg, err := pgxpool.ParseConfig(databaseURL)
	if err != nil {
		// pgx's parse errors can quote the URL, password included: keep only the kind.
		return nil, errors.New("parse DATABASE_URL: not a valid PostgreSQL URL or key=value DSN")
	}
	if maxConns > 0 {
		cfg.MaxConns = maxConns
	}
	if cfg.ConnConfig.RuntimeParams["application_name"] == "" {
		// Named in pg_stat_activity, unless the URL names it otherwise.
		cfg.ConnConfig.RuntimeParams["application_name"] = "interview-export"
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, markUnavailable(fmt.Errorf("connect to database: %w", err))
	}
	if err := pool.Ping(ctx); err != nil {
		pool.Close()
		return nil, markUnavailable(fmt.Errorf("connect to database %s:%d/%s: %w", cfg.ConnConfig.Host, cfg.ConnConfig.Port, cfg.ConnConfig.Database, err))
	}
	return &Store{pool: pool}, nil
}

// Close closes every connection.
func (s *Store) Close() { s.pool.Close() }

// Migrate applies the pending migrations of package migrations and returns
// how many it applied. It is safe to run from several processes at once:
// tern serializes them with an advisory lock and each file runs in its own
// transaction.
func (s *Store) Migrate(ctx context.Context) (applied int, err error) {
	conn, err := s.pool.Acquire(ctx)
	if err != nil {
		return 0, fmt.Errorf("migrate: acquire connection: %w", err)
	}
	defer conn.Release()
	m, err := migrate.NewMigrator(ctx, conn.Conn(), versionTable)
	if err != nil {
		return 0, fmt.Errorf("migrate: prepare version table: %w", err)
	}
	if err := m.LoadMigrations(migrations.FS); err != nil {
		return 0, fmt.Errorf("migrate: load migrations: %w", err)
	}
	m.OnStart = func(int32, string, string, string) { applied++ }
	if err := m.Migrate(ctx); err != nil {
		return applied, fmt.Errorf("migrate: %w", err)
	}
	return applied, nil
}

// SchemaVersion returns the number of the last applied migration and the
// number of migrations this binary knows. It writes nothing (tern's
// migrator would create its version table), so --no-migrate stays read-only.
func (s *Store) SchemaVersion(ctx context.Context) (current, latest int32, err error) {
	files, err := migrate.FindMigrations(migrations.FS)
	if err != nil {
		return 0, 0, fmt.Errorf("schema version: %w", err)
	}
	latest = int32(len(files))
	var exists bool
	if err := s.pool.QueryRow(ctx, `SELECT to_regclass($1) IS NOT NULL`, versionTable).Scan(&exists); err != nil {
		return 0, latest, fmt.Errorf("schema version: %w", err)
	}
	if !exists {
		return 0, latest, nil
	}
	if err := s.pool.QueryRow(ctx, `SELECT version FROM `+versionTable).Scan(&current); err != nil {
		return 0, latest, fmt.Errorf("schema version: %w", err)
	}
	return current, latest, nil
}

// LockRun takes the run lock of shard in the current database and schema.
// It returns ErrLocked at once when another process holds it. The lock is a
// session-level advisory lock on a connection held until release is called,
// so it dies with the process that holds it.
func (s *Store) LockRun(ctx context.Context, shard string) (release func(), err error) {
	conn, err := s.pool.Acquire(ctx)
	if err != nil {
		return nil, fmt.Errorf("run lock: acquire connection: %w", err)
	}
	const key = `hashtextextended('interview-export run:' || current_schema() || ':' || $1, 0)`
	var ok bool
	if err := conn.QueryRow(ctx, `SELECT pg_try_advisory_lock(`+key+`)`, shard).Scan(&ok); err != nil {
		conn.Release()
		return nil, fmt.Errorf("run lock: %w", err)
	}
	if !ok {
		conn.Release()
		return nil, ErrLocked
	}
	return func() {
		ctx := context.WithoutCancel(ctx)
		if _, err := conn.Exec(ctx, `SELECT pg_advisory_unlock(`+key+`)`, shard); err != nil {
			// The lock is gone with the connection anyway.
			conn.Conn().Close(ctx)
		}
		conn.Release()
	}, nil
}

// RunStart describes a run for its export_runs row.
type RunStart struct {
	Shard  string
	Source string
	// Settings are the run's non-secret settings, stored as JSON.
	Settings map[string]any
	// Rechecked is how many stored transcripts the run takes to re-check.
	Rechecked int64
}

// StartRun inserts the run's export_runs row and returns its id. Runs of the
// same shard left 'running' by a process that died are marked 'failed'; call
// it only while holding the shard's run lock.
func (s *Store) StartRun(ctx context.Context, r RunStart) (int64, error) {
	settings, err := json.Marshal(r.Settings)
	if err != nil {
		return 0, fmt.Errorf("start run: encode settings: %w", err)
	}
	var id int64
	if err := s.pool.QueryRow(ctx, startRunSQL, r.Shard, r.Source, settings, r.Rechecked).Scan(&id); err != nil {
		return 0, fmt.Errorf("start run: %w", err)
	}
	return id, nil
}

// RunStatus is the final status of an export run.
type RunStatus string

// The final statuses of export_runs.status (a run is 'running' until then).
const (
	RunSucceeded   RunStatus = "succeeded"
	RunPartial     RunStatus = "partial"
	RunFailed      RunStatus = "failed"
	RunInterrupted RunStatus = "interrupted"
)

// FinishRun stores the run's final intake and request totals (observed),
// its final status, exit status and the error that ended it, if any, and returns its
// counts as stored: the summary of a run is read from its row, so the two
// cannot disagree.
func (s *Store) FinishRun(ctx context.Context, runID int64, status RunStatus, errText string, exitStatus int, observed Counts) (Counts, error) {
	var c Counts
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		if err := addRunCounts(ctx, tx, runID, observed, Counts{}); err != nil {
			return err
		}
		err := tx.QueryRow(ctx, finishRunSQL, runID, string(status), errText, exitStatus).Scan(
			&c.IDsRead, &c.IDsDuplicate, &c.IDsSkipped, &c.Available, &c.NoInterview, &c.Failed, &c.FailedKnown,
			&c.InterviewsChanged, &c.MessagesWritten, &c.MessagesDeleted, &c.Requests, &c.Retries, &c.RateLimited,
			&c.EventsRead, &c.EventsByType, &c.RequestRate, &c.RateReason, &c.Duration,
			&c.SkippedErased, &c.Rechecked, &c.RemovedUpstream, &c.RemovedRetention)
		if err != nil {
			return err
		}
		rows, err := tx.Query(ctx, `SELECT error_code, count(*) FROM export_failures WHERE run_id = $1 GROUP BY error_code`, runID)
		if err != nil {
			return err
		}
		c.FailedByCode = map[string]int64{}
		var code string
		var n int64
		_, err = pgx.ForEachRow(rows, []any{&code, &n}, func() error {
			c.FailedByCode[code] = n
			return nil
		})
		return err
	})
	if err != nil {
		return Counts{}, fmt.Errorf("finish run %d: %w", runID, err)
	}
	c.IDsOtherShard = observed.IDsOtherShard
	if len(c.EventsByType) == 0 {
		c.EventsByType = nil // no feed in this run
	}
	return c, nil
}

// Record is what is stored of a proposal (stored_records.sql).
type Record struct {
	// FetchedAt is when it last reached a recorded outcome (its row in
	// interviews); zero when it has none.
	FetchedAt time.Time
	// Digest is its content's digest as last written (nil: unknown).
	Digest []byte
	// Withheld: erased, or its content removed by retention; no run may
	// fetch it, and no answer about it is written.
	Withheld bool
}

// Recorded returns what is stored of each of ids; an ID the warehouse
// knows nothing of is absent. Every run's intake reads it: withheld IDs
// are never fetched, and --refresh-after skips the fresh ones.
func (s *Store) Recorded(ctx context.Context, ids []string) (map[string]Record, error) {
	return storedRecords(ctx, s.pool, ids)
}

// storedRecords runs stored_records.sql on db (the pool, or a batch's
// transaction).
func storedRecords(ctx context.Context, db interface {
	Query(context.Context, string, ...any) (pgx.Rows, error)
}, ids []string) (map[string]Record, error) {
	rows, err := db.Query(ctx, storedRecordsSQL, ids)
	if err != nil {
		return nil, err
	}
	out := make(map[string]Record, len(ids))
	var id string
	var at *time.Time
	var digest []byte
	var held bool
	_, err = pgx.ForEachRow(rows, []any{&id, &at, &digest, &held}, func() error {
		r := out[id]
		if at != nil {
			r.FetchedAt, r.Digest = *at, append([]byte(nil), digest...)
		}
		r.Withheld = r.Withheld || held
		out[id] = r
		return nil
	})
	return out, err
}

// QueryReadOnly runs one SQL statement in a READ ONLY transaction whose
// statement_timeout is timeout, and hands its rows to fn. The statement goes
// through the extended protocol, which takes exactly one statement: "SELECT
// 1; DELETE …" and "COMMIT; …" are refused by the server before anything
// runs. Whatever fn does, the transaction is rolled back.
func (s *Store) QueryReadOnly(ctx context.Context, sql string, timeout time.Duration, fn func(pgx.Rows) error) error {
	tx, err := s.pool.BeginTx(ctx, pgx.TxOptions{AccessMode: pgx.ReadOnly})
	if err != nil {
		return err
	}
	defer tx.Rollback(context.WithoutCancel(ctx))
	if _, err := tx.Exec(ctx, "SELECT set_config('statement_timeout', $1, true)", strconv.FormatInt(timeout.Milliseconds(), 10)); err != nil {
		return err
	}
	rows, err := tx.Query(ctx, sql)
	if err != nil {
		return err
	}
	defer rows.Close()
	if err := fn(rows); err != nil {
		return err
	}
	rows.Close()
	return rows.Err()
}

// DropIdleRun removes the row of a run that gave no proposal an outcome (a
// follower's cycle that found nothing new), so that idle polls add no
// history; only the feed's cursor can refer to such a run, and then the row
// stays (dropped is false: finish it as any other).
func (s *Store) DropIdleRun(ctx context.Context, runID int64) (dropped bool, err error) {
	tag, err := s.pool.Exec(ctx, `DELETE FROM export_runs r WHERE id = $1 AND available + no_interview + failed = 0
		AND NOT EXISTS (SELECT 1 FROM feed_cursors WHERE run_id = r.id)`, runID)
	if err != nil {
		return false, fmt.Errorf("drop the idle run %d: %w", runID, err)
	}
	return tag.RowsAffected() == 1, nil
}

// LastSuccess returns when the last run of shard that exited 0 finished;
// the zero time when none did.
func (s *Store) LastSuccess(ctx context.Context, shard string) (time.Time, error) {
	var at *time.Time
	if err := s.pool.QueryRow(ctx, `SELECT max(finished_at) FROM export_runs WHERE shard = $1 AND exit_status = 0`, shard).Scan(&at); err != nil {
		return time.Time{}, fmt.Errorf("read the last successful run: %w", err)
	}
	if at == nil {
		return time.Time{}, nil
	}
	return *at, nil
}

// Pruned is what PruneRuns removed.
type Pruned struct {
	Runs, Failures int64
}

// pruneBatch is how many runs one pruning transaction removes.
const pruneBatch = 1000

// prunableRunsSQL picks a batch of the runs PruneRuns may remove; the
// ledger is read through failure_ledger_last_run_idx, never scanned once
// per batch.
const prunableRunsSQL = `SELECT id FROM export_runs r
	WHERE finished_at < $1 AND status <> 'running'
	  AND NOT EXISTS (SELECT 1 FROM failure_ledger l WHERE l.last_run_id = r.id)
	  AND NOT EXISTS (SELECT 1 FROM feed_cursors c WHERE c.run_id = r.id)
	ORDER BY id LIMIT $2 FOR UPDATE SKIP LOCKED`

// PruneRuns deletes the runs that finished before cutoff, with their
// export_failures rows, in transactions of a thousand runs. It keeps every
// run an open entry of the failure ledger or a feed cursor names (those
// entries stay), and the runs still running.
func (s *Store) PruneRuns(ctx context.Context, cutoff time.Time) (Pruned, error) {
	var p Pruned
	for {
		var runs, failures int64
		err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
			rows, err := tx.Query(ctx, prunableRunsSQL, cutoff, pruneBatch)
			if err != nil {
				return err
			}
			ids, err := pgx.CollectRows(rows, pgx.RowTo[int64])
			if err != nil || len(ids) == 0 {
				return err
			}
			tag, err := tx.Exec(ctx, `DELETE FROM export_failures WHERE run_id = ANY ($1)`, ids)
			if err != nil {
				return err
			}
			failures = tag.RowsAffected()
			if tag, err = tx.Exec(ctx, `DELETE FROM export_runs WHERE id = ANY ($1)`, ids); err != nil {
				return err
			}
			runs = tag.RowsAffected()
			return nil
		})
		if err != nil {
			return p, markUnavailable(fmt.Errorf("prune runs before %s (%d pruned so far): %w", cutoff.UTC().Format(time.RFC3339), p.Runs, err))
		}
		p.Runs += runs
		p.Failures += failures
		if runs < pruneBatch {
			return p, nil
		}
	}
}
