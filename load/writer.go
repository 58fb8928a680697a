package load

import (
	"bytes"
	"context"
	_ "embed"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/interview-export/interview-export/internal/setting"
)

var (
	//go:embed sql/stage_create.sql
	stageCreateSQL string
	//go:embed sql/upsert_interviews.sql
	upsertInterviewsSQL string
	//go:embed sql/upsert_messages.sql
	upsertMessagesSQL string
	//go:embed sql/add_run_counts.sql
	addRunCountsSQL string
	//go:embed sql/touch_unchanged.sql
	touchUnchangedSQL string
	//go:embed sql/stored_records.sql
	storedRecordsSQL string
	//go:embed sql/record_failures.sql
	recordFailuresSQL string
	//go:embed sql/close_failures.sql
	closeFailuresSQL string
	//go:embed sql/score_scales.sql
	scoreScalesSQL string
)

// Writer writes batches for one run on one dedicated connection. It is not
// safe for concurrent use: a run has one loader.
type Writer struct {
	pool  *pgxpool.Pool
	conn  *pgxpool.Conn // nil while the database cannot be reached
	runID int64
	opts  WriterOptions
	// batches numbers the run's batches (export_runs.batches): a batch
	// tried again keeps its number.
	batches int64
}

// Defaults of WriterOptions, also the command line's.
const (
	DefaultLockTimeout  = 10 * time.Second
	DefaultLockTries    = 5
	DefaultRecheckAfter = 7 * 24 * time.Hour
)

// WriterOptions tune a Writer. Zero values take the defaults.
type WriterOptions struct {
	// LockTimeout bounds each wait for a lock held by another session (a
	// row of interviews being edited by hand, say). Default 10s.
	LockTimeout time.Duration
	// LockTries is how many times a batch is tried while locks time out.
	// Default 5: a lock held for good stops the run in about a minute.
	LockTries int
	// RecheckAfter is how long a permanent failure waits in the ledger
	// before PendingFailures offers it again. Default 7 days.
	RecheckAfter time.Duration
	// OutageTimeout is how long a batch is tried again, on a new connection,
	// while the database cannot be reached. Default 30s.
	OutageTimeout time.Duration
	// Logger receives what a batch had to leave out. Default: discard.
	Logger *slog.Logger
	// Continues, for a run row that earlier cycles of a follower wrote to,
	// holds the intake totals they stored: this writer's totals add to them.
	Continues Counts
}

func (o WriterOptions) withDefaults() WriterOptions {
	o.LockTimeout = setting.Or(o.LockTimeout, DefaultLockTimeout)
	o.LockTries = setting.Or(o.LockTries, DefaultLockTries)
	o.RecheckAfter = setting.Or(o.RecheckAfter, DefaultRecheckAfter)
	o.OutageTimeout = setting.Or(o.OutageTimeout, 30*time.Second)
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	return o
}

// Validate checks the options a Writer would use: each zero setting stands
// for its default, and the rest must be in range. A setting out of range is
// a *setting.Error.
func (o WriterOptions) Validate() error {
	o = o.withDefaults()
	return setting.Check(
		setting.Positive("LockTimeout", o.LockTimeout),
		setting.Rule{OK: o.LockTries >= 1, Name: "LockTries", Value: o.LockTries, Want: "1 or more"},
		setting.Positive("RecheckAfter", o.RecheckAfter),
		setting.Positive("OutageTimeout", o.OutageTimeout),
	)
}

// LockHeldError is a batch that could not be written because another
// session held a lock on the export's tables through every try.
type LockHeldError struct {
	Tries       int
	LockTimeout time.Duration
	// Holders names the sessions holding locks on the tables when the last
	// try gave up (pid, application, state), as far as pg_stat_activity
	// shows them to this role.
	Holders string
}

func (e *LockHeldError) Error() string {
	holders := e.Holders
	if holders == "" {
		holders = "a session this role cannot see"
	}
	return fmt.Sprintf("a lock on the export's tables was held by another session through %d tries of %s each: %s; "+
		"end that session or its transaction (pg_terminate_backend(pid)), then run again", e.Tries, e.LockTimeout, holders)
}

