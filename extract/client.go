package extract

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync/atomic"
	"time"

	"github.com/interview-export/interview-export/internal/setting"
	"github.com/interview-export/interview-export/pace"
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

// Answer is the API's final answer about one proposal's interview.
type Answer struct {
	ProposalID string
	// NoInterview is true for a 404 with the API's error envelope.
	NoInterview bool
	// Body is the 200 response body, to be decoded by package transform.
	Body []byte
	// RequestID is the envelope's requestId of a 404, if any.
	RequestID string
	// Attempts counts requests made, 429s excluded.
	Attempts   int
	ReceivedAt time.Time
	// Reserved is what the body holds of Config.BodyBudget: the caller
	// releases it once done with the transcript.
	Reserved int64
}

// Interview fetches GET /proposals/{id}/interview. It returns an Answer for
// a 200 or an enveloped 404, ErrUnauthorized for a 401, a context error when
// ctx ends, and a *FetchError for every other outcome once retries are spent.
func (c *Client) Interview(ctx context.Context, proposalID string) (Answer, error) {
	u := c.endpoint("proposals", proposalID, "interview")
	r, err := c.get(ctx, proposalID, u)
	if err != nil {
		return Answer{}, err
	}
	a := Answer{ProposalID: proposalID, Attempts: r.attempts, ReceivedAt: r.at}
	switch r.status {
	case http.StatusOK:
		a.Body, a.Reserved = r.body, r.reserved
		return a, nil
	case http.StatusNotFound:
		env, ok := parseEnvelope(r.body)
		if !ok || env.Code != "NOT_FOUND" {
			return Answer{}, &FetchError{ProposalID: proposalID, Reason: ReasonNotFoundNoEnvelope, HTTPStatus: r.status,
				APICode: env.Code, RequestID: env.RequestID, Attempts: r.attempts,
				Detail: fmt.Sprintf("404 without the API's NOT_FOUND error envelope (Content-Type %q): a proxy page or a wrong OT_API_URL, not \"no interview\"", r.contentType)}
		}
		a.NoInterview = true
		a.RequestID = env.RequestID
		return a, nil
	}
	return Answer{}, c.statusError(proposalID, r)
}

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

// Identity is what GET /auth/me says of the token.
type Identity struct {
	Scopes []string
	// Account is the account the token belongs to: its organization ID,
	// or its owner's user ID for a personal account. The quota is the
	// account's: every process on it shares one pace (pace.Board).
	Account string
}

