-- Upsert the staged interviews. fetched_at and run_id always move; changed_at
-- moves only when the interview-level content differs (messages are checked
-- by upsert_messages.sql). A transcript that the API no longer serves (an
-- enveloped 404 where a transcript was stored) is marked deleted_upstream, with
-- when; a transcript served again clears the mark. Returns how many rows are
-- new or changed, and how many were removed upstream.
WITH upserted AS (
INSERT INTO interviews AS i
    (proposal_id, status, interview_id, score, summary, message_count, fetched_at, changed_at, run_id, content_digest, extra,
     last_message_at)
SELECT s.proposal_id, s.status, s.interview_id, s.score::numeric, s.summary, s.message_count,
       s.fetched_at, s.fetched_at, $1, s.content_digest, s.extra, s.last_message_at
FROM stage_interviews s
ON CONFLICT (proposal_id) DO UPDATE SET
    content_removed = CASE
        WHEN excluded.status = 'available' THEN NULL
        WHEN i.status = 'available' AND i.content_removed IS NULL THEN 'deleted_upstream'
        ELSE i.content_removed
    END,
    content_removed_at = CASE
        WHEN excluded.status = 'available' THEN NULL
        WHEN i.status = 'available' AND i.content_removed IS NULL THEN excluded.fetched_at
        ELSE i.content_removed_at
    END,
    last_message_at = excluded.last_message_at,
    status        = excluded.status,
    interview_id  = excluded.interview_id,
    score         = excluded.score,
    summary       = excluded.summary,
    message_count = excluded.message_count,
    fetched_at    = excluded.fetched_at,
    run_id        = excluded.run_id,
    content_digest = excluded.content_digest,
    extra         = excluded.extra,
    changed_at    = CASE
        WHEN (i.status, i.interview_id, i.score::text, i.summary, i.message_count, i.extra)
             IS DISTINCT FROM
             (excluded.status, excluded.interview_id, excluded.score::text, excluded.summary, excluded.message_count, excluded.extra)
        THEN excluded.changed_at
        ELSE i.changed_at
    END
RETURNING i.changed_at = i.fetched_at AS changed,
          i.content_removed = 'deleted_upstream' AND i.content_removed_at = i.fetched_at AS removed
)
SELECT count(*) FILTER (WHERE changed), count(*) FILTER (WHERE removed) FROM upserted