// NewWriter acquires a connection for run runID and prepares its staging
// tables and its timeouts: lock_timeout, and a statement_timeout well above
// it so that a lock wait is reported as one. Close releases it.
func (s *Store) NewWriter(ctx context.Context, runID int64, opts WriterOptions) (*Writer, error) {
	opts = opts.withDefaults()
	if err := opts.Validate(); err != nil {
		return nil, err
	}
	w := &Writer{pool: s.pool, runID: runID, opts: opts}
	if err := w.connect(ctx); err != nil {
		return nil, err
	}
	// A row that earlier cycles wrote to numbers on from their batches.
	if err := w.conn.QueryRow(ctx, `SELECT batches FROM export_runs WHERE id = $1`, runID).Scan(&w.batches); err != nil {
		w.Close()
		return nil, fmt.Errorf("writer: read run %d: %w", runID, err)
	}
	return w, nil
}

// connect takes a connection of the pool and makes it the writer's: its
// timeouts and its staging tables.
func (w *Writer) connect(ctx context.Context) error {
	conn, err := w.pool.Acquire(ctx)
	if err != nil {
		return markUnavailable(fmt.Errorf("writer: acquire connection: %w", err))
	}
	// JIT compiles dozens of functions per statement for a plan it thinks
	// is big: batches are small by design, so it only ever costs time.
	if _, err := conn.Exec(ctx, `SELECT set_config('lock_timeout', $1, false), set_config('statement_timeout', $2, false),
		set_config('jit', 'off', false)`,
		strconv.FormatInt(w.opts.LockTimeout.Milliseconds(), 10),
		strconv.FormatInt(max(30*w.opts.LockTimeout, 5*time.Minute).Milliseconds(), 10)); err != nil {
		conn.Release()
		return markUnavailable(fmt.Errorf("writer: set timeouts: %w", err))
	}
	if _, err := conn.Exec(ctx, stageCreateSQL); err != nil {
		conn.Release()
		return markUnavailable(fmt.Errorf("writer: create staging tables: %w", err))
	}
	w.conn = conn
	return nil
}

// Close releases the writer's connection.
func (w *Writer) Close() {
	if w.conn != nil {
		w.conn.Release()
	}
}

// Write commits b in one transaction and returns its outcomes and what they
// changed: MessagesWritten counts inserted or changed message rows (an
// unchanged message is neither rewritten nor counted), InterviewsChanged the
// proposals whose content (status, interview, score, summary or messages)
// differs from what was stored before. On error nothing of b is written.
// A lock timeout rolls the batch back and tries it again, up to
// WriterOptions.LockTries times; then it returns a *LockHeldError.
func (w *Writer) Write(ctx context.Context, b *Batch) (Counts, error) {
	st, err := w.writeThroughOutage(ctx, b)
	if dataError(err) != nil {
		st, err = w.writeSplit(ctx, b, err)
	}
	if err == nil && st.Withheld > 0 {
		w.opts.Logger.Info("answers left unwritten: their proposals were erased, or their content removed by retention, while in flight",
			"proposals", st.Withheld)
	}
	return st, err
}

// writeThroughOutage writes b; while the database cannot be reached (a
// restart, a failover, too many connections) it tries again on a new
// connection, every second, until WriterOptions.OutageTimeout has passed
// since the first failure. Then the error wraps ErrUnavailable.
func (w *Writer) writeThroughOutage(ctx context.Context, b *Batch) (Counts, error) {
	var since time.Time
	w.batches++
	seq := w.batches
	for {
		var st Counts
		err := w.ensureConn(ctx)
		if err == nil {
			st, err = w.write(ctx, seq, b)
		}
		if err == nil || !Unavailable(err) {
			return st, err
		}
		w.dropConn()
		if since.IsZero() {
			since = time.Now()
			w.opts.Logger.Warn("the database cannot be reached: writing the batch again on a new connection",
				"error", err.Error(), "outage_timeout", w.opts.OutageTimeout.String())
		}
		if time.Since(since) >= w.opts.OutageTimeout {
			return Counts{}, markUnavailable(fmt.Errorf("write batch of %d proposals: the database was unreachable for %s: %w",
				b.Len(), w.opts.OutageTimeout, err))
		}
		select {
		case <-ctx.Done():
			return Counts{}, ctx.Err()
		case <-time.After(time.Second):
		}
	}
}

func (w *Writer) ensureConn(ctx context.Context) error {
	if w.conn != nil {
		return nil
	}
	return w.connect(ctx)
}

