-- The scale of each of a batch's proposals' scores, from the evidence only (migration 013,
-- docs/data.md): above 10 (and at most 100) is 0–100; a listing's metrics.interviewScore ten
-- times the score is 0–10, a tenth of it 0–100; anything else is unknown. A row whose scale is
-- already right is not rewritten. Through the primary keys, whatever the statistics say.
UPDATE interviews i SET score_scale = s.scale
FROM (
    SELECT iv.proposal_id,
           CASE
               WHEN iv.score > 10 AND iv.score <= 100 THEN 100
               WHEN iv.score > 0 AND p.listed_score = iv.score * 10 THEN 10
               WHEN iv.score > 0 AND iv.score = p.listed_score * 10 THEN 100
           END AS scale
    FROM interviews iv LEFT JOIN proposals p ON p.proposal_id = iv.proposal_id
    WHERE iv.proposal_id = ANY (ARRAY(SELECT unnest($1::text[])))
) s
WHERE i.proposal_id = s.proposal_id AND i.score_scale IS DISTINCT FROM s.scale
  AND i.proposal_id = ANY (ARRAY(SELECT unnest($1::text[])))
