-- Failures have a class (../shared/contract.md, "Failures have a class"). Permanent ones (403,
-- 400, invalid_response, invalid_id) are re-checked once per --recheck-after; transient ones
-- (whatever ran out of attempts) by every --updates run. A known permanent failure found failing
-- the same way again is "known": it counts toward neither exit 1 nor --max-failed.

-- The ledger holds each proposal's open failure: a row exists while the proposal has failed and
-- reached no outcome since. Its due time is in the database, so an operator can see it.
CREATE TABLE failure_ledger (
    proposal_id     text PRIMARY KEY,
    error_code      text NOT NULL,
    http_status     int,
    class           text NOT NULL CHECK (class IN ('permanent', 'transient')),
    first_failed_at timestamptz NOT NULL DEFAULT now(),
    last_failed_at  timestamptz NOT NULL DEFAULT now(),
    recheck_at      timestamptz,
    failures        int NOT NULL DEFAULT 1,
    last_run_id     bigint REFERENCES export_runs (id)
);

CREATE INDEX failure_ledger_recheck_idx ON failure_ledger (recheck_at);

ALTER TABLE export_failures
    ADD COLUMN class text NOT NULL DEFAULT 'transient' CHECK (class IN ('permanent', 'transient')),
    ADD COLUMN known boolean NOT NULL DEFAULT false;

UPDATE export_failures SET class = 'permanent'
WHERE error_code IN ('forbidden', 'bad_request', 'invalid_response', 'invalid_id');

ALTER TABLE export_runs ADD COLUMN failed_known bigint NOT NULL DEFAULT 0;

-- The open failures recorded before the ledger existed.
INSERT INTO failure_ledger (proposal_id, error_code, http_status, class, first_failed_at, last_failed_at, recheck_at, last_run_id)
SELECT DISTINCT ON (f.proposal_id) f.proposal_id, f.error_code, f.http_status, f.class, f.failed_at, f.failed_at,
       CASE WHEN f.class = 'permanent' THEN f.failed_at + interval '7 days' END, f.run_id
FROM export_failures f
WHERE NOT EXISTS (SELECT 1 FROM interviews i WHERE i.proposal_id = f.proposal_id AND i.fetched_at >= f.failed_at)
ORDER BY f.proposal_id, f.failed_at DESC;

COMMENT ON TABLE failure_ledger IS 'Each proposal''s open failure: it failed and reached no outcome since. Deleted when the proposal gets an outcome.';
COMMENT ON COLUMN failure_ledger.proposal_id IS 'The proposal that failed.';
COMMENT ON COLUMN failure_ledger.error_code IS 'The error code of its latest failure (as export_failures.error_code).';
COMMENT ON COLUMN failure_ledger.http_status IS 'The HTTP status of its latest failure; NULL when none was received.';
COMMENT ON COLUMN failure_ledger.class IS 'permanent (403, 400, invalid_response, invalid_id: re-checked once per --recheck-after) or transient (retried by every --updates run).';
COMMENT ON COLUMN failure_ledger.first_failed_at IS 'When the proposal first failed since its last outcome.';
COMMENT ON COLUMN failure_ledger.last_failed_at IS 'When it last failed.';
COMMENT ON COLUMN failure_ledger.recheck_at IS 'When --updates next tries a permanent failure; NULL for a transient one (every run).';
COMMENT ON COLUMN failure_ledger.failures IS 'How many times it failed since its last outcome.';
COMMENT ON COLUMN failure_ledger.last_run_id IS 'The export_runs row of the run that last failed it.';
COMMENT ON COLUMN export_failures.class IS 'permanent (403, 400, invalid_response, invalid_id) or transient (whatever ran out of attempts).';
COMMENT ON COLUMN export_failures.known IS 'A known permanent failure found failing the same way again: counts toward neither exit 1 nor --max-failed.';
COMMENT ON COLUMN export_runs.failed_known IS 'Of failed, the known permanent failures found failing the same way again.';
