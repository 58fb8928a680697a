-- Upsert the staged interviews. fetched_at and run_id always move; changed_at
-- moves only when the interview-level content differs (messages are checked
-- by upsert_messages.sql). Returns how many rows are new or changed.
WITH upserted AS (
INSERT INTO interviews AS i
    (proposal_id, status, interview_id, score, summary, message_count, fetched_at, changed_at, run_id, content_digest, extra)
SELECT s.proposal_id, s.status, s.interview_id, s.score::numeric, s.summary, s.message_count,
       s.fetched_at, s.fetched_at, $1, s.content_digest, s.extra
FROM stage_interviews s
ON CONFLICT (proposal_id) DO UPDATE SET
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
RETURNING i.changed_at = i.fetched_at AS changed
)
SELECT count(*) FILTER (WHERE changed) FROM upserted
