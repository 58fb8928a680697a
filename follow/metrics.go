package follow

import (
	"net/http"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Cycle is what one cycle of the follower did, for the metrics.
type Cycle struct {
	Available, NoInterview, Failed, FailedKnown int64
	// Requests and RateLimited are the client's totals since it started.
	Requests, RateLimited int64
	// Rate is the pace the client settled on (0: unlimited).
	Rate float64
	// Newest is the creation time of the newest feed event read so far.
	Newest time.Time
	// OK is true when the database and the API answered.
	OK  bool
	End time.Time
}

// Metrics are the running follower's Prometheus series, named as the
// nightly run's textfile names them (interview_export_…), as running
// totals, with its readiness.
type Metrics struct {
	reg       *prometheus.Registry
	proposals *prometheus.CounterVec
	cycles    *prometheus.CounterVec

	mu                  sync.Mutex
	requests, limited   int64
	rate                float64
	newest, lastSuccess time.Time
	ready               bool
}

// NewMetrics registers the series, labelled with the shard, and the
// webhook's delivery counts when h is not nil.
func NewMetrics(shard string, h *WebhookHandler) *Metrics {
	m := &Metrics{reg: prometheus.NewRegistry()}
	labels := prometheus.Labels{"shard": shard}
	m.proposals = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "interview_export_proposals_total",
		Help: "Proposals the follower gave an outcome, by outcome.", ConstLabels: labels}, []string{"outcome"})
	m.cycles = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "interview_export_cycles_total",
		Help: "Cycles of the follower (a read of the feed and the export of what it said), by result.", ConstLabels: labels}, []string{"result"})
	for _, o := range []string{"available", "no_interview", "failed", "failed_known"} {
		m.proposals.WithLabelValues(o)
	}
	m.cycles.WithLabelValues("ok")
	m.cycles.WithLabelValues("failed")
	gauge := func(name, help string, f func() float64) prometheus.Collector {
		return prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: name, Help: help, ConstLabels: labels}, f)
	}
	total := func(name, help string, f func() float64) prometheus.Collector {
		return prometheus.NewCounterFunc(prometheus.CounterOpts{Name: name, Help: help, ConstLabels: labels}, f)
	}
	m.reg.MustRegister(m.proposals, m.cycles,
		total("interview_export_requests_total", "API requests sent.", m.read(func() float64 { return float64(m.requests) })),
		total("interview_export_rate_limited_total", "429 answers received.", m.read(func() float64 { return float64(m.limited) })),
		gauge("interview_export_request_rate", "The request rate the follower paces at, per second (0: unlimited).", m.read(func() float64 { return m.rate })),
		gauge("interview_export_last_success_timestamp_seconds", "When the last cycle in which the database and the API answered ended (0: none yet).",
			m.read(func() float64 { return unix(m.lastSuccess) })),
		gauge("interview_export_feed_newest_event_age_seconds", "Age of the newest change-feed event read (0: none yet).",
			m.read(func() float64 {
				if m.newest.IsZero() {
					return 0
				}
				return time.Since(m.newest).Seconds()
			})),
	)
	if h != nil {
		deliveries := func(result string, c *counter) prometheus.Collector {
			return prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "interview_export_webhook_deliveries_total",
				Help: "Webhook deliveries received, by result.", ConstLabels: prometheus.Labels{"shard": shard, "result": result}},
				func() float64 { return float64(c.Load()) })
		}
		m.reg.MustRegister(deliveries("accepted", &h.Accepted), deliveries("duplicate", &h.Duplicates), deliveries("refused", &h.Refused))
	}
	return m
}

func (m *Metrics) read(f func() float64) func() float64 {
	return func() float64 {
		m.mu.Lock()
		defer m.mu.Unlock()
		return f()
	}
}

func unix(t time.Time) float64 {
	if t.IsZero() {
		return 0
	}
	return float64(t.UnixMilli()) / 1000
}

// Observe records a cycle.
func (m *Metrics) Observe(c Cycle) {
	m.proposals.WithLabelValues("available").Add(float64(c.Available))
	m.proposals.WithLabelValues("no_interview").Add(float64(c.NoInterview))
	m.proposals.WithLabelValues("failed").Add(float64(c.Failed))
	m.proposals.WithLabelValues("failed_known").Add(float64(c.FailedKnown))
	result := "failed"
	if c.OK {
		result = "ok"
	}
	m.cycles.WithLabelValues(result).Inc()
	m.mu.Lock()
	defer m.mu.Unlock()
	m.requests, m.limited, m.rate, m.ready = max(m.requests, c.Requests), max(m.limited, c.RateLimited), c.Rate, c.OK
	if c.Newest.After(m.newest) {
		m.newest = c.Newest
	}
	if c.OK {
		m.lastSuccess = c.End
	}
}

// Handler serves /metrics, /healthz (alive) and /readyz (the database and
// the API answered in the last cycle), and /webhooks/opentrain when h is
// not nil.
func (m *Metrics) Handler(h *WebhookHandler) http.Handler {
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{}))
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) { w.Write([]byte("ok\n")) })
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, _ *http.Request) {
		m.mu.Lock()
		ready := m.ready
		m.mu.Unlock()
		if !ready {
			http.Error(w, "the last cycle could not reach the database or the API", http.StatusServiceUnavailable)
			return
		}
		w.Write([]byte("ready\n"))
	})
	if h != nil {
		mux.Handle("/webhooks/opentrain", h)
	}
	return mux
}
