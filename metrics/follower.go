package metrics

import (
	"net/http"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Cycle is what one cycle of the follower did.
type Cycle struct {
	Available, NoInterview, Failed, FailedKnown int64
	// Lifecycle counts the cycle's re-checks and removals by action (Actions).
	Lifecycle map[string]int64
	// Requests and RateLimited are the client's totals since it started.
	Requests, RateLimited int64
	// Rate is the pace the client paces at.
	Rate float64
	// Newest is the creation time of the newest feed event read so far.
	Newest time.Time
	// OK is true when the database and the API answered.
	OK  bool
	End time.Time
}

// Follower is the running follower's series: the vocabulary's, as running
// totals (counters named with _total) and gauges, labelled with the shard.
type Follower struct {
	reg       *prometheus.Registry
	shard     string
	proposals *prometheus.CounterVec
	cycles    *prometheus.CounterVec
	lifecycle *prometheus.CounterVec
	now       func() time.Time

	mu                  sync.Mutex
	requests, limited   int64
	rate                float64
	newest, lastSuccess time.Time
	ready               bool
}

// NewFollower registers the series of a follower of shard; now is its
// clock (time.Now in production), for the age of the newest event.
func NewFollower(shard string, now func() time.Time) *Follower {
	m := &Follower{reg: prometheus.NewRegistry(), shard: shard, now: now}
	labels := prometheus.Labels{"shard": shard}
	counters := func(s Series) *prometheus.CounterVec {
		return prometheus.NewCounterVec(prometheus.CounterOpts{Name: s.Name + "_total", Help: s.Help, ConstLabels: labels}, []string{s.Label})
	}
	m.proposals, m.cycles, m.lifecycle = counters(Proposals), counters(Cycles), counters(Lifecycle)
	for _, o := range Outcomes {
		m.proposals.WithLabelValues(o)
	}
	for _, a := range Actions {
		m.lifecycle.WithLabelValues(a)
	}
	m.cycles.WithLabelValues("ok")
	m.cycles.WithLabelValues("failed")
	gauge := func(s Series, f func() float64) prometheus.Collector {
		return prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: s.Name, Help: s.Help, ConstLabels: labels}, m.read(f))
	}
	total := func(s Series, f func() float64) prometheus.Collector {
		return prometheus.NewCounterFunc(prometheus.CounterOpts{Name: s.Name + "_total", Help: s.Help, ConstLabels: labels}, m.read(f))
	}
	m.reg.MustRegister(m.proposals, m.cycles, m.lifecycle,
		total(Requests, func() float64 { return float64(m.requests) }),
		total(RateLimited, func() float64 { return float64(m.limited) }),
		gauge(RequestRate, func() float64 { return m.rate }),
		gauge(LastSuccess, func() float64 { return unix(m.lastSuccess) }),
		gauge(FeedNewestAge, func() float64 {
			if m.newest.IsZero() {
				return 0
			}
			return m.now().Sub(m.newest).Seconds()
		}),
	)
	return m
}

// CountDeliveries adds the webhook's deliveries of result, as n reads them.
func (m *Follower) CountDeliveries(result string, n func() int64) {
	m.reg.MustRegister(prometheus.NewCounterFunc(prometheus.CounterOpts{Name: Deliveries.Name + "_total", Help: Deliveries.Help,
		ConstLabels: prometheus.Labels{"shard": m.shard, Deliveries.Label: result}}, func() float64 { return float64(n()) }))
}

func (m *Follower) read(f func() float64) func() float64 {
	return func() float64 {
		m.mu.Lock()
		defer m.mu.Unlock()
		return f()
	}
}

// Observe records a cycle.
func (m *Follower) Observe(c Cycle) {
	m.proposals.WithLabelValues("available").Add(float64(c.Available))
	m.proposals.WithLabelValues("no_interview").Add(float64(c.NoInterview))
	m.proposals.WithLabelValues("failed").Add(float64(c.Failed))
	m.proposals.WithLabelValues("failed_known").Add(float64(c.FailedKnown))
	for a, n := range c.Lifecycle {
		m.lifecycle.WithLabelValues(a).Add(float64(n))
	}
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

// Ready says whether the database and the API answered in the last cycle.
func (m *Follower) Ready() bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.ready
}

// Handler serves the series in Prometheus's text format.
func (m *Follower) Handler() http.Handler { return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{}) }
