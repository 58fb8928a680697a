-- Runs of this shard still marked running hold no lock any more (the caller
-- holds it): their process died. Close them before starting a new one.
WITH abandoned AS (
    UPDATE export_runs
    SET status = 'failed', finished_at = now(),
        error = 'the process ended without finishing the run'
    WHERE status = 'running' AND shard = $1
)
INSERT INTO export_runs (shard, source, settings, rechecked)
VALUES ($1, $2, $3, $4)
RETURNING id