// dropConn closes the writer's connection, which the outage broke.
func (w *Writer) dropConn() {
	if w.conn == nil {
		return
	}
	w.conn.Conn().Close(context.Background())
	w.conn.Release()
	w.conn = nil
}

// write commits b, the run's batch number seq, in one transaction, trying
// again while locks time out. A batch the run has committed already (its
// COMMIT went through but the answer was lost) is not written again.
func (w *Writer) write(ctx context.Context, seq int64, b *Batch) (Counts, error) {
	for try := 1; ; try++ {
		var st Counts
		var done bool
		err := pgx.BeginFunc(ctx, w.conn, func(tx pgx.Tx) error {
			var err error
			if done, err = claimBatch(ctx, tx, w.runID, seq); err != nil || done {
				return err
			}
			st, err = writeBatch(ctx, tx, w.runID, b, w.opts)
			return err
		})
		if err == nil && done {
			w.opts.Logger.Info("a batch whose COMMIT lost its answer had been committed: it is not written again",
				"batch", seq, "proposals", b.Len())
			return outcomesOf(b), nil
		}
		if err == nil {
			return st, nil
		}
		var pgErr *pgconn.PgError
		if !errors.As(err, &pgErr) || pgErr.Code != "55P03" { // lock_not_available
			return Counts{}, fmt.Errorf("write batch of %d proposals: %w", b.Len(), err)
		}
		if try >= w.opts.LockTries {
			return Counts{}, &LockHeldError{Tries: try, LockTimeout: w.opts.LockTimeout, Holders: w.lockHolders(ctx)}
		}
		select { // the holder may finish its transaction in the meantime
		case <-ctx.Done():
			return Counts{}, ctx.Err()
		case <-time.After(time.Second):
		}
	}
}

// dataError returns the PostgreSQL error of err when it is about one row's
// data (SQLSTATE classes 22, data exception, and 23, integrity constraint
// violation), nil otherwise.
func dataError(err error) *pgconn.PgError {
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) && (strings.HasPrefix(pgErr.Code, "22") || strings.HasPrefix(pgErr.Code, "23")) {
		return pgErr
	}
	return nil
}

// writeSplit writes a batch that PostgreSQL refused for one row's data
// (cause) in halves, and the halves that fail again in halves, until the
// row is alone: a proposal's transcript is then recorded as an
// invalid_response failure with the database's message, a fact about a
// proposal or a job is left out (and logged), and everything else is
// committed. The feed cursor and the run's counters ride with the last part.
func (w *Writer) writeSplit(ctx context.Context, b *Batch, cause error) (Counts, error) {
	if b.items() == 1 {
		return w.writeThroughOutage(ctx, w.refuse(b, dataError(cause)))
	}
	var total Counts
	for _, part := range b.halves() {
		st, err := w.writeThroughOutage(ctx, part)
		if dataError(err) != nil {
			st, err = w.writeSplit(ctx, part, err)
		}
		if err != nil {
			return total, err
		}
		total.AddOutcomes(st)
	}
	return total, nil
}

// refuse turns the one item of b that PostgreSQL refused into what can be
// stored instead.
func (w *Writer) refuse(b *Batch, pgErr *pgconn.PgError) *Batch {
	out := &Batch{Cursor: b.Cursor, Observed: b.Observed}
	msg := fmt.Sprintf("PostgreSQL refused a value: %s (SQLSTATE %s)", pgErr.Message, pgErr.Code)
	switch {
	case len(b.Interviews) == 1:
		iv := b.Interviews[0]
		out.Failures = []Failure{{ProposalID: iv.ProposalID, HTTPStatus: 200, Code: CodeInvalidResponse, Message: msg, Attempts: 1}}
	case len(b.Proposals) == 1:
		w.opts.Logger.Warn("a proposal's facts were left out", "proposal_id", b.Proposals[0].ProposalID, "error", msg)
	case len(b.Jobs) == 1:
		w.opts.Logger.Warn("a job's facts were left out", "job_id", b.Jobs[0].JobID, "error", msg)
	default:
		w.opts.Logger.Warn("a failure could not be recorded", "proposal_id", b.Failures[0].ProposalID, "error", msg)
	}
	return out
}

