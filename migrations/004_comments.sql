-- Descriptions for catalog tools and dbt, which read COMMENT ON.

COMMENT ON TABLE interviews IS 'One row per proposal whose AI screening interview was fetched from the OpenTrain API (interview-export).';
COMMENT ON COLUMN interviews.proposal_id IS 'The OpenTrain proposal ID (opaque).';
COMMENT ON COLUMN interviews.status IS 'available: a transcript was returned; no_interview: the API answered 404 with its error envelope.';
COMMENT ON COLUMN interviews.interview_id IS 'The OpenTrain interview ID; NULL when no_interview.';
COMMENT ON COLUMN interviews.score IS 'The interview score exactly as the API sent it, never rescaled (the docs name both 0-100 and 0-10 scales); NULL when none.';
COMMENT ON COLUMN interviews.summary IS 'The interview summary as sent (NUL removed, invalid UTF-8 as U+FFFD); NULL when none, '''' when empty.';
COMMENT ON COLUMN interviews.message_count IS 'Number of messages in the transcript.';
COMMENT ON COLUMN interviews.fetched_at IS 'Last successful fetch (a 200 or an enveloped 404), whether or not anything changed.';
COMMENT ON COLUMN interviews.changed_at IS 'Last time the stored content (status, interview, score, summary or messages) changed.';
COMMENT ON COLUMN interviews.run_id IS 'The export_runs row of the run that last fetched this proposal.';
COMMENT ON COLUMN interviews.content_digest IS 'SHA-256 of the normalized content as the exporter last wrote it; NULL when written by another tool.';

COMMENT ON TABLE interview_messages IS 'The transcript of each available interview, one row per message, in the API''s order.';
COMMENT ON COLUMN interview_messages.proposal_id IS 'The proposal (interviews.proposal_id).';
COMMENT ON COLUMN interview_messages.message_id IS 'The OpenTrain message ID.';
COMMENT ON COLUMN interview_messages.position IS '0-based index of the message in the API''s messages array (oldest first).';
COMMENT ON COLUMN interview_messages.role IS 'As given: interviewer, candidate, or any other role the API sends.';
COMMENT ON COLUMN interview_messages.content IS 'The message text, byte for byte (NUL removed, invalid UTF-8 as U+FFFD); sanitized by OpenTrain.';
COMMENT ON COLUMN interview_messages.sent_at IS 'When the message was sent (the same instant as the API''s sentAt, any offset).';

COMMENT ON TABLE export_runs IS 'One row per export run, with its settings (never the token) and counts, kept current as batches commit.';
COMMENT ON COLUMN export_runs.status IS 'running, succeeded, partial (some IDs failed), failed or interrupted.';
COMMENT ON COLUMN export_runs.shard IS 'I/N: the shard of the IDs this run took (0/1: all).';
COMMENT ON COLUMN export_runs.source IS 'Where the IDs came from: ids-file:PATH, ids-query, jobs:[…], all-jobs or updates.';
COMMENT ON COLUMN export_runs.settings IS 'The run''s settings that are safe to keep.';
COMMENT ON COLUMN export_runs.ids_read IS 'IDs of this shard taken from the source, duplicates included.';
COMMENT ON COLUMN export_runs.ids_duplicate IS 'IDs seen before in the run.';
COMMENT ON COLUMN export_runs.ids_skipped IS 'IDs skipped by --refresh-after / --refresh-limit.';
COMMENT ON COLUMN export_runs.available IS 'Proposals with a transcript.';
COMMENT ON COLUMN export_runs.no_interview IS 'Proposals without an interview (enveloped 404).';
COMMENT ON COLUMN export_runs.failed IS 'Proposals that failed (each in export_failures).';
COMMENT ON COLUMN export_runs.interviews_changed IS 'Proposals whose stored content is new or changed.';
COMMENT ON COLUMN export_runs.messages_written IS 'Message rows inserted or changed.';
COMMENT ON COLUMN export_runs.messages_deleted IS 'Message rows deleted because they were gone upstream.';
COMMENT ON COLUMN export_runs.requests IS 'API requests sent, retries and 429s included.';
COMMENT ON COLUMN export_runs.retries IS 'Requests that were retries.';
COMMENT ON COLUMN export_runs.rate_limited IS '429 answers received.';
COMMENT ON COLUMN export_runs.events_read IS 'Change-feed events read (--updates).';
COMMENT ON COLUMN export_runs.events_by_type IS 'Change-feed events read, by type.';
COMMENT ON COLUMN export_runs.settled_rate IS 'The request rate (per second) the run settled on; NULL while unlimited.';
COMMENT ON COLUMN export_runs.exit_status IS 'The process''s exit status (0 also for failures within --max-failed).';
COMMENT ON COLUMN export_runs.error IS 'What stopped the run, when it stopped early.';

COMMENT ON TABLE export_failures IS 'Proposals that reached no recorded outcome in a run, and why.';
COMMENT ON COLUMN export_failures.error_code IS 'invalid_id, forbidden, bad_request, not_found_without_envelope, server_error, network_error, timeout, truncated_body, response_too_large, rate_limited, unexpected_status, invalid_response, unexpected_redirect or error.';
COMMENT ON COLUMN export_failures.http_status IS 'The last HTTP status received; NULL when none.';
COMMENT ON COLUMN export_failures.message IS 'What happened, for a person (the API''s error message when it sent one).';
COMMENT ON COLUMN export_failures.attempts IS 'Requests made for the proposal, 429s excluded.';
COMMENT ON COLUMN export_failures.request_id IS 'The API''s requestId, to quote to OpenTrain support.';

COMMENT ON TABLE proposals IS 'What the change feed and the job listings said of proposals, at no extra request; interviews never depends on it.';
COMMENT ON COLUMN proposals.status IS 'The API''s raw status (UNREVIEWED, SHORTLISTED, HIRED, …), latest known.';
COMMENT ON COLUMN proposals.status_event_id IS 'The feed event that set status; NULL when it came from a listing.';
COMMENT ON COLUMN proposals.received_at IS 'When the proposal was received (feed event or listing).';
COMMENT ON COLUMN proposals.status_changed_at IS 'When status was set.';

COMMENT ON TABLE jobs IS 'The jobs GET /jobs/mine listed (--all-jobs).';
COMMENT ON COLUMN jobs.proposals_total IS 'The job''s proposal count as listed.';
COMMENT ON COLUMN jobs.seen_at IS 'When a listing last showed the job.';

COMMENT ON TABLE feed_cursors IS 'Where each shard''s --updates run goes on from: the last change-feed event handled.';
