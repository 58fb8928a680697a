-- Scores on two scales (docs/data.md, "Score scales"): the API's reference pages show interview
-- scores on 0–100 (86), its evaluation guide on 0–10 (8.6). Each interview's scale is decided
-- from evidence only: a score above 10 is on 0–100; a job listing's metrics.interviewScore ten
-- times the transcript's score puts it on 0–10 (one tenth of it, on 0–100); anything else is
-- unknown (NULL). The views add the score on one scale, score_100, where the scale is known.

-- What the latest job listing said of the proposal's interview score (metrics.interviewScore).
ALTER TABLE proposals ADD COLUMN listed_score numeric;
COMMENT ON COLUMN proposals.listed_score IS 'The interview score a job listing showed (metrics.interviewScore), as sent; it can tell the scale of the transcript''s score.';

ALTER TABLE interviews ADD COLUMN score_scale smallint CHECK (score_scale IN (10, 100));
COMMENT ON COLUMN interviews.score_scale IS 'The scale of score: 100 (0–100) or 10 (0–10), decided from evidence (docs/data.md); NULL when it cannot be told.';

UPDATE interviews SET score_scale = 100 WHERE score > 10 AND score <= 100;

CREATE OR REPLACE VIEW interview_scores AS
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
       i.content_removed,
       i.score_scale,
       CASE i.score_scale WHEN 100 THEN i.score WHEN 10 THEN i.score * 10 END AS score_100
FROM proposals p
LEFT JOIN jobs j USING (job_id)
LEFT JOIN interviews i USING (proposal_id)
LEFT JOIN LATERAL (
    SELECT min(sent_at) AS first_message_at, max(sent_at) AS last_message_at
    FROM interview_messages im WHERE im.proposal_id = p.proposal_id
) m ON i.status = 'available';

COMMENT ON COLUMN interview_scores.score IS 'The interview score as the API sent it, never rescaled, on the scale score_scale says; NULL when none (or erased).';
COMMENT ON COLUMN interview_scores.score_scale IS '100 (0–100) or 10 (0–10) where the evidence tells it (docs/data.md); NULL when it cannot be told.';
COMMENT ON COLUMN interview_scores.score_100 IS 'The score on 0–100 (a 0–10 score times ten); NULL when its scale is unknown. Compare these, never score across interviews.';

CREATE OR REPLACE VIEW job_scores AS
WITH known AS (
    SELECT job_id FROM jobs
    UNION
    SELECT job_id FROM proposals WHERE job_id IS NOT NULL
), per_proposal AS (
    SELECT p.job_id, p.status, i.status AS interview_status, i.score,
           CASE i.score_scale WHEN 100 THEN i.score WHEN 10 THEN i.score * 10 END AS score_100
    FROM proposals p LEFT JOIN interviews i USING (proposal_id)
    WHERE p.job_id IS NOT NULL
), by_status AS (
    SELECT job_id, jsonb_object_agg(coalesce(status, 'UNKNOWN'),
               jsonb_build_object('proposals', proposals, 'avg_score', avg_score, 'avg_score_100', avg_score_100)) AS by_status
    FROM (SELECT job_id, status, count(*) AS proposals, round(avg(score), 2) AS avg_score, round(avg(score_100), 2) AS avg_score_100
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
       coalesce(b.by_status, '{}')                                              AS by_status,
       round(avg(pp.score_100), 2)                                              AS avg_score_100,
       percentile_cont(0.5) WITHIN GROUP (ORDER BY pp.score_100)                AS median_score_100,
       percentile_cont(0.9) WITHIN GROUP (ORDER BY pp.score_100)                AS p90_score_100,
       round(avg(pp.score_100) FILTER (WHERE pp.status = 'HIRED'), 2)           AS hired_avg_score_100,
       round(avg(pp.score_100) FILTER (WHERE pp.status IN ('DECLINED', 'NOT_A_FIT')), 2) AS declined_avg_score_100,
       count(pp.score) FILTER (WHERE pp.score_100 IS NULL)                      AS scores_of_unknown_scale
FROM known k
LEFT JOIN jobs j USING (job_id)
LEFT JOIN per_proposal pp USING (job_id)
LEFT JOIN by_status b USING (job_id)
GROUP BY k.job_id, j.title, j.status, b.by_status;

COMMENT ON COLUMN job_scores.avg_score IS 'Average interview score as sent: it mixes scales when the job''s scores are on two; prefer avg_score_100.';
COMMENT ON COLUMN job_scores.avg_score_100 IS 'Average score on 0–100, of the scores whose scale is known.';
COMMENT ON COLUMN job_scores.median_score_100 IS 'Median score on 0–100, of the scores whose scale is known.';
COMMENT ON COLUMN job_scores.p90_score_100 IS '90th percentile on 0–100, of the scores whose scale is known.';
COMMENT ON COLUMN job_scores.hired_avg_score_100 IS 'Average score on 0–100 of the hired proposals.';
COMMENT ON COLUMN job_scores.declined_avg_score_100 IS 'Average score on 0–100 of the declined proposals.';
COMMENT ON COLUMN job_scores.scores_of_unknown_scale IS 'Scores whose scale cannot be told (left out of the _100 columns).';
COMMENT ON COLUMN job_scores.by_status IS 'Every status (the API''s raw values, UNKNOWN for none) with its proposals, average score as sent and on 0–100, as JSON.';
