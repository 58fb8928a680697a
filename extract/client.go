package extract

// The Client: one per run, shared by its workers, pacing every request
// through one pace.Pace.

import (
	"context"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync/atomic"

	"github.com/interview-export/interview-export/pace"
)

// Client fetches interviews from the OpenTrain public API. It is safe for
// concurrent use by the workers of one run.
type Client struct {
	cfg     Config
	base    *url.URL
	http    *http.Client
	pace    *pace.Pace
	slowed  atomic.Bool // the WARN that the pace halved was said
	breaker *breaker
	log     *slog.Logger

	requests, retries, rateLimited atomic.Int64
	account                        atomic.Pointer[string]
}

// NewClient checks cfg and returns a client.
func NewClient(cfg Config) (*Client, error) {
	cfg = cfg.withDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	base, _ := url.Parse(strings.TrimRight(cfg.BaseURL, "/")) // Validate parsed it
	transport := cfg.Transport
	if transport == nil {
		t := http.DefaultTransport.(*http.Transport).Clone()
		t.MaxIdleConns = cfg.Concurrency * 2
		t.MaxIdleConnsPerHost = cfg.Concurrency
		t.MaxConnsPerHost = cfg.Concurrency
		t.ResponseHeaderTimeout = cfg.RequestTimeout
		// A transcript is about 10 KB: with the default 4 KB buffer a body
		// took three reads from the socket, with 64 KB most take one.
		t.ReadBufferSize = 64 << 10
		transport = t
	}
	c := &Client{
		cfg:  cfg,
		base: base,
		// The API documents no redirect: one is answered as a failure, never
		// followed, so the token never leaves the configured origin and no
		// answer from elsewhere is stored.
		http: &http.Client{Transport: transport, CheckRedirect: func(*http.Request, []*http.Request) error {
			return http.ErrUseLastResponse
		}},
		breaker: newBreaker(DefaultBreakerStreak, DefaultBreakerIDs, cfg.OutageTimeout, DefaultBreakerProbe),
		log:     cfg.Logger,
	}
	c.pace = pace.MustNew(pace.Config{Ceiling: cfg.Rate, Changed: func(st pace.Status) {
		c.log.LogAttrs(context.Background(), slog.LevelDebug, "request pace changed", slog.Float64("rate_per_s", st.Rate),
			slog.String("phase", st.Phase.String()), slog.String("reason", st.Reason))
	}})
	return c, nil
}

// Stats are the client's request counters since it was made, and the rate
// its pace lets requests leave at now.
type Stats struct {
	Requests, Retries, RateLimited int64
	RatePerSecond                  float64
	// RateReason says why the rate last changed.
	RateReason string
}

// Stats returns the request counters and the current rate.
func (c *Client) Stats() Stats {
	st := c.pace.Status()
	return Stats{Requests: c.requests.Load(), Retries: c.retries.Load(), RateLimited: c.rateLimited.Load(),
		RatePerSecond: st.Rate, RateReason: st.Reason}
}

// Quota returns the API's quota as the client's pace learned it (0 while
// unknown) and whether the API announced it in its headers.
func (c *Client) Quota() (perSecond float64, announced bool) {
	st := c.pace.Status()
	return st.Quota, st.Phase == pace.Announced
}

// Account is the account of the token as GET /auth/me last said
// (CheckToken), "" before it was asked.
func (c *Client) Account() string {
	if a := c.account.Load(); a != nil {
		return *a
	}
	return ""
}

// Pace is the client's pace, to share with the other processes on the
// same account (pace.Share).
func (c *Client) Pace() *pace.Pace { return c.pace }

// warnIfSlowed says, once each time it happens, that the pace fell to half
// or less of what the quota learned allows, and why.
func (c *Client) warnIfSlowed(ctx context.Context) {
	st := c.pace.Status()
	held := st.Quota * pace.DefaultTuning.Hold
	slowed := held > 0 && st.Rate <= 0.55*held
	if slowed && !c.slowed.Swap(true) {
		c.log.LogAttrs(ctx, slog.LevelWarn, "the request rate fell to half or less of what the quota learned allows",
			slog.Float64("rate_per_s", st.Rate), slog.Float64("quota_per_s", st.Quota), slog.String("reason", st.Reason))
	} else if !slowed {
		c.slowed.Store(false)
	}
}

// endpoint joins the base URL and path segments, each percent-escaped as
// one opaque segment: "a/b" becomes a%2Fb, and "." and ".." become %2E and
// %2E%2E so that no client, proxy or server resolves them as dot-segments.
func (c *Client) endpoint(segments ...string) string {
	var b strings.Builder
	b.WriteString(c.base.String())
	for _, s := range segments {
		b.WriteByte('/')
		if s == "." || s == ".." {
			b.WriteString(strings.ReplaceAll(s, ".", "%2E"))
			continue
		}
		b.WriteString(url.PathEscape(s))
	}
	return b.String()
}
