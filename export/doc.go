// Package export is the lifecycle of one export run, from validated
// Options to the error whose exit.Status ends the command: it opens what the
// run needs in the order that fails fastest (the database and the shard's
// lock, the source, the token), runs package pipeline with progress (a bar
// on a terminal, else a log line an interval), joins the account's pace
// board, records the run in export_runs, and reports how it ended (the
// summary file, the metrics, the last log record or line). With
// Options.Follow it runs the same cycle under a follow.Service instead.
// Each run also re-checks its share of the stored transcripts and applies
// --retain (privacy.go), and prunes the history past --keep-runs
// (history.go). Check verifies an export's set-up without running it
// (check.go), and ConnectCurrent opens a database at the binary's schema
// for the commands that must not migrate it.
//
// It owns the run's order of events and its outcome; it parses no flag (the
// command line maps them onto Options) and knows no SQL (package load does)
// and no HTTP (package extract does).
package export
