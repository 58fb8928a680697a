package command

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/push"

	"github.com/interview-export/interview-export/load"
)

// maxFailed is --max-failed: how many failures (a count, or a share of the
// IDs sent to the API) still let a run exit 0.
type maxFailed struct {
	count   int64
	percent float64 // used when isShare
	isShare bool
}

func parseMaxFailed(s string) (maxFailed, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return maxFailed{}, nil
	}
	if p, ok := strings.CutSuffix(s, "%"); ok {
		v, err := strconv.ParseFloat(strings.TrimSpace(p), 64)
		if err != nil || v < 0 || v > 100 || math.IsNaN(v) {
			return maxFailed{}, fmt.Errorf("--max-failed %q: want a count such as 5 or a share such as 1%%", s)
		}
		return maxFailed{percent: v, isShare: true}, nil
	}
	v, err := strconv.ParseInt(s, 10, 64)
	if err != nil || v < 0 {
		return maxFailed{}, fmt.Errorf("--max-failed %q: want a count such as 5 or a share such as 1%%", s)
	}
	return maxFailed{count: v}, nil
}

// allows reports whether c's new failures are within the bound (a known
// permanent failure found failing the same way again is not new). The
// share is of the IDs the run sent to the API: skipped and invalid ones do
// not count.
func (m maxFailed) allows(c load.Counts) bool {
	if !m.isShare {
		return c.FailedNew() <= m.count
	}
	sent := c.Done() - c.FailedByCode[load.CodeInvalidID]
	return float64(c.FailedNew()) <= m.percent/100*float64(sent)
}

func (m maxFailed) String() string {
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

// runMetrics are the run's Prometheus metrics: every series on every run,
// whatever its outcome. lastSuccess is when the last run that exited 0
// finished (this one if it did), zero when none did.
func runMetrics(r runOutcome, lastSuccess time.Time, constLabels prometheus.Labels) *prometheus.Registry {
	reg := prometheus.NewRegistry()
	gauge := func(name, help string, v float64) {
		g := prometheus.NewGauge(prometheus.GaugeOpts{Name: name, Help: help, ConstLabels: constLabels})
		g.Set(v)
		reg.MustRegister(g)
	}
	vec := func(name, help, label string, values map[string]float64) {
		g := prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: name, Help: help, ConstLabels: constLabels}, []string{label})
		keys := make([]string, 0, len(values))
		for k := range values {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			g.WithLabelValues(k).Set(values[k])
		}
		reg.MustRegister(g)
	}
	c := r.Counts
	success := 0.0
	if !lastSuccess.IsZero() {
		success = float64(lastSuccess.UnixMilli()) / 1000
	}
	gauge("interview_export_last_success_timestamp_seconds", "When the last run that exited 0 finished (0: none yet).", success)
	gauge("interview_export_last_run_timestamp_seconds", "When this run finished.", float64(r.FinishedAt.UnixMilli())/1000)
	gauge("interview_export_duration_seconds", "How long this run took.", c.DurationSeconds)
	gauge("interview_export_exit_status", "The exit status of this run.", float64(r.ExitStatus))
	vec("interview_export_proposals", "Proposals of this run by outcome.", "outcome", map[string]float64{
		"available": float64(c.Available), "no_interview": float64(c.NoInterview), "failed": float64(c.Failed),
		"failed_known": float64(c.FailedKnown),
		"skipped":      float64(c.IDsSkipped), "duplicate": float64(c.IDsDuplicate)})
	failures := map[string]float64{}
	for _, code := range load.Codes {
		failures[code] = 0 // every series on every run
	}
	for code, n := range c.FailedByCode {
		failures[code] = float64(n)
	}
	vec("interview_export_failures", "Failures of this run by error code.", "code", failures)
	gauge("interview_export_requests", "API requests this run sent.", float64(c.Requests))
	gauge("interview_export_retries", "Retries among them.", float64(c.Retries))
	gauge("interview_export_rate_limited", "429 answers this run received.", float64(c.RateLimited))
	gauge("interview_export_messages_written", "Message rows inserted or changed by this run.", float64(c.MessagesWritten))
	if c.RequestRate > 0 {
		gauge("interview_export_request_rate", "The request rate this run settled on, per second.", c.RequestRate)
	}
	return reg
}

// metricsTarget is where a run's metrics go.
type metricsTarget struct {
	textfile                        string
	pushURL, pushUser, pushPassword string
}

// pushTimeout bounds a push: a Pushgateway that hangs costs at most this.
const pushTimeout = 10 * time.Second

// publishMetrics writes the node_exporter textfile and pushes to the
// Pushgateway, as configured.
func publishMetrics(ctx context.Context, t metricsTarget, r runOutcome, lastSuccess time.Time) error {
	var errs []error
	if t.textfile != "" {
		reg := runMetrics(r, lastSuccess, prometheus.Labels{"shard": r.Shard})
		if err := prometheus.WriteToTextfile(t.textfile, reg); err != nil {
			errs = append(errs, fmt.Errorf("write --metrics-textfile %s: %w", t.textfile, err))
		}
	}
	if t.pushURL != "" {
		reg := runMetrics(r, lastSuccess, nil)
		ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), pushTimeout)
		defer cancel()
		p := push.New(t.pushURL, "interview_export").Grouping("shard", r.Shard).Gatherer(reg).
			Client(&http.Client{Timeout: pushTimeout})
		if t.pushUser != "" || t.pushPassword != "" {
			p = p.BasicAuth(t.pushUser, t.pushPassword)
		}
		if err := p.PushContext(ctx); err != nil {
			// The error quotes the URL: never its credentials.
			msg := strings.ReplaceAll(err.Error(), t.pushURL, redactURL(t.pushURL))
			errs = append(errs, fmt.Errorf("push metrics to --pushgateway-url %s: %s", redactURL(t.pushURL), msg))
		}
	}
	return errors.Join(errs...)
}

// previousLastSuccess reads interview_export_last_success_timestamp_seconds
// from the textfile an earlier run wrote; zero when there is none.
func previousLastSuccess(textfile string) time.Time {
	raw, err := os.ReadFile(textfile)
	if err != nil {
		return time.Time{}
	}
	for _, line := range strings.Split(string(raw), "\n") {
		if !strings.HasPrefix(line, "interview_export_last_success_timestamp_seconds") {
			continue
		}
		fields := strings.Fields(line)
		v, err := strconv.ParseFloat(fields[len(fields)-1], 64)
		if err != nil || v <= 0 {
			return time.Time{}
		}
		return time.UnixMilli(int64(v * 1000))
	}
	return time.Time{}
}

// redactURL is u with the password of its userinfo replaced, as every URL
// the program prints.
func redactURL(u string) string {
	parsed, err := url.Parse(u)
	if err != nil || parsed.User == nil {
		return u
	}
	return parsed.Redacted()
}
