-- The change feed (export --updates) and what the API says of proposals and jobs in passing,
-- for analytics on scores against hiring outcomes. interviews never depends on these tables.

CREATE TABLE proposals (
    proposal_id        text PRIMARY KEY,
    job_id             text,
    -- The API's raw status (UNREVIEWED, SHORTLISTED, HIRED, …), latest known.
    status             text,
    received_at        timestamptz,
    status_changed_at  timestamptz,
    -- The feed event that set status: a later event (by id) wins, whatever its createdAt.
    -- NULL when the status came from a listing (--job, --all-jobs).
    status_event_id    bigint,
    updated_at         timestamptz NOT NULL DEFAULT now()
);

CREATE INDEX proposals_status_idx ON proposals (status);

CREATE TABLE jobs (
    job_id           text PRIMARY KEY,
    title            text,
    status           text,
    created_at       timestamptz,
    updated_at       timestamptz,
    proposals_total  int,
    -- When GET /jobs/mine last listed the job.
    seen_at          timestamptz NOT NULL DEFAULT now()
);

-- Where each shard's --updates run goes on from: events with a larger id are not yet handled.
CREATE TABLE feed_cursors (
    shard       text PRIMARY KEY,
    cursor      bigint NOT NULL,
    run_id      bigint REFERENCES export_runs (id),
    updated_at  timestamptz NOT NULL DEFAULT now()
);

ALTER TABLE export_runs
    ADD COLUMN events_read    bigint NOT NULL DEFAULT 0,
    ADD COLUMN events_by_type jsonb  NOT NULL DEFAULT '{}';
