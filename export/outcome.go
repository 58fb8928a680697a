package export

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"maps"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/interview-export/interview-export/load"
	"github.com/interview-export/interview-export/metrics"
)

// MaxFailed is --max-failed: how many failures (a count, or a share of the
// IDs sent to the API) still let a run exit 0.
type MaxFailed struct {
	count   int64
	percent float64 // used when isShare
	isShare bool
}

// ParseMaxFailed reads a count (5) or a share (1%).
func ParseMaxFailed(s string) (MaxFailed, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return MaxFailed{}, nil
	}
	if p, ok := strings.CutSuffix(s, "%"); ok {
		v, err := strconv.ParseFloat(strings.TrimSpace(p), 64)
		if err != nil || v < 0 || v > 100 || math.IsNaN(v) {
			return MaxFailed{}, fmt.Errorf("%q: want a count such as 5 or a share such as 1%%", s)
		}
		return MaxFailed{percent: v, isShare: true}, nil
	}
	v, err := strconv.ParseInt(s, 10, 64)
	if err != nil || v < 0 {
		return MaxFailed{}, fmt.Errorf("%q: want a count such as 5 or a share such as 1%%", s)
	}
	return MaxFailed{count: v}, nil
}

// Allows reports whether c's new failures are within the bound (a known
// permanent failure found failing the same way again is not new). The
// share is of the IDs the run sent to the API: skipped and invalid ones do
// not count.
func (m MaxFailed) Allows(c load.Counts) bool {
	if !m.isShare {
		return c.FailedNew() <= m.count
	}
	sent := c.Done() - c.FailedByCode[load.CodeInvalidID]
	return float64(c.FailedNew()) <= m.percent/100*float64(sent)
}

func (m MaxFailed) String() string {
	if m.isShare {
		return strconv.FormatFloat(m.percent, 'f', -1, 64) + "%"
	}
	return strconv.FormatInt(m.count, 10)
}

// runOutcome is how a run ended, for the summary file, the JSON log's last
// record and the metrics.
type runOutcome struct {
	// Version is the exporter's, as `interview-export version` prints it.
	Version    string    `json:"version"`
	RunID      int64     `json:"run_id"`
	Shard      string    `json:"shard"`
	Source     string    `json:"source"`
	DryRun     bool      `json:"dry_run"`
	Status     string    `json:"status"`
	ExitStatus int       `json:"exit_status"`
	Error      string    `json:"error,omitempty"`
	StartedAt  time.Time `json:"started_at"`
	FinishedAt time.Time `json:"finished_at"`
	Counts     counts    `json:"counts"`
	// UnknownFields are the fields the API sent that the schema does not
	// name (kept in the columns extra), met by this run.
	UnknownFields []string `json:"unknown_fields"`
	// FailuresQuery lists the run's failures, when there are any.
	FailuresQuery string `json:"failures_query,omitempty"`
}

// counts are load.Counts as numbers with stable snake_case names.
type counts struct {
	IDsRead           int64            `json:"ids_read"`
	IDsDuplicate      int64            `json:"ids_duplicate"`
	IDsSkipped        int64            `json:"ids_skipped"`
	Available         int64            `json:"available"`
	NoInterview       int64            `json:"no_interview"`
	Failed            int64            `json:"failed"`
	FailedKnown       int64            `json:"failed_known"`
	FailedByCode      map[string]int64 `json:"failed_by_code"`
	InterviewsChanged int64            `json:"interviews_changed"`
	MessagesWritten   int64            `json:"messages_written"`
	MessagesDeleted   int64            `json:"messages_deleted"`
	Requests          int64            `json:"requests"`
	Retries           int64            `json:"retries"`
	RateLimited       int64            `json:"rate_limited"`
	RequestRate       float64          `json:"request_rate_per_s"`
	RateUnlimited     bool             `json:"request_rate_unlimited"`
	RateReason        string           `json:"request_rate_reason"`
	Rechecked         int64            `json:"rechecked"`
	RemovedUpstream   int64            `json:"removed_upstream"`
	RemovedRetention  int64            `json:"removed_retention"`
	SkippedErased     int64            `json:"skipped_erased"`
	EventsRead        int64            `json:"events_read"`
	EventsByType      map[string]int64 `json:"events_by_type"`
	DurationSeconds   float64          `json:"duration_seconds"`
	PerSecond         float64          `json:"proposals_per_second"`
}

func countsOf(c load.Counts) counts {
	out := counts{IDsRead: c.IDsRead, IDsDuplicate: c.IDsDuplicate, IDsSkipped: c.IDsSkipped,
		Available: c.Available, NoInterview: c.NoInterview, Failed: c.Failed, FailedKnown: c.FailedKnown, FailedByCode: c.FailedByCode,
		InterviewsChanged: c.InterviewsChanged, MessagesWritten: c.MessagesWritten, MessagesDeleted: c.MessagesDeleted,
		Requests: c.Requests, Retries: c.Retries, RateLimited: c.RateLimited, RequestRate: c.RequestRate, RateUnlimited: c.RequestRate == 0, RateReason: c.RateReason,
		EventsRead: c.EventsRead, EventsByType: c.EventsByType,
		Rechecked: c.Rechecked, RemovedUpstream: c.RemovedUpstream, RemovedRetention: c.RemovedRetention, SkippedErased: c.SkippedErased,
		DurationSeconds: math.Round(c.Duration.Seconds()*1000) / 1000, PerSecond: math.Round(c.PerSecond()*10) / 10}
	if out.FailedByCode == nil {
		out.FailedByCode = map[string]int64{}
	}
	if out.EventsByType == nil {
		out.EventsByType = map[string]int64{}
	}
	return out
}