// CheckToken calls GET /auth/me and checks that the token carries every
// scope in required (a :write scope implies its :read). It returns
// ErrUnauthorized for a rejected token and an error wrapping ErrScopeMissing
// when a scope is missing.
func (c *Client) CheckToken(ctx context.Context, required ...string) (Identity, error) {
	r, err := c.get(ctx, "", c.endpoint("auth", "me"))
	if err != nil {
		return Identity{}, fmt.Errorf("check token with GET /auth/me: %w", unavailableIfTransient(err))
	}
	if r.status != http.StatusOK {
		return Identity{}, fmt.Errorf("check token with GET /auth/me: %w", c.statusError("", r))
	}
	var me struct {
		Token struct {
			ID                  string   `json:"id"`
			Scopes              []string `json:"scopes"`
			OwnerOrganizationID string   `json:"ownerOrganizationId"`
		} `json:"token"`
		Account struct {
			OrganizationID string `json:"organizationId"`
			OwnerUserID    string `json:"ownerUserId"`
		} `json:"account"`
	}
	if err := json.Unmarshal(r.body, &me); err != nil {
		return Identity{}, fmt.Errorf("check token with GET /auth/me: unexpected response: %v", err)
	}
	id := Identity{Scopes: me.Token.Scopes, Account: cmp.Or(me.Account.OrganizationID, me.Token.OwnerOrganizationID, me.Account.OwnerUserID)}
	if id.Account == "" && me.Token.ID != "" {
		id.Account = "token:" + me.Token.ID // no account said: the token's own quota
	}
	c.account.Store(&id.Account)
	var missing []string
	for _, s := range required {
		write := strings.TrimSuffix(s, ":read") + ":write"
		if !slices.Contains(id.Scopes, s) && !slices.Contains(id.Scopes, write) {
			missing = append(missing, s)
		}
	}
	if len(missing) > 0 {
		return id, fmt.Errorf("%w: it has [%s] but the export needs [%s]; create a token with these scopes",
			ErrScopeMissing, strings.Join(id.Scopes, " "), strings.Join(missing, " "))
	}
	return id, nil
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

// eachListed calls each with every item under key of every page of a
// cursor-paginated listing, following nextCursor until it is null.
func (c *Client) eachListed(ctx context.Context, what, endpoint, key string, each func(item json.RawMessage) error) error {
	cursor := ""
	for {
		q := url.Values{"limit": {"100"}}
		if cursor != "" {
			q.Set("cursor", cursor)
		}
		var page map[string]json.RawMessage
		if err := c.getJSON(ctx, what, endpoint+"?"+q.Encode(), &page); err != nil {
			return err
		}
		var items []json.RawMessage
		if err := json.Unmarshal(page[key], &items); err != nil {
			return fmt.Errorf("%s: unexpected response: no %q array", what, key)
		}
		var next *string
		if raw, ok := page["nextCursor"]; ok {
			if err := json.Unmarshal(raw, &next); err != nil {
				return fmt.Errorf("%s: unexpected response: nextCursor is not a string or null", what)
			}
		}
		for _, it := range items {
			if err := each(it); err != nil {
				return err
			}
		}
		if next == nil || *next == "" {
			return nil
		}
		if *next == cursor {
			return fmt.Errorf("%s: the listing returned the same nextCursor twice; stopping rather than looping", what)
		}
		cursor = *next
	}
}

// getJSON performs GET u (a listing or the feed: not a proposal's own
// request) and decodes its 200 body into v. A 4xx other than 401 wraps
// ErrListingRefused; an outage is an *UnavailableError.
func (c *Client) getJSON(ctx context.Context, what, u string, v any) error {
	r, err := c.get(ctx, "", u)
	if err != nil {
		return fmt.Errorf("%s: %w", what, unavailableIfTransient(err))
	}
	if r.status != http.StatusOK {
		err := c.statusError("", r)
		if r.status >= 400 && r.status < 500 && !errors.Is(err, ErrUnauthorized) {
			return fmt.Errorf("%w: %s: %w", ErrListingRefused, what, err)
		}
		return fmt.Errorf("%s: %w", what, err)
	}
	if err := json.Unmarshal(r.body, v); err != nil {
		return fmt.Errorf("%s: unexpected response: %v", what, err)
	}
	return nil
}

// response is one complete HTTP answer that ended the retry loop.
type response struct {
	status      int
	body        []byte
	contentType string
	location    string
	retryAfter  string
	attempts    int
	at          time.Time
	// reserved is what a transcript's body holds of Config.BodyBudget.
	reserved int64
}

// get performs GET u with the breaker, the pace, timeouts and retries, and
// returns the first answer that is not worth retrying. proposalID labels
// errors. Waits before a request leaves (the breaker, the pace, a backoff)
// end with the queue context (see WithQueue); a request in flight runs
// under ctx.
func (c *Client) get(ctx context.Context, proposalID, u string) (response, error) {
	queue, done := queueOf(ctx)
	defer done()
	attempts, limited := 0, 0
	var last *FetchError
	for {
		probe, err := c.breaker.allow(queue)
		if err != nil {
			return response{}, err
		}
		if err := c.pace.Wait(queue); err != nil {
			c.breaker.released(probe)
			return response{}, err
		}
		attempts++
		c.requests.Add(1)
		sentAt := time.Now()
		r, ferr := c.attempt(ctx, u, proposalID != "")
		if ctxErr := ctx.Err(); ctxErr != nil {
			c.breaker.released(probe)
			return response{}, ctxErr
		}
		r.attempts = attempts
		if c.observe(probe, sentAt, proposalID, r, ferr) && c.breaker.isOpen() {
			// The API looks down: this answer says nothing of the proposal.
			// Wait for the breaker (a probe's success, or giving up).
			attempts--
			continue
		}
		var retry bool
		switch {
		case ferr != nil:
			last, retry = ferr, ferr.Reason != ReasonResponseTooLarge
			last.ProposalID, last.Attempts = proposalID, attempts
		case r.status == http.StatusTooManyRequests:
			attempts-- // a 429 is the API pacing us, not a failed attempt
			limited++
			c.rateLimited.Add(1)
			now := time.Now()
			wait := parseRetryAfter(r.retryAfter, now)
			if wait > c.cfg.MaxRetryAfter {
				return response{}, &UnavailableError{RetryAt: now.Add(wait),
					Reason: fmt.Sprintf("it answered 429 and asks to wait %s (until %s), longer than the %s allowed",
						wait.Round(time.Second), now.Add(wait).UTC().Format(time.RFC3339), c.cfg.MaxRetryAfter)}
			}
			if wait > 0 {
				c.pace.Limited(now, wait)
				c.warnIfSlowed(ctx)
				c.log.LogAttrs(ctx, slog.LevelDebug, "rate limited by the API; pausing all requests",
					slog.String("proposal_id", proposalID), slog.Duration("retry_after", wait))
			} else {
				// No Retry-After: this request backs off alone; the pace
				// weighs such 429s against the pace.
				c.pace.Refused(now)
				c.warnIfSlowed(ctx)
				if err := sleep(queue, c.backoff(limited)); err != nil {
					return response{}, err
				}
			}
			if limited >= c.cfg.MaxRateLimited {
				env, _ := parseEnvelope(r.body)
				return response{}, &FetchError{ProposalID: proposalID, Reason: ReasonRateLimited, HTTPStatus: r.status,
					APICode: env.Code, RequestID: env.RequestID, Attempts: attempts,
					Detail: fmt.Sprintf("answered 429 %d times in a row", limited)}
			}
			continue
		case r.status >= 500 || r.status == http.StatusRequestTimeout:
			env, _ := parseEnvelope(r.body)
			last = &FetchError{ProposalID: proposalID, Reason: ReasonServerError, HTTPStatus: r.status,
				APICode: env.Code, RequestID: env.RequestID, Attempts: attempts, Detail: serverDetail(r, env)}
			retry = true
		default:
			return r, nil
		}
		if !retry || attempts >= c.cfg.MaxAttempts {
			return response{}, last
		}
		c.retries.Add(1)
		delay := c.backoff(attempts)
		c.log.LogAttrs(ctx, slog.LevelDebug, "retrying", slog.String("proposal_id", proposalID),
			slog.String("error_code", string(last.Reason)), slog.Int("http_status", last.HTTPStatus),
			slog.Int("attempt", attempts), slog.Duration("delay", delay))
		if err := sleep(queue, delay); err != nil {
			return response{}, err
		}
	}
}

// observe tells the breaker how a request went, and reports whether it
// failed the way an outage fails: a connection error, a timeout, a cut body,
// a 5xx or a 404 without the API's envelope (a proxy in front of a dead
// API). A 429 or a redirect says nothing either way; anything else is the
// API answering.
func (c *Client) observe(probe bool, sentAt time.Time, proposalID string, r response, ferr *FetchError) (outage bool) {
	var problem string
	switch {
	case ferr != nil && ferr.Reason != ReasonResponseTooLarge:
		problem = string(ferr.Reason) + ": " + ferr.Detail
	case ferr != nil:
	case r.status == http.StatusTooManyRequests, r.status >= 300 && r.status < 400:
		c.breaker.released(probe)
		return false
	case r.status >= 500 || r.status == http.StatusRequestTimeout:
		problem = fmt.Sprintf("HTTP %d", r.status)
	case r.status == http.StatusNotFound:
		if _, ok := parseEnvelope(r.body); !ok {
			problem = "HTTP 404 without the API's error envelope"
		}
	}
	if problem == "" {
		c.breaker.succeeded(probe, sentAt)
		return false
	}
	if c.breaker.failed(probe, proposalID, problem) {
		c.log.LogAttrs(context.Background(), slog.LevelWarn, "requests keep failing; pausing all requests and probing the API",
			slog.String("last_problem", problem))
	}
	return true
}

// attempt makes one request. A non-nil *FetchError is a retryable transport
// problem; any complete response comes back as is.
func (c *Client) attempt(ctx context.Context, u string, transcript bool) (response, *FetchError) {
	ctx, cancel := context.WithTimeout(ctx, c.cfg.RequestTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return response{}, &FetchError{Reason: ReasonNetworkError, Detail: "build request: " + err.Error(), Err: err}
	}
	req.Header.Set("Authorization", "Bearer "+c.cfg.Token)
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", c.cfg.UserAgent)
	resp, err := c.http.Do(req)
	if err != nil {
		return response{}, transportError(ctx, err)
	}
	defer resp.Body.Close()
	limit := c.cfg.MaxResponseBytes
	if resp.StatusCode != http.StatusOK {
		limit = min(limit, 1<<20) // error bodies are small envelopes
	}
	var reserved int64 // released here unless the body is returned
	if c.cfg.BodyBudget != nil && transcript && resp.StatusCode == http.StatusOK {
		size := limit
		if resp.ContentLength >= 0 {
			size = min(resp.ContentLength, limit)
		}
		if reserved, err = c.cfg.BodyBudget.Acquire(ctx, size); err != nil {
			return response{}, transportError(ctx, err)
		}
		defer func() {
			if reserved > 0 {
				c.cfg.BodyBudget.Release(reserved)
			}
		}()
	}
	body, err := readBody(resp, limit)
	c.pace.Announce(time.Now(), announcedQuota(resp.Header))
	r := response{status: resp.StatusCode, contentType: c.redact(resp.Header.Get("Content-Type")),
		location: c.redact(resp.Header.Get("Location")), retryAfter: resp.Header.Get("Retry-After"), at: time.Now()}
	if err != nil {
		fe := transportError(ctx, err)
		fe.HTTPStatus = resp.StatusCode
		if errors.Is(err, io.ErrUnexpectedEOF) {
			fe.Reason, fe.Detail = ReasonTruncatedBody, fmt.Sprintf("body ended after %d bytes", len(body))
		}
		return r, fe
	}
	if int64(len(body)) > limit {
		if resp.StatusCode != http.StatusOK {
			body = body[:limit]
		} else {
			// Not retried: the same transcript will be as large next time.
			return response{status: -1}, &FetchError{Reason: ReasonResponseTooLarge, HTTPStatus: resp.StatusCode,
				Detail: fmt.Sprintf("response body over %d bytes, the configured maximum response size", limit)}
		}
	}
	// A body delimited by the connection's close cannot show truncation at the
	// HTTP layer: an incomplete JSON document there is a dropped connection.
	if resp.StatusCode == http.StatusOK && resp.ContentLength < 0 && len(resp.TransferEncoding) == 0 && resp.Close {
		if err := json.NewDecoder(bytes.NewReader(body)).Decode(new(json.RawMessage)); errors.Is(err, io.ErrUnexpectedEOF) {
			return r, &FetchError{Reason: ReasonTruncatedBody, HTTPStatus: resp.StatusCode,
				Detail: fmt.Sprintf("connection closed after %d bytes of an incomplete JSON body", len(body))}
		}
	}
	r.body, r.reserved = c.redactBytes(body), reserved
	reserved = 0 // the caller's now
	return r, nil
}

// readBody reads at most limit+1 bytes of the body, into one buffer sized
// by Content-Length when the server sent one (no regrowth, no copies).
func readBody(resp *http.Response, limit int64) ([]byte, error) {
	size := int64(512)
	if resp.ContentLength > 0 {
		size = min(resp.ContentLength, limit) + 1
	}
	buf := bytes.NewBuffer(make([]byte, 0, size))
	_, err := buf.ReadFrom(io.LimitReader(resp.Body, limit+1))
	return buf.Bytes(), err
}

// redactBytes removes the token from what the API sent, should it echo it
// (an error page quoting the request's Authorization header): every text
// that enters the program from the API goes through here or redact, so no
// table, file, stdout line or log can hold it.
func (c *Client) redactBytes(b []byte) []byte {
	if !bytes.Contains(b, []byte(c.cfg.Token)) {
		return b
	}
	return bytes.ReplaceAll(b, []byte(c.cfg.Token), []byte(Redacted))
}

func (c *Client) redact(s string) string { return strings.ReplaceAll(s, c.cfg.Token, Redacted) }

// Redacted stands where a secret was removed.
const Redacted = "[REDACTED]"

// transportError classifies a request or body-read error.
func transportError(ctx context.Context, err error) *FetchError {
	var ne net.Error
	if errors.Is(ctx.Err(), context.DeadlineExceeded) || (errors.As(err, &ne) && ne.Timeout()) {
		return &FetchError{Reason: ReasonTimeout, Detail: "no complete answer within the request timeout", Err: err}
	}
	// url.Error repeats the URL, which is harmless (no credentials), but the
	// inner error is what a person needs.
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err
	}
	return &FetchError{Reason: ReasonNetworkError, Detail: err.Error(), Err: err}
}

