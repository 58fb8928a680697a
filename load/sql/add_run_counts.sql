-- One batch's commit: its outcomes are added to the run's row; the intake and
-- request counters are totals observed by the run, stored as they are
-- (GREATEST: batches commit in order, but a total never goes back).
UPDATE export_runs SET
    ids_read           = GREATEST(ids_read, $2),
    ids_duplicate      = GREATEST(ids_duplicate, $3),
    ids_skipped        = GREATEST(ids_skipped, $4),
    available          = available + $5,
    no_interview       = no_interview + $6,
    failed             = failed + $7,
    messages_written   = messages_written + $8,
    messages_deleted   = messages_deleted + $9,
    requests           = GREATEST(requests, $10),
    retries            = GREATEST(retries, $11),
    rate_limited       = GREATEST(rate_limited, $12),
    interviews_changed = interviews_changed + $13,
    events_read        = GREATEST(events_read, $14),
    events_by_type     = CASE WHEN $14 >= events_read THEN $15::jsonb ELSE events_by_type END,
    settled_rate       = $16
WHERE id = $1
