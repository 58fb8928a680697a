package extract

// One GET through the breaker, the pace, timeouts and retries: the loop
// every endpoint goes through.

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"time"
)

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

// backoff returns the delay before retry n (1-based): full jitter over a
// capped exponential.
func (c *Client) backoff(n int) time.Duration {
	ceil := c.cfg.BackoffBase << min(n-1, 30)
	if ceil <= 0 || ceil > c.cfg.BackoffMax {
		ceil = c.cfg.BackoffMax
	}
	return rand.N(ceil) + 1
}
