package load_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/interview-export/interview-export/internal/pgtest"
	"github.com/interview-export/interview-export/load"
)

type bundle struct {
	url   string
	db    *pgxpool.Pool // the test's own connections, to look at the tables
	store *load.Store
	runID int64
	w     *load.Writer
}

// setup migrates a fresh schema and starts a run with a writer.
func setup(t *testing.T) *bundle {
	t.Helper()
	ctx := context.Background()
	url := pgtest.Schema(t)
	store, err := load.Open(ctx, url, 4)
	require.NoError(t, err)
	t.Cleanup(store.Close)
	_, err = store.Migrate(ctx)
	require.NoError(t, err)
	runID, err := store.StartRun(ctx, load.RunStart{Shard: "0/1", Source: "test"})
	require.NoError(t, err)
	w, err := store.NewWriter(ctx, runID, load.WriterOptions{})
	require.NoError(t, err)
	t.Cleanup(w.Close)
	return &bundle{url: url, db: pgtest.Pool(t, url), store: store, runID: runID, w: w}
}

func TestMigrateTwice(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	url := pgtest.Schema(t)
	store, err := load.Open(ctx, url, 2)
	require.NoError(t, err)
	defer store.Close()

	n, err := store.Migrate(ctx)
	require.NoError(t, err)
	assert.Positive(t, n)
	n, err = store.Migrate(ctx)
	require.NoError(t, err)
	assert.Zero(t, n, "second migrate applies nothing")
	cur, latest, err := store.SchemaVersion(ctx)
	require.NoError(t, err)
	assert.Equal(t, latest, cur)
}

func TestMigrateConcurrently(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	url := pgtest.Schema(t)
	const procs = 4
	applied := make([]int, procs)
	errs := make([]error, procs)
	var wg sync.WaitGroup
	for i := range procs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			store, err := load.Open(ctx, url, 2)
			if err != nil {
				errs[i] = err
				return
			}
			defer store.Close()
			applied[i], errs[i] = store.Migrate(ctx)
		}()
	}
	wg.Wait()
	total := 0
	for i := range procs {
		require.NoError(t, errs[i], "migrator %d", i)
		total += applied[i]
	}
	store, err := load.Open(ctx, url, 2)
	require.NoError(t, err)
	defer store.Close()
	cur, latest, err := store.SchemaVersion(ctx)
	require.NoError(t, err)
	assert.Equal(t, latest, cur)
	assert.Equal(t, int(latest), total, "each migration applied exactly once across processes")
}

var t0 = time.Date(2026, 6, 11, 15, 20, 0, 0, time.UTC)

func msg(id string, pos int32, role, content string, sent time.Time) load.Message {
	return load.Message{ID: id, Position: pos, Role: role, Content: content, SentAt: sent}
}

func available(id string, score *string, msgs ...load.Message) load.Interview {
	return load.Interview{ProposalID: id, Status: load.StatusAvailable, InterviewID: new("iv-" + id),
		Score: score, Summary: new("summary of " + id), Messages: msgs, FetchedAt: time.Now()}
}

func noInterview(id string) load.Interview {
	return load.Interview{ProposalID: id, Status: load.StatusNoInterview, FetchedAt: time.Now()}
}

type storedInterview struct {
	Status       string
	InterviewID  *string
	Score        *string
	Summary      *string
	MessageCount int
}

func readInterview(t *testing.T, b *bundle, id string) (storedInterview, bool) {
	t.Helper()
	var s storedInterview
	err := b.db.QueryRow(context.Background(),
		`SELECT status, interview_id, score::text, summary, message_count FROM interviews WHERE proposal_id = $1`, id).
		Scan(&s.Status, &s.InterviewID, &s.Score, &s.Summary, &s.MessageCount)
	if errors.Is(err, pgx.ErrNoRows) {
		return s, false
	}
	require.NoError(t, err)
	return s, true
}

type storedMessage struct {
	ID       string
	Position int32
	Role     string
	Content  string
	SentAt   time.Time
	Xmin     uint32
}

