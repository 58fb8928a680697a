-- Views for analysts: scores by proposal with their job and hiring status, and by job. Plain
-- views over the tables, so they are always current and cost nothing to keep.

CREATE VIEW interview_scores AS
SELECT p.proposal_id,
       p.job_id,
       j.title                          AS job_title,
       p.status,
       i.status                         AS interview_status,
       i.score,
       i.summary,
       i.message_count,
       m.first_message_at,
       m.last_message_at,
       m.last_message_at - m.first_message_at AS interview_duration,
       i.fetched_at
FROM proposals p
LEFT JOIN jobs j USING (job_id)
LEFT JOIN interviews i USING (proposal_id)
LEFT JOIN LATERAL (
    SELECT min(sent_at) AS first_message_at, max(sent_at) AS last_message_at
    FROM interview_messages im WHERE im.proposal_id = p.proposal_id
) m ON i.status = 'available';

COMMENT ON VIEW interview_scores IS 'One row per proposal known from the change feed or the listings, with its job, hiring status and interview score; the interview''s columns are NULL where there is none (no interview, a forbidden proposal, not fetched yet).';
COMMENT ON COLUMN interview_scores.proposal_id IS 'The OpenTrain proposal ID.';
COMMENT ON COLUMN interview_scores.job_id IS 'The job the proposal is on.';
COMMENT ON COLUMN interview_scores.job_title IS 'The job''s title, from GET /jobs/mine; NULL until listed.';
COMMENT ON COLUMN interview_scores.status IS 'The hiring status, the API''s raw value (UNREVIEWED, SHORTLISTED, MAYBE, HIRED, DECLINED, NOT_A_FIT, RESUME_SENT, or another).';
COMMENT ON COLUMN interview_scores.interview_status IS 'available, no_interview, or NULL when the proposal has no recorded outcome.';
COMMENT ON COLUMN interview_scores.score IS 'The interview score as the API sent it, never rescaled; NULL when none.';
COMMENT ON COLUMN interview_scores.summary IS 'The interview summary; NULL when none.';
COMMENT ON COLUMN interview_scores.message_count IS 'Messages in the transcript.';
COMMENT ON COLUMN interview_scores.first_message_at IS 'When the transcript''s first message was sent.';
COMMENT ON COLUMN interview_scores.last_message_at IS 'When its last message was sent.';
COMMENT ON COLUMN interview_scores.interview_duration IS 'From the first message to the last.';
COMMENT ON COLUMN interview_scores.fetched_at IS 'When the interview was last fetched.';

CREATE VIEW job_scores AS
WITH known AS (
    SELECT job_id FROM jobs
    UNION
    SELECT job_id FROM proposals WHERE job_id IS NOT NULL
), per_proposal AS (
    SELECT p.job_id, p.status, i.status AS interview_status, i.score
    FROM proposals p LEFT JOIN interviews i USING (proposal_id)
    WHERE p.job_id IS NOT NULL
), by_status AS (
    SELECT job_id, jsonb_object_agg(coalesce(status, 'UNKNOWN'),
               jsonb_build_object('proposals', proposals, 'avg_score', avg_score)) AS by_status
    FROM (SELECT job_id, status, count(*) AS proposals, round(avg(score), 2) AS avg_score
          FROM per_proposal GROUP BY job_id, status) s
    GROUP BY job_id
)
SELECT k.job_id,
       j.title                                                                  AS job_title,
       j.status                                                                 AS job_status,
       count(pp.job_id)                                                         AS proposals,
       count(*) FILTER (WHERE pp.interview_status = 'available')                AS interviews,
       round(avg(pp.score), 2)                                                  AS avg_score,
       percentile_cont(0.5) WITHIN GROUP (ORDER BY pp.score)                    AS median_score,
       percentile_cont(0.9) WITHIN GROUP (ORDER BY pp.score)                    AS p90_score,
       count(*) FILTER (WHERE pp.status = 'HIRED')                              AS hired,
       round(avg(pp.score) FILTER (WHERE pp.status = 'HIRED'), 2)               AS hired_avg_score,
       count(*) FILTER (WHERE pp.status = 'SHORTLISTED')                        AS shortlisted,
       round(avg(pp.score) FILTER (WHERE pp.status = 'SHORTLISTED'), 2)         AS shortlisted_avg_score,
       count(*) FILTER (WHERE pp.status IN ('DECLINED', 'NOT_A_FIT'))           AS declined,
       round(avg(pp.score) FILTER (WHERE pp.status IN ('DECLINED', 'NOT_A_FIT')), 2) AS declined_avg_score,
       count(*) FILTER (WHERE pp.status = 'UNREVIEWED' OR pp.status IS NULL)    AS unreviewed,
       round(avg(pp.score) FILTER (WHERE pp.status = 'UNREVIEWED' OR pp.status IS NULL), 2) AS unreviewed_avg_score,
       coalesce(b.by_status, '{}')                                              AS by_status
FROM known k
LEFT JOIN jobs j USING (job_id)
LEFT JOIN per_proposal pp USING (job_id)
LEFT JOIN by_status b USING (job_id)
GROUP BY k.job_id, j.title, j.status, b.by_status;

COMMENT ON VIEW job_scores IS 'One row per job: its proposals, interviews and score statistics, overall and by hiring status.';
COMMENT ON COLUMN job_scores.job_id IS 'The OpenTrain job ID.';
COMMENT ON COLUMN job_scores.job_title IS 'The job''s title, from GET /jobs/mine; NULL until listed.';
COMMENT ON COLUMN job_scores.job_status IS 'The job''s status (OPEN, ONGOING, COMPLETED, …), from GET /jobs/mine.';
COMMENT ON COLUMN job_scores.proposals IS 'Proposals known on the job.';
COMMENT ON COLUMN job_scores.interviews IS 'Of them, those with an available interview.';
COMMENT ON COLUMN job_scores.avg_score IS 'Average interview score (scores as sent, never rescaled).';
COMMENT ON COLUMN job_scores.median_score IS 'Median interview score.';
COMMENT ON COLUMN job_scores.p90_score IS '90th percentile of the interview scores.';
COMMENT ON COLUMN job_scores.hired IS 'Proposals with status HIRED.';
COMMENT ON COLUMN job_scores.hired_avg_score IS 'Their average score.';
COMMENT ON COLUMN job_scores.shortlisted IS 'Proposals with status SHORTLISTED.';
COMMENT ON COLUMN job_scores.shortlisted_avg_score IS 'Their average score.';
COMMENT ON COLUMN job_scores.declined IS 'Proposals with status DECLINED or NOT_A_FIT.';
COMMENT ON COLUMN job_scores.declined_avg_score IS 'Their average score.';
COMMENT ON COLUMN job_scores.unreviewed IS 'Proposals with status UNREVIEWED, or none known.';
COMMENT ON COLUMN job_scores.unreviewed_avg_score IS 'Their average score.';
COMMENT ON COLUMN job_scores.by_status IS 'Every status (the API''s raw values, UNKNOWN for none) with its proposals and average score, as JSON.';