// logFinished writes the run's last JSON log record: every counter as a number.
func logFinished(log *slog.Logger, r runOutcome) {
	c := r.Counts
	attrs := []slog.Attr{slog.String("status", r.Status), slog.Int("exit_status", r.ExitStatus),
		slog.Bool("dry_run", r.DryRun), slog.String("source", r.Source),
		slog.Int64("ids_read", c.IDsRead), slog.Int64("ids_duplicate", c.IDsDuplicate), slog.Int64("ids_skipped", c.IDsSkipped),
		slog.Int64("available", c.Available), slog.Int64("no_interview", c.NoInterview), slog.Int64("failed", c.Failed), slog.Int64("failed_known", c.FailedKnown),
		slog.Any("failed_by_code", c.FailedByCode), slog.Int64("interviews_changed", c.InterviewsChanged),
		slog.Int64("messages_written", c.MessagesWritten), slog.Int64("messages_deleted", c.MessagesDeleted),
		slog.Int64("requests", c.Requests), slog.Int64("retries", c.Retries), slog.Int64("rate_limited", c.RateLimited),
		slog.Float64("request_rate_per_s", c.RequestRate), slog.Bool("request_rate_unlimited", c.RateUnlimited), slog.String("request_rate_reason", c.RateReason),
		slog.Int64("rechecked", c.Rechecked), slog.Int64("removed_upstream", c.RemovedUpstream),
		slog.Int64("removed_retention", c.RemovedRetention), slog.Int64("skipped_erased", c.SkippedErased),
		slog.Int64("events_read", c.EventsRead),
		slog.Any("events_by_type", c.EventsByType), slog.Float64("duration_seconds", c.DurationSeconds),
		slog.Float64("proposals_per_second", c.PerSecond)}
	if r.Error != "" {
		attrs = append(attrs, slog.String("error", r.Error))
	}
	if len(r.UnknownFields) > 0 {
		attrs = append(attrs, slog.Any("unknown_fields", r.UnknownFields))
	}
	if r.FailuresQuery != "" {
		attrs = append(attrs, slog.String("failures_query", r.FailuresQuery))
	}
	log.LogAttrs(context.Background(), slog.LevelInfo, "export finished", attrs...)
}

// writeFileAtomically writes data to path through a temporary file in the
// same folder and a rename: a reader sees the old file or the new one.
func writeFileAtomically(path string, data []byte) error {
	dir := filepath.Dir(path)
	f, err := os.CreateTemp(dir, "."+filepath.Base(path)+".*.tmp")
	if err != nil {
		return err
	}
	defer os.Remove(f.Name())
	if _, err := f.Write(data); err != nil {
		f.Close()
		return err
	}
	if err := f.Chmod(0o644); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	return os.Rename(f.Name(), path)
}

// writeSummaryFile writes r as a JSON document to path, atomically.
func writeSummaryFile(path string, r runOutcome) error {
	data, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return err
	}
	if err := writeFileAtomically(path, append(data, '\n')); err != nil {
		return fmt.Errorf("write --summary-file %s: %w", path, err)
	}
	return nil
}

// metrics is the run's outcome in the metrics' vocabulary.
func (r runOutcome) metrics(lastSuccess time.Time) metrics.Run {
	c := r.Counts
	failures := map[string]int64{}
	for _, code := range load.Codes {
		failures[code] = 0 // every series on every run
	}
	maps.Copy(failures, c.FailedByCode)
	return metrics.Run{Shard: r.Shard, FinishedAt: r.FinishedAt, LastSuccess: lastSuccess,
		Duration: time.Duration(c.DurationSeconds * float64(time.Second)), ExitStatus: r.ExitStatus,
		Proposals: map[string]int64{"available": c.Available, "no_interview": c.NoInterview, "failed": c.Failed,
			"failed_known": c.FailedKnown, "skipped": c.IDsSkipped, "duplicate": c.IDsDuplicate},
		Failures: failures, Requests: c.Requests, Retries: c.Retries, RateLimited: c.RateLimited, Messages: c.MessagesWritten,
		RequestRate: c.RequestRate, Lifecycle: c.lifecycle()}
}

// lifecycle is the run's re-checks and removals, by metrics action.
func (c counts) lifecycle() map[string]int64 {
	return map[string]int64{"rechecked": c.Rechecked, "removed_upstream": c.RemovedUpstream,
		"removed_retention": c.RemovedRetention, "skipped_erased": c.SkippedErased}
}
