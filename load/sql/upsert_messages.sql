-- Make each staged proposal's messages exactly the staged ones:
-- delete the messages gone upstream, insert new ones, update changed ones,
-- and leave identical rows untouched (no new row version).
-- A proposal whose messages changed gets changed_at = fetched_at.
--
-- The big tables are reached through their primary keys for the batch's proposals only,
-- whatever the statistics say: `= ANY (ARRAY(…))` is an index condition the planner cannot
-- turn into a hash join over a sequential scan of the whole table.
WITH deleted AS (
    DELETE FROM interview_messages m
    WHERE m.proposal_id = ANY (ARRAY(SELECT proposal_id FROM stage_interviews WHERE NOT fresh))
      AND NOT EXISTS (
          SELECT 1 FROM stage_messages sm
          WHERE sm.proposal_id = m.proposal_id AND sm.message_id = m.message_id)
    RETURNING m.proposal_id
), written AS (
    INSERT INTO interview_messages AS m (proposal_id, message_id, position, role, content, sent_at, extra)
    SELECT proposal_id, message_id, position, role, content, sent_at, extra
    FROM stage_messages
    ON CONFLICT (proposal_id, message_id) DO UPDATE SET
        position = excluded.position,
        role     = excluded.role,
        content  = excluded.content,
        sent_at  = excluded.sent_at,
        extra    = excluded.extra
    WHERE (m.position, m.role, m.content, m.sent_at, m.extra)
          IS DISTINCT FROM (excluded.position, excluded.role, excluded.content, excluded.sent_at, excluded.extra)
    RETURNING m.proposal_id
), touched AS (
    UPDATE interviews i SET changed_at = i.fetched_at
    WHERE i.proposal_id = ANY (ARRAY(SELECT proposal_id FROM deleted UNION SELECT proposal_id FROM written))
      AND i.changed_at IS DISTINCT FROM i.fetched_at
    RETURNING 1
)
SELECT (SELECT count(*) FROM written), (SELECT count(*) FROM deleted), (SELECT count(*) FROM touched)
