-- Session-local staging tables of a Writer; emptied at every commit.
CREATE TEMP TABLE IF NOT EXISTS stage_interviews (
    proposal_id    text PRIMARY KEY,
    status         text NOT NULL,
    interview_id   text,
    score          text,
    summary        text,
    message_count  int NOT NULL,
    fetched_at     timestamptz NOT NULL,
    content_digest bytea NOT NULL,
    -- No row was stored for the proposal: its messages were copied straight into
    -- interview_messages, with no merge.
    fresh          boolean NOT NULL,
    extra          jsonb,
    last_message_at timestamptz
) ON COMMIT DELETE ROWS;

CREATE TEMP TABLE IF NOT EXISTS stage_messages (
    proposal_id  text NOT NULL,
    message_id   text NOT NULL,
    position     int NOT NULL,
    role         text NOT NULL,
    content      text NOT NULL,
    sent_at      timestamptz NOT NULL,
    extra        jsonb
) ON COMMIT DELETE ROWS;
-- No key on stage_messages: transform rejects duplicate message IDs, and a duplicate that slipped
-- through would still fail the batch at the upsert ("cannot affect row a second time").