// lockHolders names the other sessions holding a lock that blocks writes on
// the export's tables.
func (w *Writer) lockHolders(ctx context.Context) string {
	rows, err := w.conn.Query(ctx, `SELECT DISTINCT a.pid, coalesce(a.application_name, ''), coalesce(a.state, '')
		FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
		WHERE l.granted AND l.pid <> pg_backend_pid() AND l.mode <> 'AccessShareLock'
		  AND l.relation IN ('interviews'::regclass, 'interview_messages'::regclass, 'export_runs'::regclass, 'export_failures'::regclass)
		ORDER BY 1`)
	if err != nil {
		return ""
	}
	var out []string
	var pid int32
	var app, state string
	pgx.ForEachRow(rows, []any{&pid, &app, &state}, func() error {
		out = append(out, fmt.Sprintf("pid %d (application %q, %s)", pid, app, state))
		return nil
	})
	return strings.Join(out, ", ")
}

// claimBatch records batch seq as the run's latest, under the run row's
// lock, and reports whether the run had committed it already.
func claimBatch(ctx context.Context, tx pgx.Tx, runID, seq int64) (done bool, err error) {
	var committed int64
	if err := tx.QueryRow(ctx, `SELECT batches FROM export_runs WHERE id = $1 FOR UPDATE`, runID).Scan(&committed); err != nil {
		return false, fmt.Errorf("number the batch: %w", err)
	}
	if committed >= seq {
		return true, nil
	}
	if _, err := tx.Exec(ctx, `UPDATE export_runs SET batches = $2 WHERE id = $1`, runID, seq); err != nil {
		return false, fmt.Errorf("number the batch: %w", err)
	}
	return false, nil
}

func writeBatch(ctx context.Context, tx pgx.Tx, runID int64, b *Batch, opts WriterOptions) (Counts, error) {
	st := outcomesOf(b)
	if len(b.Interviews) > 0 {
		if err := writeInterviews(ctx, tx, runID, b.Interviews, &st); err != nil {
			return st, err
		}
		ids := make([]string, len(b.Interviews))
		for i := range b.Interviews {
			ids[i] = b.Interviews[i].ProposalID
		}
		if _, err := tx.Exec(ctx, closeFailuresSQL, ids); err != nil {
			return st, fmt.Errorf("close the failures of proposals with an outcome: %w", err)
		}
	}
	if len(b.Failures) > 0 {
		known, err := recordFailures(ctx, tx, runID, b.Failures, opts.RecheckAfter)
		if err != nil {
			return st, err
		}
		st.FailedKnown = known
	}
	if err := writeFacts(ctx, tx, runID, b); err != nil {
		return st, err
	}
	if err := setScoreScales(ctx, tx, b); err != nil {
		return st, err
	}
	if err := addRunCounts(ctx, tx, runID, b.Observed.After(opts.Continues), st); err != nil {
		return st, fmt.Errorf("update run counts: %w", err)
	}
	return st, nil
}

// setScoreScales decides the scale of the scores of the batch's interviews
// and of the proposals a listing told a score of (score_scales.sql).
func setScoreScales(ctx context.Context, tx pgx.Tx, b *Batch) error {
	ids := make([]string, 0, len(b.Interviews)+len(b.Proposals))
	for i := range b.Interviews {
		ids = append(ids, b.Interviews[i].ProposalID)
	}
	for i := range b.Proposals {
		if b.Proposals[i].ListedScore != "" {
			ids = append(ids, b.Proposals[i].ProposalID)
		}
	}
	if len(ids) == 0 {
		return nil
	}
	if _, err := tx.Exec(ctx, scoreScalesSQL, ids); err != nil {
		return fmt.Errorf("decide the scores' scales: %w", err)
	}
	return nil
}

