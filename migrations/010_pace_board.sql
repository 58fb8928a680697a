-- The pace board: every process on one API token (shards, a follower, a one-off backfill)
-- shares the account's quota, so the board is keyed by the account the token belongs to
-- (what GET /auth/me says), not by --shard: each process writes its row about once a second
-- and reads the other members' (those seen in the last few seconds). Unlogged: it is only
-- ever a few seconds' news. It replaces pace_shares, which was keyed by shard alone.
DROP TABLE IF EXISTS pace_shares;

CREATE UNLOGGED TABLE pace_board (
    account  text NOT NULL,     -- the account of the token: its organization (or user) ID
    member   text NOT NULL,     -- one process: host, process ID and shard
    rate     double precision NOT NULL, -- requests/s it paces at
    busy     boolean NOT NULL,  -- it sent at least half its pace in the last second
    probing  boolean NOT NULL,  -- probing above the account's quota, for all
    limited  bigint NOT NULL,   -- 429s with Retry-After the member has received so far
    seen_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (account, member)
);

COMMENT ON TABLE pace_board IS 'Each process''s request pace while it runs, by API account, read by the other processes on the same account so that they share its quota; a process deletes its row when it ends.';
