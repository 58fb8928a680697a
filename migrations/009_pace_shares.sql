-- The pace of each shard of a run at work, so that shards sharing the API's quota hold one
-- pace between them: each writes its row about once a second and reads the others' (those
-- seen in the last few seconds). Unlogged: it is only ever a few seconds' news.
CREATE UNLOGGED TABLE pace_shares (
    shard    text PRIMARY KEY,
    rate     double precision,  -- requests/s; NULL while the shard paces without a limit
    probing  boolean NOT NULL,  -- probing above its share of the quota
    limited  bigint NOT NULL,   -- 429s with Retry-After the shard has received so far
    seen_at  timestamptz NOT NULL DEFAULT now()
);

COMMENT ON TABLE pace_shares IS 'Each shard''s request pace while it runs, read by the other shards sharing the API quota; a shard deletes its row when it ends.';
