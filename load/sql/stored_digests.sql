-- The stored content digest of each of a batch's proposals. `= ANY (ARRAY(SELECT unnest($1)))`
-- hides the list's size from the planner: with the list itself, a few hundred IDs against a
-- table of tens of thousands already make it choose a sequential scan.
-- Withheld: erased (erasures), or content removed by retention: such a proposal's
-- answer is never written (the batch holds erasures' lock, so none can be added meanwhile).
SELECT proposal_id, content_digest, content_removed IS NOT DISTINCT FROM 'retention' AS withheld FROM interviews
WHERE proposal_id = ANY (ARRAY(SELECT unnest($1::text[])))
UNION ALL
SELECT proposal_id, NULL, true FROM erasures
WHERE proposal_id = ANY (ARRAY(SELECT unnest($1::text[])))