// statusError turns a final non-success answer into an error.
func (c *Client) statusError(proposalID string, r response) error {
	env, enveloped := parseEnvelope(r.body)
	fe := &FetchError{ProposalID: proposalID, HTTPStatus: r.status, APICode: env.Code, RequestID: env.RequestID, Attempts: r.attempts}
	if enveloped {
		fe.Detail = envelopeDetail(env)
	} else {
		fe.Detail = fmt.Sprintf("answer without the API's error envelope (Content-Type %q)", r.contentType)
	}
	switch {
	case r.status >= 300 && r.status < 400:
		fe.Reason = ReasonUnexpectedRedirect
		fe.Detail = fmt.Sprintf("redirected to %q: the API documents no redirect, so none is followed (the token only goes to %s)",
			r.location, c.base.Scheme+"://"+c.base.Host)
		return fe
	case r.status == http.StatusUnauthorized:
		fe.Reason = ReasonUnauthorized
		return fmt.Errorf("%w: %w", ErrUnauthorized, fe)
	case r.status == http.StatusForbidden:
		fe.Reason = ReasonForbidden
	case r.status == http.StatusBadRequest:
		fe.Reason = ReasonBadRequest
	default:
		fe.Reason = ReasonUnexpectedStatus
	}
	return fe
}

func serverDetail(r response, env Envelope) string {
	if env.Message != "" {
		return env.Message
	}
	return fmt.Sprintf("HTTP %d (Content-Type %q)", r.status, r.contentType)
}

// backoff returns the delay before retry n (1-based): full jitter over a
// capped exponential.
func (c *Client) backoff(n int) time.Duration {
	ceil := c.cfg.BackoffBase << min(n-1, 30)
	if ceil <= 0 || ceil > c.cfg.BackoffMax {
		ceil = c.cfg.BackoffMax
	}
	return rand.N(ceil) + 1
}
