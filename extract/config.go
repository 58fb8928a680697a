package extract

// Config: what a Client is made from, its defaults and its ranges.

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/interview-export/interview-export/internal/setting"
)

// Config configures a Client. Zero values take the documented defaults.
type Config struct {
	// BaseURL is the API base, e.g. https://app.opentrain.ai/api/public/v1.
	BaseURL string
	// Token is the bearer token. It is only ever put in the Authorization header.
	Token string
	// Concurrency is the number of requests in flight at most (1 to
	// MaxConcurrency); it sizes the connection pool. Default 8.
	Concurrency int
	// Rate is the requests per second across every worker; 0 means no limit
	// until the API answers 429.
	Rate float64
	// MaxAttempts is the number of tries per proposal, the first included;
	// 429s do not count. Default 5.
	MaxAttempts int
	// MaxRateLimited is how many 429s one proposal may receive before it
	// fails with ReasonRateLimited. Default 100.
	MaxRateLimited int
	// RequestTimeout bounds one attempt, body included. Default 30s.
	RequestTimeout time.Duration
	// BackoffBase and BackoffMax shape the retry delays: a random duration
	// between 0 and min(BackoffMax, BackoffBase·2^retry). Defaults 500ms, 30s.
	BackoffBase, BackoffMax time.Duration
	// MaxResponseBytes caps a response body. Default 32 MiB.
	MaxResponseBytes int64
	// MaxRetryAfter is the longest pause a 429's Retry-After may impose; a
	// longer one ends the run with an *UnavailableError. Default 5m.
	MaxRetryAfter time.Duration
	// OutageTimeout is how long after the first failure of a streak (see
	// breaker) an API that keeps failing is given up on. Default 30s.
	OutageTimeout time.Duration
	// UserAgent is sent with every request.
	UserAgent string
	// Logger receives retries and pauses at debug and warn level; never the
	// token or transcript content. Default: discard.
	Logger *slog.Logger
	// Transport overrides the HTTP transport (tests).
	Transport http.RoundTripper
	// BodyBudget, when set, bounds the transcript bodies held at once: the
	// client reserves a 200 body's size before reading it, and the Answer
	// carries the reservation (Answer.Reserved) for the caller to release.
	BodyBudget BodyBudget
}

// BodyBudget bounds the bytes of transcripts held at once (see
// Config.BodyBudget). Acquire returns how many bytes it reserved.
type BodyBudget interface {
	Acquire(ctx context.Context, n int64) (int64, error)
	Release(n int64)
}

// Defaults of Config, also the command line's.
const (
	DefaultConcurrency      = 8
	DefaultRate             = 10.0
	DefaultMaxAttempts      = 5
	DefaultMaxRateLimited   = 100
	DefaultRequestTimeout   = 30 * time.Second
	DefaultBackoffBase      = 500 * time.Millisecond
	DefaultBackoffMax       = 30 * time.Second
	DefaultMaxResponseBytes = 32 << 20
)

// ErrConfig is wrapped by every error NewClient returns: the configuration
// is wrong, and no retry will help. A setting out of its range is also a
// *setting.Error.
var ErrConfig = errors.New("API client configuration")

// MaxConcurrency is the most requests in flight a Config accepts.
const MaxConcurrency = 1000

// MinResponseBytes is the smallest MaxResponseBytes a Config accepts: an
// error envelope must fit.
const MinResponseBytes = 1024

// withDefaults returns cfg with each zero setting at its default.
func (cfg Config) withDefaults() Config {
	cfg.Concurrency = setting.Or(cfg.Concurrency, DefaultConcurrency)
	cfg.MaxAttempts = setting.Or(cfg.MaxAttempts, DefaultMaxAttempts)
	cfg.MaxRateLimited = setting.Or(cfg.MaxRateLimited, DefaultMaxRateLimited)
	cfg.RequestTimeout = setting.Or(cfg.RequestTimeout, DefaultRequestTimeout)
	cfg.BackoffBase = setting.Or(cfg.BackoffBase, DefaultBackoffBase)
	cfg.BackoffMax = setting.Or(cfg.BackoffMax, DefaultBackoffMax)
	cfg.MaxResponseBytes = setting.Or(cfg.MaxResponseBytes, DefaultMaxResponseBytes)
	cfg.MaxRetryAfter = setting.Or(cfg.MaxRetryAfter, DefaultMaxRetryAfter)
	cfg.OutageTimeout = setting.Or(cfg.OutageTimeout, DefaultOutageTimeout)
	cfg.UserAgent = setting.Or(cfg.UserAgent, "interview-export")
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	return cfg
}

// Validate checks the settings NewClient would use: each zero setting
// stands for its default, and the rest must be in range. Its errors wrap
// ErrConfig; a setting out of range is a *setting.Error.
func (cfg Config) Validate() error {
	cfg = cfg.withDefaults()
	base, err := url.Parse(strings.TrimRight(cfg.BaseURL, "/"))
	switch {
	case err != nil:
		return fmt.Errorf("%w: the API base URL is not a URL: want an absolute http(s) URL such as https://app.opentrain.ai/api/public/v1", ErrConfig)
	case (base.Scheme != "http" && base.Scheme != "https") || base.Host == "":
		return fmt.Errorf("%w: API base URL %q: want an absolute http(s) URL such as https://app.opentrain.ai/api/public/v1", ErrConfig, base.Redacted())
	case base.User != nil:
		return fmt.Errorf("%w: the API base URL must not carry credentials (user:password@); the token goes in the Authorization header only", ErrConfig)
	case cfg.Token == "":
		return fmt.Errorf("%w: no API token", ErrConfig)
	}
	err = setting.Check(
		setting.Rule{OK: cfg.Concurrency >= 1 && cfg.Concurrency <= MaxConcurrency, Name: "Concurrency", Value: cfg.Concurrency, Want: fmt.Sprintf("1 to %d", MaxConcurrency)},
		setting.Rule{OK: cfg.Rate >= 0 && !math.IsInf(cfg.Rate, 0), Name: "Rate", Value: cfg.Rate, Want: "0 (no limit) or more"},
		setting.Rule{OK: cfg.MaxAttempts >= 1, Name: "MaxAttempts", Value: cfg.MaxAttempts, Want: "1 or more"},
		setting.Rule{OK: cfg.MaxRateLimited >= 1, Name: "MaxRateLimited", Value: cfg.MaxRateLimited, Want: "1 or more"},
		setting.Positive("RequestTimeout", cfg.RequestTimeout),
		setting.Positive("BackoffBase", cfg.BackoffBase),
		setting.Rule{OK: cfg.BackoffMax >= cfg.BackoffBase, Name: "BackoffMax", Value: cfg.BackoffMax, Want: fmt.Sprintf("at least BackoffBase (%s)", cfg.BackoffBase)},
		setting.Rule{OK: cfg.MaxResponseBytes >= MinResponseBytes, Name: "MaxResponseBytes", Value: cfg.MaxResponseBytes, Want: fmt.Sprintf("at least %d", MinResponseBytes)},
		setting.Positive("MaxRetryAfter", cfg.MaxRetryAfter),
		setting.Positive("OutageTimeout", cfg.OutageTimeout),
	)
	if err != nil {
		return fmt.Errorf("%w: %w", ErrConfig, err)
	}
	return nil
}
