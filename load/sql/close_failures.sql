-- Proposals that reached an outcome have no open failure any more.
DELETE FROM failure_ledger
WHERE proposal_id = ANY (ARRAY(SELECT unnest($1::text[])))