// recordFailures enters failures in the ledger, marks the known ones and
// adds them all to export_failures. It returns how many were known.
func recordFailures(ctx context.Context, tx pgx.Tx, runID int64, failures []Failure, recheckAfter time.Duration) (int64, error) {
	ids := make([]string, len(failures))
	codes := make([]string, len(failures))
	statuses := make([]*int32, len(failures))
	classes := make([]string, len(failures))
	for i := range failures {
		f := &failures[i]
		ids[i], codes[i], classes[i] = f.ProposalID, f.Code, ClassOf(f.Code)
		if f.HTTPStatus != 0 {
			statuses[i] = new(int32(f.HTTPStatus))
		}
	}
	rows, err := tx.Query(ctx, recordFailuresSQL, runID, ids, codes, statuses, classes, recheckAfter)
	if err != nil {
		return 0, fmt.Errorf("record failures in the ledger: %w", err)
	}
	knownIDs, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return 0, fmt.Errorf("record failures in the ledger: %w", err)
	}
	known := make(map[string]bool, len(knownIDs))
	for _, id := range knownIDs {
		known[id] = true
	}
	_, err = tx.CopyFrom(ctx, pgx.Identifier{"export_failures"},
		[]string{"run_id", "proposal_id", "http_status", "error_code", "message", "attempts", "request_id", "class", "known"},
		pgx.CopyFromSlice(len(failures), func(i int) ([]any, error) {
			f := &failures[i]
			f.Known = known[f.ProposalID]
			var requestID any
			if f.RequestID != "" {
				requestID = f.RequestID
			}
			return []any{runID, f.ProposalID, statuses[i], f.Code, f.Message, int32(f.Attempts), requestID, classes[i], f.Known}, nil
		}))
	if err != nil {
		return 0, fmt.Errorf("record failures: %w", err)
	}
	return int64(len(knownIDs)), nil
}

// addRunCounts adds a batch's outcomes to its run's row and stores the
// run's observed intake and request totals.
func addRunCounts(ctx context.Context, db interface {
	Exec(context.Context, string, ...any) (pgconn.CommandTag, error)
}, runID int64, observed, outcomes Counts) error {
	byType := observed.EventsByType
	if byType == nil {
		byType = map[string]int64{}
	}
	_, err := db.Exec(ctx, addRunCountsSQL, runID,
		observed.IDsRead, observed.IDsDuplicate, observed.IDsSkipped,
		outcomes.Available, outcomes.NoInterview, outcomes.Failed, outcomes.FailedKnown,
		outcomes.MessagesWritten, outcomes.MessagesDeleted,
		observed.Requests, observed.Retries, observed.RateLimited, outcomes.InterviewsChanged,
		observed.EventsRead, byType, nullRate(observed.RequestRate), observed.RateReason,
		observed.SkippedErased, observed.Rechecked, outcomes.RemovedUpstream, outcomes.RemovedRetention)
	return err
}