func readMessages(t *testing.T, b *bundle, id string) []storedMessage {
	t.Helper()
	rows, err := b.db.Query(context.Background(),
		`SELECT message_id, position, role, content, sent_at, xmin::text::bigint FROM interview_messages
		 WHERE proposal_id = $1 ORDER BY position`, id)
	require.NoError(t, err)
	var out []storedMessage
	for rows.Next() {
		var m storedMessage
		var xmin int64
		require.NoError(t, rows.Scan(&m.ID, &m.Position, &m.Role, &m.Content, &m.SentAt, &xmin))
		m.Xmin = uint32(xmin)
		out = append(out, m)
	}
	require.NoError(t, rows.Err())
	return out
}

func write(t *testing.T, b *bundle, ivs ...load.Interview) load.Counts {
	t.Helper()
	st, err := b.w.Write(context.Background(), &load.Batch{Interviews: ivs})
	require.NoError(t, err)
	return st
}

func TestWriteNewChangedShrunkVanished(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ist := time.FixedZone("+05:30", 5*3600+1800)
	a := available("A", new("86"),
		msg("a1", 0, "interviewer", "Tell me about labeling.", t0),
		msg("a2", 1, "candidate", "  spaces kept \r\n and unicode 世界 🎉 ", t0.Add(time.Minute).In(ist)),
		msg("a3", 2, "system", "", t0.Add(2*time.Minute)))
	bProp := available("B", new("8.60"),
		msg("b1", 0, "interviewer", "Q1", t0),
		msg("b2", 1, "candidate", "A1", t0.Add(time.Second)),
		msg("b3", 2, "interviewer", "Q2", t0.Add(2*time.Second)))
	st := write(t, b, a, bProp, noInterview("C"))
	assert.Equal(t, load.Counts{Available: 2, NoInterview: 1, MessagesWritten: 6, InterviewsChanged: 3}, st)

	gotA, ok := readInterview(t, b, "A")
	require.True(t, ok)
	assert.Equal(t, storedInterview{Status: "available", InterviewID: new("iv-A"), Score: new("86"), Summary: new("summary of A"), MessageCount: 3}, gotA)
	gotB, _ := readInterview(t, b, "B")
	assert.Equal(t, new("8.60"), gotB.Score, "score kept as given, scale included")
	gotC, ok := readInterview(t, b, "C")
	require.True(t, ok)
	assert.Equal(t, storedInterview{Status: "no_interview", MessageCount: 0}, gotC)

	msgsA := readMessages(t, b, "A")
	require.Len(t, msgsA, 3)
	assert.Equal(t, "  spaces kept \r\n and unicode 世界 🎉 ", msgsA[1].Content, "text stored byte for byte")
	assert.True(t, msgsA[1].SentAt.Equal(t0.Add(time.Minute)), "same instant whatever the offset")
	assert.Equal(t, "system", msgsA[2].Role)

	// Second fetch: A unchanged; B edited (b2), shrunk (b3 gone), grown (b4)
	// and reordered; C now has an interview; D is new.
	bProp2 := available("B", new("8.60"),
		msg("b4", 0, "interviewer", "New first", t0.Add(-time.Second)),
		msg("b1", 1, "interviewer", "Q1", t0),
		msg("b2", 2, "candidate", "A1 edited", t0.Add(time.Second)))
	a.FetchedAt = time.Now()
	c2 := available("C", nil, msg("c1", 0, "interviewer", "hello", t0))
	c2.Summary = new("")
	st = write(t, b, a, bProp2, c2, available("D", new("1e2")))
	assert.Equal(t, int64(4), st.Available)
	assert.Equal(t, int64(1), st.MessagesDeleted, "b3 deleted")
	// b4 inserted, b1 moved, b2 edited, c1 inserted
	assert.Equal(t, int64(4), st.MessagesWritten)
	assert.Equal(t, int64(3), st.InterviewsChanged, "B, C and D changed; A did not")

	again := readMessages(t, b, "A")
	for i := range again {
		assert.Equal(t, msgsA[i].Xmin, again[i].Xmin, "unchanged message %s not rewritten", again[i].ID)
	}
	msgsB := readMessages(t, b, "B")
	require.Len(t, msgsB, 3)
	assert.Equal(t, []string{"b4", "b1", "b2"}, []string{msgsB[0].ID, msgsB[1].ID, msgsB[2].ID})
	assert.Equal(t, "A1 edited", msgsB[2].Content)
	gotC, _ = readInterview(t, b, "C")
	assert.Equal(t, storedInterview{Status: "available", InterviewID: new("iv-C"), Summary: new(""), MessageCount: 1}, gotC,
		"null score is NULL, empty summary is ''")
	gotD, _ := readInterview(t, b, "D")
	assert.Equal(t, new("100"), gotD.Score)
	assert.Empty(t, readMessages(t, b, "D"))

	// Third fetch: A's interview is gone upstream (404 after 200).
	st = write(t, b, noInterview("A"))
	assert.Equal(t, int64(3), st.MessagesDeleted)
	gotA, _ = readInterview(t, b, "A")
	assert.Equal(t, storedInterview{Status: "no_interview"}, gotA)
	assert.Empty(t, readMessages(t, b, "A"))
}

