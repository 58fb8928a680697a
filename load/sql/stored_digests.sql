-- The stored content digest of each of a batch's proposals. `= ANY (ARRAY(SELECT unnest($1)))`
-- hides the list's size from the planner: with the list itself, a few hundred IDs against a
-- table of tens of thousands already make it choose a sequential scan.
SELECT proposal_id, content_digest FROM interviews
WHERE proposal_id = ANY (ARRAY(SELECT unnest($1::text[])))
