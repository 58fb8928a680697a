-- Why the run's pace last changed (a 429 with Retry-After at 20/s, calm again, a probe, the
-- API's announced limit, the configured rate), beside the rate it settled on.
ALTER TABLE export_runs ADD COLUMN rate_reason text;

COMMENT ON COLUMN export_runs.rate_reason IS 'Why the request rate last changed, as the run''s rate gate said it (settled_rate is the rate).';
