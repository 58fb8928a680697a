-- History is bounded (--keep-runs) and a retried batch counts once.

-- Batches a run has committed, by number: a batch whose COMMIT reached the server but whose
-- answer was lost (the connection cut) is tried again under the same number, and recognized.
ALTER TABLE export_runs ADD COLUMN batches bigint NOT NULL DEFAULT 0;
COMMENT ON COLUMN export_runs.batches IS 'Batches the run committed; a retried batch whose COMMIT was lost on the way back is recognized by its number and not applied twice.';

-- Pruning keeps the runs an open failure of the ledger names: found through this index, not by
-- reading the ledger once for every batch of runs pruned.
CREATE INDEX failure_ledger_last_run_idx ON failure_ledger (last_run_id);

-- Old runs are pruned (--keep-runs), and an interview names the run that last fetched it for as
-- long as that run is kept: the reference is no longer enforced, so that pruning never touches
-- the interviews (a foreign key would make each deleted run scan them).
ALTER TABLE interviews DROP CONSTRAINT IF EXISTS interviews_run_id_fkey;
COMMENT ON COLUMN interviews.run_id IS 'The export_runs row of the run that last fetched this proposal (NULL once --keep-runs has pruned it, as a join finds no row).';
