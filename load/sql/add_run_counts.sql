UPDATE export_runs SET
    ids_read         = ids_read + $2,
    ids_duplicate    = ids_duplicate + $3,
    ids_skipped      = ids_skipped + $4,
    available        = available + $5,
    no_interview     = no_interview + $6,
    failed           = failed + $7,
    messages_written = messages_written + $8,
    messages_deleted = messages_deleted + $9,
    requests         = requests + $10,
    retries          = retries + $11,
    rate_limited     = rate_limited + $12,
    interviews_changed = interviews_changed + $13
WHERE id = $1