func TestUnchangedRewritesNothingButFetchedAt(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := context.Background()
	iv := available("P", new("42.5"), msg("m1", 0, "interviewer", "Q", t0), msg("m2", 1, "candidate", "A", t0.Add(time.Second)))
	write(t, b, iv, noInterview("N"))
	var changedBefore, fetchedBefore time.Time
	require.NoError(t, b.db.QueryRow(ctx, `SELECT changed_at, fetched_at FROM interviews WHERE proposal_id='P'`).Scan(&changedBefore, &fetchedBefore))
	before := readMessages(t, b, "P")

	iv.FetchedAt = time.Now().Add(time.Second)
	st := write(t, b, iv, noInterview("N"))
	assert.Zero(t, st.MessagesWritten)
	assert.Zero(t, st.MessagesDeleted)
	assert.Zero(t, st.InterviewsChanged)
	after := readMessages(t, b, "P")
	assert.Equal(t, before, after, "same rows, same xmin")

	var changedAfter, fetchedAfter time.Time
	require.NoError(t, b.db.QueryRow(ctx, `SELECT changed_at, fetched_at FROM interviews WHERE proposal_id='P'`).Scan(&changedAfter, &fetchedAfter))
	assert.True(t, changedAfter.Equal(changedBefore), "changed_at stays")
	assert.True(t, fetchedAfter.After(fetchedBefore), "fetched_at moves")
}

func TestFailuresAndRunCounts(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := context.Background()
	batch := &load.Batch{
		Interviews: []load.Interview{available("X", nil, msg("x1", 0, "interviewer", "Q", t0))},
		Failures: []load.Failure{
			{ProposalID: "F1", HTTPStatus: 403, Code: "forbidden", Message: "nope", Attempts: 1, RequestID: "req-1"},
			{ProposalID: "bad\uFFFDid", Code: "invalid_id", Message: "not valid UTF-8"},
		},
		Observed: load.Counts{Requests: 5, Retries: 2, RateLimited: 1, IDsRead: 4, IDsDuplicate: 1},
	}
	_, err := b.w.Write(ctx, batch)
	require.NoError(t, err)

	rows, err := b.db.Query(ctx, `SELECT proposal_id, http_status, error_code, message, attempts, request_id
		FROM export_failures WHERE run_id = $1 ORDER BY proposal_id`, b.runID)
	require.NoError(t, err)
	type failure struct {
		ProposalID string
		HTTPStatus *int32
		Code, Msg  string
		Attempts   int32
		RequestID  *string
	}
	got, err := pgx.CollectRows(rows, pgx.RowToStructByPos[failure])
	require.NoError(t, err)
	assert.Equal(t, []failure{
		{"F1", new(int32(403)), "forbidden", "nope", 1, new("req-1")},
		{"bad\uFFFDid", nil, "invalid_id", "not valid UTF-8", 0, nil},
	}, got)

	counts, err := b.store.FinishRun(ctx, b.runID, load.RunPartial, "", 1, load.Counts{IDsRead: 5, IDsDuplicate: 1, Requests: 6, Retries: 2, RateLimited: 1})
	require.NoError(t, err)
	counts.Duration = 0
	assert.Equal(t, load.Counts{IDsRead: 5, IDsDuplicate: 1, Available: 1, Failed: 2, InterviewsChanged: 1, MessagesWritten: 1,
		Requests: 6, Retries: 2, RateLimited: 1, FailedByCode: map[string]int64{"forbidden": 1, "invalid_id": 1}}, counts,
		"the batch's outcomes, and the run's totals observed at its end")
	var status string
	var finished *time.Time
	require.NoError(t, b.db.QueryRow(ctx, `SELECT status, finished_at FROM export_runs WHERE id = $1`, b.runID).Scan(&status, &finished))
	assert.Equal(t, "partial", status)
	assert.NotNil(t, finished)
}

