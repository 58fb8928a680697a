package metrics

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/push"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/interview-export/interview-export/internal/sanitize"
)

// Run is what one batch run reports: every series on every run, whatever
// its outcome.
type Run struct {
	Shard                 string
	FinishedAt            time.Time
	LastSuccess           time.Time // of the shard's last run that exited 0 (this one if it did); zero when none did
	Duration              time.Duration
	ExitStatus            int
	Proposals             map[string]int64 // by outcome
	Failures              map[string]int64 // by code, every code present
	Requests, Retries     int64
	RateLimited, Messages int64
	RequestRate           float64          // 0: not paced
	Lifecycle             map[string]int64 // by action (Actions)
}

// Registry holds r's series as gauges, with constLabels on each.
func (r Run) Registry(constLabels prometheus.Labels) *prometheus.Registry {
	reg := prometheus.NewRegistry()
	gauge := func(s Series, v float64) {
		g := prometheus.NewGauge(prometheus.GaugeOpts{Name: s.Name, Help: s.Help, ConstLabels: constLabels})
		g.Set(v)
		reg.MustRegister(g)
	}
	vec := func(s Series, values map[string]int64) {
		g := prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: s.Name, Help: s.Help, ConstLabels: constLabels}, []string{s.Label})
		for _, k := range slices.Sorted(maps.Keys(values)) {
			g.WithLabelValues(k).Set(float64(values[k]))
		}
		reg.MustRegister(g)
	}
	gauge(LastSuccess, unix(r.LastSuccess))
	gauge(LastRun, unix(r.FinishedAt))
	gauge(Duration, r.Duration.Seconds())
	gauge(ExitStatus, float64(r.ExitStatus))
	proposals := map[string]int64{}
	for _, o := range Outcomes {
		proposals[o] = 0
	}
	maps.Copy(proposals, r.Proposals)
	vec(Proposals, proposals)
	vec(Failures, r.Failures)
	lifecycle := map[string]int64{}
	for _, a := range Actions {
		lifecycle[a] = 0
	}
	maps.Copy(lifecycle, r.Lifecycle)
	vec(Lifecycle, lifecycle)
	gauge(Requests, float64(r.Requests))
	gauge(Retries, float64(r.Retries))
	gauge(RateLimited, float64(r.RateLimited))
	gauge(MessagesWritten, float64(r.Messages))
	if r.RequestRate > 0 {
		gauge(RequestRate, r.RequestRate)
	}
	return reg
}

// Target is where a run's metrics go: a node_exporter textfile, a
// Pushgateway (with basic auth when a user or password is set), or both.
type Target struct {
	Textfile                        string
	PushURL, PushUser, PushPassword string
}

// pushTimeout bounds a push: a Pushgateway that hangs costs at most this.
const pushTimeout = 10 * time.Second

// Publish writes the textfile and pushes to the Pushgateway, as t says.
func Publish(ctx context.Context, t Target, r Run) error {
	var errs []error
	if t.Textfile != "" {
		if err := prometheus.WriteToTextfile(t.Textfile, r.Registry(prometheus.Labels{"shard": r.Shard})); err != nil {
			errs = append(errs, fmt.Errorf("write --metrics-textfile %s: %w", t.Textfile, err))
		}
	}
	if t.PushURL != "" {
		ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), pushTimeout)
		defer cancel()
		p := push.New(t.PushURL, "interview_export").Grouping("shard", r.Shard).Gatherer(r.Registry(nil)).
			Client(&http.Client{Timeout: pushTimeout})
		if t.PushUser != "" || t.PushPassword != "" {
			p = p.BasicAuth(t.PushUser, t.PushPassword)
		}
		if err := p.PushContext(ctx); err != nil {
			// The error quotes the URL: never its credentials.
			msg := strings.ReplaceAll(err.Error(), t.PushURL, sanitize.URL(t.PushURL))
			errs = append(errs, fmt.Errorf("push metrics to --pushgateway-url %s: %s", sanitize.URL(t.PushURL), msg))
		}
	}
	return errors.Join(errs...)
}

// PreviousLastSuccess reads LastSuccess from a textfile an earlier run
// wrote, with Prometheus's own text parser; zero when there is none.
func PreviousLastSuccess(textfile string) time.Time {
	f, err := os.Open(textfile)
	if err != nil {
		return time.Time{}
	}
	defer f.Close()
	parser := expfmt.NewTextParser(model.UTF8Validation)
	families, err := parser.TextToMetricFamilies(f)
	if err != nil {
		return time.Time{}
	}
	fam, ok := families[LastSuccess.Name]
	if !ok || len(fam.GetMetric()) == 0 {
		return time.Time{}
	}
	if v := fam.GetMetric()[0].GetGauge().GetValue(); v > 0 {
		return time.UnixMilli(int64(v * 1000))
	}
	return time.Time{}
}

func unix(t time.Time) float64 {
	if t.IsZero() {
		return 0
	}
	return float64(t.UnixMilli()) / 1000
}
