-- The shard's feed cursor, committed with the batch that gave the last of its events' proposals
-- an outcome. It never moves back.
INSERT INTO feed_cursors AS c (shard, cursor, run_id)
VALUES ($1, $2, $3)
ON CONFLICT (shard) DO UPDATE SET cursor = excluded.cursor, run_id = excluded.run_id, updated_at = now()
WHERE excluded.cursor > c.cursor
