// Package metrics is the one vocabulary of interview-export's Prometheus
// series: each is declared once here, with its name and help, and serves
// the batch run's node_exporter textfile and Pushgateway push (Publish)
// and the follower's /metrics (Follower). A batch run reports its own
// numbers as gauges under the name; the follower reports running totals as
// counters under the name with _total, with the same help.
//
// It owns the series and how they are written and served; it knows no
// flag and no database (the caller passes what the run did).
package metrics

// Series is one metric of the vocabulary.
type Series struct {
	Name, Help string
	Label      string // its one label besides shard, "" for none
}

// The vocabulary. The alert rules in deploy/prometheus/alerts.yml use
// Proposals, LastSuccess and ExitStatus.
var (
	Proposals       = Series{"interview_export_proposals", "Proposals given an outcome, by outcome.", "outcome"}
	Failures        = Series{"interview_export_failures", "Failures by error code.", "code"}
	Requests        = Series{"interview_export_requests", "API requests sent.", ""}
	Retries         = Series{"interview_export_retries", "Retries among the API requests.", ""}
	RateLimited     = Series{"interview_export_rate_limited", "429 answers received.", ""}
	MessagesWritten = Series{"interview_export_messages_written", "Message rows inserted or changed.", ""}
	RequestRate     = Series{"interview_export_request_rate", "The request rate paced at, per second.", ""}
	LastSuccess     = Series{"interview_export_last_success_timestamp_seconds",
		"When the last run that exited 0 (or the follower's last cycle in which the database and the API answered) finished; 0: none yet.", ""}
	LastRun       = Series{"interview_export_last_run_timestamp_seconds", "When the run finished.", ""}
	Duration      = Series{"interview_export_duration_seconds", "How long the run took.", ""}
	ExitStatus    = Series{"interview_export_exit_status", "The exit status of the run.", ""}
	Cycles        = Series{"interview_export_cycles", "Cycles of the follower (a read of the feed and the export of what it said), by result.", "result"}
	FeedNewestAge = Series{"interview_export_feed_newest_event_age_seconds", "Age of the newest change-feed event read; 0: none yet.", ""}
	Deliveries    = Series{"interview_export_webhook_deliveries", "Webhook deliveries received, by result.", "result"}
	Lifecycle     = Series{"interview_export_lifecycle", "Candidates' data: stored transcripts re-checked, content removed (deleted upstream, past retention), IDs skipped as erased or past retention.", "action"}
)

// Actions are the values of Lifecycle's label, each on every report.
var Actions = []string{"rechecked", "removed_upstream", "removed_retention", "skipped_erased"}

// Outcomes are the values of Proposals' label that every report carries,
// zero or not; a batch run adds skipped and duplicate.
var Outcomes = []string{"available", "no_interview", "failed", "failed_known"}
