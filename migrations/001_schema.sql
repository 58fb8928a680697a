-- The four tables of the contract (../shared/contract.md, "Tables").
-- Forward-only: a later change is a new numbered file, never an edit here.

CREATE TABLE export_runs (
    id                 bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    started_at         timestamptz NOT NULL DEFAULT now(),
    finished_at        timestamptz,
    status             text NOT NULL DEFAULT 'running'
                       CHECK (status IN ('running', 'succeeded', 'partial', 'failed', 'interrupted')),
    shard              text NOT NULL DEFAULT '0/1',
    source             text NOT NULL,
    -- Settings of the run that are safe to keep (never the token).
    settings           jsonb NOT NULL DEFAULT '{}',
    -- Counts, kept current as batches commit so a killed run still tells how far it got.
    ids_read           bigint NOT NULL DEFAULT 0,
    ids_duplicate      bigint NOT NULL DEFAULT 0,
    ids_skipped        bigint NOT NULL DEFAULT 0,
    available          bigint NOT NULL DEFAULT 0,
    no_interview       bigint NOT NULL DEFAULT 0,
    failed             bigint NOT NULL DEFAULT 0,
    interviews_changed bigint NOT NULL DEFAULT 0,
    messages_written   bigint NOT NULL DEFAULT 0,
    messages_deleted   bigint NOT NULL DEFAULT 0,
    requests           bigint NOT NULL DEFAULT 0,
    retries            bigint NOT NULL DEFAULT 0,
    rate_limited       bigint NOT NULL DEFAULT 0,
    error              text
);

CREATE INDEX export_runs_started_at_idx ON export_runs (started_at DESC);

CREATE TABLE interviews (
    proposal_id    text PRIMARY KEY,
    status         text NOT NULL CHECK (status IN ('available', 'no_interview')),
    interview_id   text,
    score          numeric,
    summary        text,
    message_count  int NOT NULL DEFAULT 0,
    -- Last successful fetch (a 200 or an enveloped 404), whether or not anything changed.
    fetched_at     timestamptz NOT NULL,
    -- Last time the stored content (status, interview, score, summary or messages) changed.
    changed_at     timestamptz NOT NULL,
    -- The run that last fetched this proposal.
    run_id         bigint REFERENCES export_runs (id),
    CHECK (status = 'available' OR (interview_id IS NULL AND score IS NULL AND summary IS NULL AND message_count = 0))
);

-- Score analytics (distributions, thresholds) and incremental selection by age.
CREATE INDEX interviews_score_idx ON interviews (score) WHERE status = 'available';
CREATE INDEX interviews_fetched_at_idx ON interviews (fetched_at);

CREATE TABLE interview_messages (
    proposal_id  text NOT NULL REFERENCES interviews (proposal_id) ON DELETE CASCADE,
    message_id   text NOT NULL,
    position     int NOT NULL CHECK (position >= 0),
    role         text NOT NULL,
    content      text NOT NULL,
    sent_at      timestamptz NOT NULL,
    PRIMARY KEY (proposal_id, message_id)
);

-- A transcript is read in order through the primary key's proposal_id prefix (a few hundred
-- rows at most, sorted by position): a second index would slow every write for no gain.

CREATE TABLE export_failures (
    id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    run_id       bigint NOT NULL REFERENCES export_runs (id),
    proposal_id  text NOT NULL,
    http_status  int,
    error_code   text NOT NULL,
    message      text NOT NULL,
    attempts     int NOT NULL DEFAULT 0,
    request_id   text,
    failed_at    timestamptz NOT NULL DEFAULT now()
);

CREATE INDEX export_failures_run_idx ON export_failures (run_id, error_code);
CREATE INDEX export_failures_proposal_idx ON export_failures (proposal_id, failed_at DESC);
