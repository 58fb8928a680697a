-- Nothing the API sends is lost: the members of the interview object and of each message that
-- the schema does not name are kept as JSON (NULL when there is none), so a later need does not
-- mean refetching everything at the quota's pace.
ALTER TABLE interviews ADD COLUMN extra jsonb;
ALTER TABLE interview_messages ADD COLUMN extra jsonb;

COMMENT ON COLUMN interviews.extra IS 'Members of the API''s interview object that the schema does not name, as sent (text made storable); NULL when none.';
COMMENT ON COLUMN interview_messages.extra IS 'Members of the API''s message that the schema does not name, as sent (text made storable); NULL when none.';
