// Package load writes normalized interviews into PostgreSQL.
//
// It owns the database side of interview-export: applying the schema in
// ../migrations (Migrate), the per-shard run lock (LockRun), the export_runs
// bookkeeping (StartRun, FinishRun) with the run's one counter type
// (Counts), the batched writer (Writer) that upserts interviews,
// interview_messages and export_failures, the dry run's sink in its place
// (JSONLines), and the read-only query of --ids-query (QueryReadOnly).
//
// # How a batch is written
//
// A Writer owns one connection with two temporary staging tables. Each call to
// Writer.Write runs one transaction:
//
//  1. CopyFrom the batch's interviews and messages into the staging tables;
//  2. one INSERT … ON CONFLICT upserts interviews (fetched_at always moves,
//     changed_at only when the content differs);
//  3. one statement deletes the messages gone upstream and upserts the rest
//     with an IS DISTINCT FROM guard, so an unchanged message row is never
//     rewritten (its xmin stays);
//  4. CopyFrom the batch's failures into export_failures and add the batch's
//     counts to its export_runs row.
//
// A proposal's row and its messages therefore change in one transaction:
// readers see a transcript either as before or as after, never half of it.
//
// The package knows nothing of the API: package transform builds the rows.
package load