// writeInterviews writes a batch's interviews the cheapest way each allows:
//
//   - a proposal whose stored content digest equals the new one only has its
//     fetched_at and run_id moved: no message-table work at all;
//   - a proposal with no stored row is inserted, and its messages are copied
//     straight into interview_messages, with no merge;
//   - the others are merged row by row (upsert_messages.sql).
//
// All of it in the caller's transaction, through the tables' keys.
func writeInterviews(ctx context.Context, tx pgx.Tx, runID int64, ivs []Interview, st *Counts) error {
	ids := make([]string, len(ivs))
	for i := range ivs {
		ids[i] = ivs[i].ProposalID
	}
	// An erasure or a retention pass that began while these proposals were
	// in flight must not be undone: the batch holds off new ones until it
	// commits (they take a stronger lock on erasures), and leaves out those
	// already done.
	if _, err := tx.Exec(ctx, `LOCK TABLE erasures IN SHARE MODE`); err != nil {
		return fmt.Errorf("hold off erasures: %w", err)
	}
	stored, err := storedRecords(ctx, tx, ids)
	if err != nil {
		return fmt.Errorf("look up stored interviews: %w", err)
	}
	kept := ivs[:0:0]
	for i := range ivs {
		if stored[ivs[i].ProposalID].Withheld {
			st.Withheld++
			continue
		}
		kept = append(kept, ivs[i])
	}
	ivs = kept

	digests := make([][]byte, len(ivs))
	fresh := make([]bool, len(ivs))
	var staged []int                // fresh and merged ones, in stage_interviews
	var newRows, merged []Interview // whose messages are copied, or merged
	var sameIDs []string
	var sameAt []time.Time
	var scratch []byte
	for i := range ivs {
		var sum [32]byte
		sum, scratch = ivs[i].digest(scratch)
		digests[i] = sum[:]
		old, ok := stored[ivs[i].ProposalID] // withheld ones are gone: a record is a stored row
		switch {
		case !ok:
			fresh[i] = true
			staged, newRows = append(staged, i), append(newRows, ivs[i])
		case bytes.Equal(old.Digest, digests[i]):
			sameIDs, sameAt = append(sameIDs, ivs[i].ProposalID), append(sameAt, ivs[i].FetchedAt)
		default:
			staged, merged = append(staged, i), append(merged, ivs[i])
		}
	}
	if len(sameIDs) > 0 {
		if _, err := tx.Exec(ctx, touchUnchangedSQL, sameIDs, sameAt, runID); err != nil {
			return fmt.Errorf("record unchanged interviews: %w", err)
		}
	}
	if len(staged) == 0 {
		return nil
	}
	n, err := tx.CopyFrom(ctx, pgx.Identifier{"stage_interviews"},
		[]string{"proposal_id", "status", "interview_id", "score", "summary", "message_count", "fetched_at", "content_digest", "fresh", "extra",
			"last_message_at"},
		pgx.CopyFromSlice(len(staged), func(k int) ([]any, error) {
			i := staged[k]
			iv := &ivs[i]
			return []any{iv.ProposalID, string(iv.Status), iv.InterviewID, iv.Score, iv.Summary, int32(len(iv.Messages)), iv.FetchedAt,
				digests[i], fresh[i], jsonOrNull(iv.Extra), iv.lastMessageAt()}, nil
		}))
	if err != nil {
		return fmt.Errorf("stage interviews: %w", err)
	}
	if int(n) != len(staged) {
		return fmt.Errorf("stage interviews: copied %d of %d rows", n, len(staged))
	}
	if _, err := tx.CopyFrom(ctx, pgx.Identifier{"stage_messages"}, messageColumns, &messageSource{ivs: merged, j: -1}); err != nil {
		return fmt.Errorf("stage messages: %w", err)
	}
	// Temporary tables are never analyzed by autovacuum: without this the
	// planner guesses their size.
	if _, err := tx.Exec(ctx, `ANALYZE stage_interviews, stage_messages`); err != nil {
		return fmt.Errorf("analyze staged rows: %w", err)
	}
	var changed, removed int64
	if err := tx.QueryRow(ctx, upsertInterviewsSQL, runID).Scan(&changed, &removed); err != nil {
		return fmt.Errorf("upsert interviews: %w", err)
	}
	st.InterviewsChanged += changed
	st.RemovedUpstream += removed
	if len(newRows) > 0 {
		copied, err := tx.CopyFrom(ctx, pgx.Identifier{"interview_messages"}, messageColumns, &messageSource{ivs: newRows, j: -1})
		if err != nil {
			return fmt.Errorf("copy the messages of new interviews: %w", err)
		}
		st.MessagesWritten += copied
	}
	if len(merged) > 0 {
		var written, deleted, touched int64
		if err := tx.QueryRow(ctx, upsertMessagesSQL).Scan(&written, &deleted, &touched); err != nil {
			return fmt.Errorf("upsert messages: %w", err)
		}
		st.MessagesWritten += written
		st.MessagesDeleted += deleted
		st.InterviewsChanged += touched
	}
	return nil
}

var messageColumns = []string{"proposal_id", "message_id", "position", "role", "content", "sent_at", "extra"}

// jsonOrNull is a JSON document for a jsonb column, NULL when there is none.
func jsonOrNull(doc []byte) any {
	if doc == nil {
		return nil
	}
	return string(doc)
}

func nullRate(r float64) *float64 {
	if r <= 0 {
		return nil
	}
	return &r
}

// messageSource streams every message of a batch's interviews to CopyFrom
// without building an intermediate slice of rows.
type messageSource struct {
	ivs  []Interview
	i, j int
	row  [7]any
}

func (s *messageSource) Next() bool {
	s.j++
	for s.i < len(s.ivs) && s.j >= len(s.ivs[s.i].Messages) {
		s.i++
		s.j = 0
	}
	return s.i < len(s.ivs)
}

func (s *messageSource) Values() ([]any, error) {
	iv := &s.ivs[s.i]
	m := &iv.Messages[s.j]
	s.row = [7]any{iv.ProposalID, m.ID, m.Position, m.Role, m.Content, m.SentAt, jsonOrNull(m.Extra)}
	return s.row[:], nil
}

func (s *messageSource) Err() error { return nil }
