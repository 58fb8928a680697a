-- A digest of each interview's normalized content as the exporter last wrote it (status,
-- interview, score, summary and every message): a rerun that fetches the same transcript
-- compares digests and does no message-table work at all. NULL (rows written by other tools or
-- by hand) means "unknown": the next fetch merges the messages row by row, as before.
ALTER TABLE interviews ADD COLUMN content_digest bytea;

-- The request rate the run settled on (its rate gate at the end, in requests per second, after
-- what 429s and the API's RateLimit headers taught it); NULL while unlimited.
ALTER TABLE export_runs ADD COLUMN settled_rate double precision;

-- The process's exit status: with --max-failed, a 'partial' run may still exit 0, and schedulers
-- and the last-success metric go by the exit status.
ALTER TABLE export_runs ADD COLUMN exit_status int;
