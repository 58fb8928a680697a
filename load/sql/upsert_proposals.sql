-- What the feed and the listings said of proposals. A status moves only to a later feed event
-- (by event id, whatever its createdAt), or from a listing while no event has set one.
-- Unchanged rows are not rewritten.
-- listed_score is the latest listing's metrics.interviewScore.
INSERT INTO proposals AS p (proposal_id, job_id, status, received_at, status_changed_at, status_event_id, listed_score)
SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::timestamptz[], $5::timestamptz[], $6::bigint[], $7::numeric[])
ON CONFLICT (proposal_id) DO UPDATE SET
    listed_score      = coalesce(excluded.listed_score, p.listed_score),
    job_id            = coalesce(excluded.job_id, p.job_id),
    received_at       = coalesce(p.received_at, excluded.received_at),
    status            = CASE WHEN excluded.status IS NOT NULL AND (excluded.status_event_id > coalesce(p.status_event_id, 0)
                                 OR (excluded.status_event_id IS NULL AND p.status_event_id IS NULL))
                             THEN excluded.status ELSE p.status END,
    status_changed_at = CASE WHEN excluded.status IS NOT NULL AND (excluded.status_event_id > coalesce(p.status_event_id, 0)
                                 OR (excluded.status_event_id IS NULL AND p.status_event_id IS NULL))
                             THEN coalesce(excluded.status_changed_at, p.status_changed_at) ELSE p.status_changed_at END,
    status_event_id   = CASE WHEN excluded.status IS NOT NULL AND excluded.status_event_id > coalesce(p.status_event_id, 0)
                             THEN excluded.status_event_id ELSE p.status_event_id END,
    updated_at        = now()
WHERE (excluded.job_id IS NOT NULL AND excluded.job_id IS DISTINCT FROM p.job_id)
   OR (excluded.listed_score IS NOT NULL AND excluded.listed_score IS DISTINCT FROM p.listed_score)
   OR (p.received_at IS NULL AND excluded.received_at IS NOT NULL)
   OR (excluded.status IS NOT NULL AND excluded.status_event_id > coalesce(p.status_event_id, 0))
   OR (excluded.status IS NOT NULL AND excluded.status_event_id IS NULL AND p.status_event_id IS NULL
       AND excluded.status IS DISTINCT FROM p.status)
