-- What is stored of each of a batch's (or an intake chunk's) proposals: when it last reached an
-- outcome, the digest of its content, and whether it is withheld: erased (erasures), or its
-- content removed by retention. A withheld proposal is never fetched, and its answer never
-- written (a batch holds erasures' lock, so none can be added meanwhile). An erased proposal
-- with a stored row comes twice. `= ANY (ARRAY(SELECT unnest($1)))` hides the list's size from
-- the planner: with the list itself, a few hundred IDs against a table of tens of thousands
-- already make it choose a sequential scan.
SELECT proposal_id, fetched_at, content_digest, content_removed IS NOT DISTINCT FROM 'retention' AS withheld
FROM interviews
WHERE proposal_id = ANY (ARRAY(SELECT unnest($1::text[])))
UNION ALL
SELECT proposal_id, NULL, NULL, true FROM erasures
WHERE proposal_id = ANY (ARRAY(SELECT unnest($1::text[])))