func TestRefusedRowFailsItsProposalAlone(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := context.Background()
	// Two messages with one ID break interview_messages' key (SQLSTATE
	// 23505): that proposal fails, the valid one beside it is written.
	dup := available("DUP", nil, msg("m", 0, "interviewer", "a", t0), msg("m", 1, "candidate", "b", t0))
	st, err := b.w.Write(ctx, &load.Batch{Interviews: []load.Interview{available("OK", nil), dup}})
	require.NoError(t, err)
	assert.Equal(t, int64(1), st.Available)
	assert.Equal(t, map[string]int64{load.CodeInvalidResponse: 1}, st.FailedByCode)
	_, ok := readInterview(t, b, "OK")
	assert.True(t, ok)
	_, ok = readInterview(t, b, "DUP")
	assert.False(t, ok, "nothing of the refused proposal is written")
}

func TestRunLock(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := context.Background()
	release, err := b.store.LockRun(ctx, "0/1")
	require.NoError(t, err)

	other, err := load.Open(ctx, b.url, 2)
	require.NoError(t, err)
	defer other.Close()
	_, err = other.LockRun(ctx, "0/1")
	assert.ErrorIs(t, err, load.ErrLocked)
	releaseShard, err := other.LockRun(ctx, "1/2")
	require.NoError(t, err, "another shard is another lock")
	releaseShard()

	release()
	release2, err := other.LockRun(ctx, "0/1")
	require.NoError(t, err, "released lock can be taken")
	release2()
}

func TestRunLockIsPerSchema(t *testing.T) {
	t.Parallel()
	a, b := setup(t), setup(t)
	ctx := context.Background()
	ra, err := a.store.LockRun(ctx, "0/1")
	require.NoError(t, err)
	defer ra()
	rb, err := b.store.LockRun(ctx, "0/1")
	require.NoError(t, err, "two schemas in one database do not block each other")
	rb()
}

func TestStartRunClosesAbandonedRuns(t *testing.T) {
	t.Parallel()
	b := setup(t) // its run is left 'running', as by a killed process
	ctx := context.Background()
	next, err := b.store.StartRun(ctx, load.RunStart{Shard: "0/1", Source: "test"})
	require.NoError(t, err)
	var status string
	var errText *string
	require.NoError(t, b.db.QueryRow(ctx, `SELECT status, error FROM export_runs WHERE id = $1`, b.runID).Scan(&status, &errText))
	assert.Equal(t, "failed", status)
	assert.NotNil(t, errText)
	require.NoError(t, b.db.QueryRow(ctx, `SELECT status FROM export_runs WHERE id = $1`, next).Scan(&status))
	assert.Equal(t, "running", status)
}

// QueryReadOnly runs one statement, read-only, under its timeout: nothing
// the query says can write, end the transaction or outlive the timeout.
func TestQueryReadOnly(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := context.Background()
	_, err := b.db.Exec(ctx, `CREATE TABLE wanted (id text); INSERT INTO wanted VALUES ('p-1'), ('p-2')`)
	require.NoError(t, err)
	var got []string
	require.NoError(t, b.store.QueryReadOnly(ctx, `SELECT id FROM wanted ORDER BY id`, time.Minute, func(rows pgx.Rows) error {
		var err error
		got, err = pgx.CollectRows(rows, pgx.RowTo[string])
		return err
	}))
	assert.Equal(t, []string{"p-1", "p-2"}, got)
	for _, sql := range []string{
		`DELETE FROM wanted RETURNING id`,
		`SELECT id FROM wanted; DELETE FROM wanted`,
		`COMMIT; DELETE FROM wanted`,
		`SELECT 1; COMMIT; DELETE FROM wanted`,
		`SELECT pg_sleep(5)::text`,
	} {
		err := b.store.QueryReadOnly(ctx, sql, 200*time.Millisecond, func(rows pgx.Rows) error {
			for rows.Next() {
			}
			return rows.Err()
		})
		assert.Error(t, err, sql)
	}
	var n int
	require.NoError(t, b.db.QueryRow(ctx, `SELECT count(*) FROM wanted`).Scan(&n))
	assert.Equal(t, 2, n, "no query changed anything")
}

