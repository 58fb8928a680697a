-- A batch's failures enter the ledger (one open failure per proposal), and the statement returns
-- the ones that are known: a permanent failure the ledger already held with the same error code.
-- Every CTE sees the ledger as it was before the upsert. $1 run, $2 proposal IDs, $3 error codes,
-- $4 HTTP statuses, $5 classes, $6 the re-check interval of permanent failures.
WITH batch AS (
    SELECT * FROM unnest($2::text[], $3::text[], $4::int[], $5::text[]) AS u (proposal_id, error_code, http_status, class)
), prior AS (
    SELECT l.proposal_id, l.error_code, l.class FROM failure_ledger l
    -- Through the primary key whatever the statistics say (see stored_records.sql).
    WHERE l.proposal_id = ANY (ARRAY(SELECT unnest($2::text[])))
), upsert AS (
    INSERT INTO failure_ledger AS l (proposal_id, error_code, http_status, class, recheck_at, last_run_id)
    SELECT proposal_id, error_code, http_status, class,
           CASE WHEN class = 'permanent' THEN now() + $6::interval END, $1
    FROM batch
    ON CONFLICT (proposal_id) DO UPDATE SET
        error_code = excluded.error_code, http_status = excluded.http_status, class = excluded.class,
        last_failed_at = now(), recheck_at = excluded.recheck_at, failures = l.failures + 1,
        last_run_id = excluded.last_run_id
)
SELECT b.proposal_id FROM batch b JOIN prior p USING (proposal_id)
WHERE b.class = 'permanent' AND p.class = 'permanent' AND p.error_code = b.error_code
