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
    failed_known       = failed_known + $8,
    messages_written   = messages_written + $9,
    messages_deleted   = messages_deleted + $10,
    requests           = GREATEST(requests, $11),
    retries            = GREATEST(retries, $12),
    rate_limited       = GREATEST(rate_limited, $13),
    interviews_changed = interviews_changed + $14,
    events_read        = GREATEST(events_read, $15),
    events_by_type     = CASE WHEN $15 >= events_read THEN $16::jsonb ELSE events_by_type END,
    settled_rate       = $17,
    rate_reason        = NULLIF($18, ''),
    skipped_erased     = GREATEST(skipped_erased, $19),
    rechecked          = GREATEST(rechecked, $20),
    removed_upstream   = removed_upstream + $21,
    removed_retention  = removed_retention + $22
WHERE id = $1