// An unchanged transcript costs no message-table work at all (its digest
// matches); a proposal with no stored row has its messages copied without a
// merge; rows written by other tools (no digest) are merged as before.
func TestWritePathsByStoredDigest(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := context.Background()
	a := available("A", new("1"), msg("a1", 0, "interviewer", "Q", t0), msg("a2", 1, "candidate", "A", t0))
	st := write(t, b, a, available("B", nil, msg("b1", 0, "interviewer", "Q", t0)))
	assert.Equal(t, load.Counts{Available: 2, InterviewsChanged: 2, MessagesWritten: 3}, st, "new proposals: copied")
	var digests int
	require.NoError(t, b.db.QueryRow(ctx, `SELECT count(content_digest) FROM interviews`).Scan(&digests))
	assert.Equal(t, 2, digests)

	// A proposal written by hand, without a digest, beside an unchanged one and a new one.
	_, err := b.db.Exec(ctx, `INSERT INTO interviews (proposal_id, status, interview_id, summary, message_count, fetched_at, changed_at)
		VALUES ('H', 'available', 'iv-H', 'summary of H', 1, now(), now())`)
	require.NoError(t, err)
	_, err = b.db.Exec(ctx, `INSERT INTO interview_messages VALUES ('H', 'h1', 0, 'interviewer', 'Q', $1)`, t0)
	require.NoError(t, err)
	before := readMessages(t, b, "A")
	st = write(t, b, a, available("H", nil, msg("h1", 0, "interviewer", "Q", t0), msg("h2", 1, "candidate", "new", t0)),
		available("C", nil, msg("c1", 0, "interviewer", "Q", t0)))
	assert.Equal(t, int64(2), st.MessagesWritten, "h2 merged in, c1 copied; nothing of A")
	assert.Equal(t, int64(2), st.InterviewsChanged, "H and C")
	assert.Equal(t, before, readMessages(t, b, "A"), "A's rows untouched")
	assert.Len(t, readMessages(t, b, "H"), 2)
	require.NoError(t, b.db.QueryRow(ctx, `SELECT count(content_digest) FROM interviews`).Scan(&digests))
	assert.Equal(t, 4, digests, "H has a digest now")

	// A rerun of everything unchanged: no message row is written or deleted.
	beforeA, beforeH := readMessages(t, b, "A"), readMessages(t, b, "H")
	st = write(t, b, a, available("H", nil, msg("h1", 0, "interviewer", "Q", t0), msg("h2", 1, "candidate", "new", t0)))
	assert.Equal(t, load.Counts{Available: 2}, st)
	assert.Equal(t, beforeA, readMessages(t, b, "A"))
	assert.Equal(t, beforeH, readMessages(t, b, "H"))
}

// Every table has a comment, and so has every column analysts read (catalog
// tools and dbt show them).
func TestTablesAreDescribed(t *testing.T) {
	t.Parallel()
	b := setup(t)
	rows, err := b.db.Query(context.Background(), `
		SELECT c.relname FROM pg_class c
		WHERE c.relnamespace = current_schema()::regnamespace AND c.relkind = 'r'
		  AND c.relname <> 'interview_export_schema_version' AND obj_description(c.oid, 'pg_class') IS NULL`)
	require.NoError(t, err)
	missing, err := pgx.CollectRows(rows, pgx.RowTo[string])
	require.NoError(t, err)
	assert.Empty(t, missing, "tables without a comment")
	rows, err = b.db.Query(context.Background(), `
		SELECT c.relname || '.' || a.attname FROM pg_class c JOIN pg_attribute a ON a.attrelid = c.oid
		WHERE c.relnamespace = current_schema()::regnamespace AND c.relname IN ('interviews', 'interview_messages')
		  AND a.attnum > 0 AND NOT a.attisdropped AND col_description(c.oid, a.attnum) IS NULL`)
	require.NoError(t, err)
	missing, err = pgx.CollectRows(rows, pgx.RowTo[string])
	require.NoError(t, err)
	assert.Empty(t, missing, "columns of the transcript tables without a comment")
}
