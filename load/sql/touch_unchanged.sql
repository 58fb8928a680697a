-- Proposals fetched again with the content they already have: only fetched_at and run_id move.
UPDATE interviews i SET fetched_at = u.fetched_at, run_id = $3
FROM unnest($1::text[], $2::timestamptz[]) AS u (proposal_id, fetched_at)
WHERE i.proposal_id = u.proposal_id
  -- Through the primary key whatever the statistics say (see stored_records.sql).
  AND i.proposal_id = ANY (ARRAY(SELECT unnest($1::text[])))
