// Package load is interview-export's database room: it owns everything
// that touches PostgreSQL, not only the interviews it writes. That is
// applying the schema in
// ../migrations (Migrate), the per-shard run lock (LockRun), the export_runs
// bookkeeping (StartRun, FinishRun) with the run's one counter type
// (Counts), the batched writer (Writer) that upserts interviews,
// interview_messages and export_failures, the dry run's sink in its place
// (JSONLines), the read-only query of --ids-query (QueryReadOnly), the
// feed cursors and the failure ledger, the pace board the processes of one
// account share (PaceBoard), the queries of report and runs, the grants
// check, and the lifecycle of candidates' data (privacy.go: erasures,
// retention, the IDs no run may fetch, the re-check plan; readers.go: the
// reader roles' grants and their check). It knows nothing of the API (package extract) or of flags;
// no other package runs SQL, but for idquery's one read-only query through
// load's connection.
//
// # How a batch is written
//
// A Writer owns one connection with two temporary staging tables. Each call to
// Writer.Write runs one transaction (writeBatch):
//
//  0. The batch claims its number in its run's row (export_runs.batches): a
//     batch tried again after a lost COMMIT is recognized and not written
//     twice. It takes erasures' lock in SHARE mode, so that no erasure or
//     retention pass can begin before it commits.
//  1. Each interview's content digest (a SHA-256 of everything stored of it,
//     messages included) is compared with the digest stored in its
//     interviews row, read through the primary key (stored_records.sql; a
//     withheld proposal, erased or past retention, is left out). That
//     splits the batch three ways:
//     - unchanged: only fetched_at and run_id move (touch_unchanged.sql); no
//     message row is read or written;
//     - new (no stored row): CopyFrom into stage_interviews, one INSERT
//     (upsert_interviews.sql), then CopyFrom of the messages straight into
//     interview_messages, with no merge;
//     - changed: staged the same way, and the messages merged in one
//     statement (upsert_messages.sql) that deletes the ones gone upstream
//     and upserts the rest with an IS DISTINCT FROM guard, so an unchanged
//     message row is never rewritten (its xmin stays).
//  2. CopyFrom the batch's failures into export_failures (their error codes
//     are the Code* constants).
//  3. Upsert what the source learned of proposals and jobs (writeFacts) and,
//     with the change feed, the shard's cursor.
//  4. Add the batch's counts to its export_runs row (add_run_counts.sql).
//
// Every statement reaches the big tables through their keys, whatever the
// statistics say (see the comments of the .sql files): the cost of a batch
// does not grow with the tables. A proposal's row and its messages change
// in one transaction: readers see a transcript either as before or as
// after, never half of it. A lock held by another session rolls the batch
// back and tries it again (WriterOptions.LockTries).
//
// The package knows nothing of the API: package transform builds the rows.
package load
