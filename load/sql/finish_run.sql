UPDATE export_runs
SET status = $2, finished_at = now(), error = NULLIF($3, ''), exit_status = $4
WHERE id = $1
RETURNING ids_read, ids_duplicate, ids_skipped, available, no_interview, failed, failed_known,
          interviews_changed, messages_written, messages_deleted, requests, retries, rate_limited,
          events_read, events_by_type, coalesce(settled_rate, 0), coalesce(rate_reason, ''), finished_at - started_at,
          skipped_erased, rechecked, removed_upstream, removed_retention
