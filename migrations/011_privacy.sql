-- Candidates' data has a lifecycle (docs/privacy.md): a deletion upstream reaches the warehouse
-- (stored transcripts are re-checked), an erasure sticks (the erasures table blocks every later
-- fetch), and a retention policy removes old content while keeping the score.

-- Why and when a proposal's content (messages, summary, extra; the score too for an erasure) was
-- removed: 'deleted_upstream' (the API answered 404 for a transcript it had served), 'erased'
-- (interview-export erase) or 'retention' (--retain, interview-export retention). NULL while the
-- content is as fetched.
ALTER TABLE interviews
    ADD COLUMN content_removed text CHECK (content_removed IN ('deleted_upstream', 'erased', 'retention')),
    ADD COLUMN content_removed_at timestamptz,
    -- When the transcript's last message was sent: what retention goes by.
    ADD COLUMN last_message_at timestamptz,
    ADD CHECK ((content_removed IS NULL) = (content_removed_at IS NULL));

UPDATE interviews i SET last_message_at = m.last
FROM (SELECT proposal_id, max(sent_at) AS last FROM interview_messages GROUP BY proposal_id) m
WHERE m.proposal_id = i.proposal_id;

-- Re-checks go oldest first through the transcripts whose content is still held.
CREATE INDEX interviews_recheck_idx ON interviews (fetched_at, proposal_id)
    WHERE status = 'available' AND content_removed IS NULL;
-- Retention finds the transcripts past the policy without reading the others.
CREATE INDEX interviews_retention_idx ON interviews (coalesce(last_message_at, changed_at))
    WHERE status = 'available' AND content_removed IS NULL;

-- One row per erased proposal: never fetched again, by any source, until erase --undo. Never any
-- content: the ID, when, and the operator's reason.
CREATE TABLE erasures (
    proposal_id text PRIMARY KEY,
    erased_at   timestamptz NOT NULL DEFAULT now(),
    reason      text NOT NULL,
    -- Whether the warehouse held anything of the proposal when it was erased (an unknown ID is
    -- recorded all the same: it may arrive later).
    was_stored  boolean NOT NULL
);

COMMENT ON TABLE erasures IS 'Proposals erased on request (interview-export erase): their content is deleted and no run fetches them again; no content is kept here.';

-- Where each shard's re-checks of stored transcripts stand: the time up to which its share of
-- re-checks has been planned, so that the work is spread evenly whatever the runs' cadence.
CREATE TABLE recheck_state (
    shard          text PRIMARY KEY,
    credited_until timestamptz NOT NULL
);

COMMENT ON TABLE recheck_state IS 'Per shard, the time up to which its share of re-checks of stored transcripts was planned (--recheck-stored-after).';

-- What each run re-checked and removed.
ALTER TABLE export_runs
    ADD COLUMN rechecked          bigint NOT NULL DEFAULT 0,
    ADD COLUMN removed_upstream   bigint NOT NULL DEFAULT 0,
    ADD COLUMN removed_retention  bigint NOT NULL DEFAULT 0,
    ADD COLUMN skipped_erased     bigint NOT NULL DEFAULT 0;

COMMENT ON COLUMN export_runs.rechecked IS 'Stored transcripts the run re-checked (--recheck-stored-after).';
COMMENT ON COLUMN export_runs.removed_upstream IS 'Transcripts the API no longer serves (an enveloped 404): their content was removed.';
COMMENT ON COLUMN export_runs.removed_retention IS 'Transcripts whose content --retain removed.';
COMMENT ON COLUMN export_runs.skipped_erased IS 'IDs not fetched because they were erased or past retention.';
COMMENT ON COLUMN interviews.content_removed IS 'Why the content was removed: deleted_upstream, erased or retention; NULL while it is as fetched.';
COMMENT ON COLUMN interviews.content_removed_at IS 'When the content was removed.';
COMMENT ON COLUMN interviews.last_message_at IS 'When the transcript''s last message was sent (retention goes by it).';

-- The score views no longer carry the summary: a reader of scores does not read what candidates
-- said (docs/privacy.md). Those who may read transcripts read interviews.summary.
DROP VIEW interview_scores;
CREATE VIEW interview_scores AS
SELECT p.proposal_id,
       p.job_id,
       j.title                          AS job_title,
       p.status,
       i.status                         AS interview_status,
       i.score,
       i.message_count,
       m.first_message_at,
       coalesce(m.last_message_at, i.last_message_at) AS last_message_at,
       m.last_message_at - m.first_message_at AS interview_duration,
       i.fetched_at,
       i.content_removed
FROM proposals p
LEFT JOIN jobs j USING (job_id)
LEFT JOIN interviews i USING (proposal_id)
LEFT JOIN LATERAL (
    SELECT min(sent_at) AS first_message_at, max(sent_at) AS last_message_at
    FROM interview_messages im WHERE im.proposal_id = p.proposal_id
) m ON i.status = 'available';

COMMENT ON VIEW interview_scores IS 'One row per proposal known from the change feed or the listings, with its job, hiring status and interview score; the interview''s columns are NULL where there is none (no interview, a forbidden proposal, not fetched yet). No content: no summary, no messages.';
COMMENT ON COLUMN interview_scores.proposal_id IS 'The OpenTrain proposal ID.';
COMMENT ON COLUMN interview_scores.job_id IS 'The job the proposal is on.';
COMMENT ON COLUMN interview_scores.job_title IS 'The job''s title, from GET /jobs/mine; NULL until listed.';
COMMENT ON COLUMN interview_scores.status IS 'The hiring status, the API''s raw value (UNREVIEWED, SHORTLISTED, MAYBE, HIRED, DECLINED, NOT_A_FIT, RESUME_SENT, or another).';
COMMENT ON COLUMN interview_scores.interview_status IS 'available, no_interview, or NULL when the proposal has no recorded outcome.';
COMMENT ON COLUMN interview_scores.score IS 'The interview score as the API sent it, never rescaled; NULL when none (or erased).';
COMMENT ON COLUMN interview_scores.message_count IS 'Messages in the transcript (as fetched, also after retention removed them).';
COMMENT ON COLUMN interview_scores.first_message_at IS 'When the transcript''s first message was sent; NULL once its content was removed.';
COMMENT ON COLUMN interview_scores.last_message_at IS 'When its last message was sent.';
COMMENT ON COLUMN interview_scores.interview_duration IS 'From the first message to the last; NULL once the content was removed.';
COMMENT ON COLUMN interview_scores.fetched_at IS 'When the interview was last fetched.';
COMMENT ON COLUMN interview_scores.content_removed IS 'deleted_upstream, erased or retention when the content was removed (the score stays, but for an erasure); NULL otherwise.';
