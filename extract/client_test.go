package extract_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/interview-export/interview-export/extract"
	"github.com/interview-export/interview-export/internal/fakeapi"
)

const token = "ot_pat_secret_for_tests_0123456789"

func newFake(t *testing.T, cfg fakeapi.Config) (*fakeapi.Server, string) {
	t.Helper()
	cfg.Token = token
	return fakeapi.Start(t, cfg)
}

func newClient(t *testing.T, base string, mod func(*extract.Config)) *extract.Client {
	t.Helper()
	cfg := extract.Config{BaseURL: base, Token: token, Concurrency: 4, MaxAttempts: 3,
		RequestTimeout: 2 * time.Second, BackoffBase: time.Millisecond, BackoffMax: 5 * time.Millisecond}
	if mod != nil {
		mod(&cfg)
	}
	c, err := extract.NewClient(cfg)
	require.NoError(t, err)
	return c
}

func fetchErr(t *testing.T, err error) *extract.FetchError {
	t.Helper()
	var fe *extract.FetchError
	require.ErrorAs(t, err, &fe)
	assert.NotContains(t, fe.Error(), token)
	return fe
}

func TestInterviewOutcomes(t *testing.T) {
	t.Parallel()
	fake, base := newFake(t, fakeapi.Config{})
	c := newClient(t, base, nil)
	ctx := context.Background()

	a, err := c.Interview(ctx, "available-1")
	require.NoError(t, err)
	assert.False(t, a.NoInterview)
	assert.Equal(t, 1, a.Attempts)
	assert.Contains(t, string(a.Body), `"interview"`)

	a, err = c.Interview(ctx, "notfound-1")
	require.NoError(t, err)
	assert.True(t, a.NoInterview, "enveloped 404 is no interview")
	assert.NotEmpty(t, a.RequestID)

	tests := []struct {
		id       string
		code     extract.Reason
		status   int
		attempts int
	}{
		{"html404-1", extract.ReasonNotFoundNoEnvelope, 404, 1},
		{"forbidden-1", extract.ReasonForbidden, 403, 1},
		{"badrequest-1", extract.ReasonBadRequest, 400, 1},
		{"always500-1", extract.ReasonServerError, 500, 3},
	}
	for _, tt := range tests {
		_, err := c.Interview(ctx, tt.id)
		fe := fetchErr(t, err)
		assert.Equal(t, tt.code, fe.Reason, tt.id)
		assert.Equal(t, tt.status, fe.HTTPStatus, tt.id)
		assert.Equal(t, tt.attempts, fe.Attempts, tt.id)
		if tt.status != 404 {
			assert.NotEmpty(t, fe.RequestID, "%s: requestId kept from the envelope", tt.id)
		}
	}
	assert.Equal(t, int64(2+4+2), c.Stats().Requests)
	assert.Equal(t, int64(2), c.Stats().Retries)
	assert.Equal(t, int64(1+1+1+1+1+3), fake.Stats().InterviewRequests)
}

func TestTransientFaultsAreRetried(t *testing.T) {
	t.Parallel()
	faults := map[string]fakeapi.Faults{
		"5xx":      {ServerError: 1},
		"html502":  {HTML502: 1},
		"drop":     {Drop: 1},
		"truncate": {Truncate: 1},
		"stall":    {Stall: 1, StallFor: 5 * time.Second},
	}
	for name, f := range faults {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			f.OnlyFirst = 2
			_, base := newFake(t, fakeapi.Config{Faults: f})
			c := newClient(t, base, func(c *extract.Config) { c.RequestTimeout = 200 * time.Millisecond })
			a, err := c.Interview(context.Background(), "available-"+name)
			require.NoError(t, err)
			assert.Equal(t, 3, a.Attempts, "two faulty attempts, then success")

			// With two attempts only, the fault is the outcome.
			c2 := newClient(t, base, func(c *extract.Config) { c.RequestTimeout = 200 * time.Millisecond; c.MaxAttempts = 1 })
			_, err = c2.Interview(context.Background(), "available-other-"+name)
			fe := fetchErr(t, err)
			want := map[string]extract.Reason{"5xx": extract.ReasonServerError, "html502": extract.ReasonServerError,
				"drop": extract.ReasonNetworkError, "truncate": extract.ReasonTruncatedBody, "stall": extract.ReasonTimeout}[name]
			assert.Equal(t, want, fe.Reason)
		})
	}
}

func TestUnauthorizedStops(t *testing.T) {
	t.Parallel()
	_, base := newFake(t, fakeapi.Config{})
	c, err := extract.NewClient(extract.Config{BaseURL: base, Token: "ot_pat_wrong_token"})
	require.NoError(t, err)
	_, err = c.Interview(context.Background(), "available-1")
	require.ErrorIs(t, err, extract.ErrUnauthorized)
	assert.NotContains(t, err.Error(), "ot_pat_wrong_token")
	_, err = c.CheckToken(context.Background(), "proposals:read")
	require.ErrorIs(t, err, extract.ErrUnauthorized)
}

func TestCheckTokenScopes(t *testing.T) {
	t.Parallel()
	_, base := newFake(t, fakeapi.Config{Scopes: []string{"jobs:read"}})
	c := newClient(t, base, nil)
	_, err := c.CheckToken(context.Background(), "proposals:read")
	require.ErrorIs(t, err, extract.ErrScopeMissing)
	assert.Contains(t, err.Error(), "proposals:read")

	_, base = newFake(t, fakeapi.Config{Scopes: []string{"proposals:write"}})
	c = newClient(t, base, nil)
	_, err = c.CheckToken(context.Background(), "proposals:read")
	require.NoError(t, err, ":write implies :read")
}

func TestIDsArePercentEscapedAsOneSegment(t *testing.T) {
	t.Parallel()
	var mu sync.Mutex
	var paths []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		paths = append(paths, r.URL.EscapedPath())
		mu.Unlock()
		w.WriteHeader(404)
		w.Write([]byte(`{"error":"no","code":"NOT_FOUND","requestId":"r"}`))
	}))
	defer srv.Close()
	c := newClient(t, srv.URL+"/v1/", nil)
	for _, id := range []string{"a/b", "a?b", "a#b", "a%2Fb", "..", "提案"} {
		_, err := c.Interview(context.Background(), id)
		require.NoError(t, err)
	}
	assert.Equal(t, []string{
		"/v1/proposals/a%2Fb/interview",
		"/v1/proposals/a%3Fb/interview",
		"/v1/proposals/a%23b/interview",
		"/v1/proposals/a%252Fb/interview",
		"/v1/proposals/%2E%2E/interview",
		"/v1/proposals/%E6%8F%90%E6%A1%88/interview",
	}, paths)
}

func TestRateLimitedWaitsForRetryAfter(t *testing.T) {
	t.Parallel()
	var mu sync.Mutex
	var arrivals []time.Time
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		arrivals = append(arrivals, time.Now())
		n := len(arrivals)
		mu.Unlock()
		if n == 1 {
			w.Header().Set("Retry-After", "1")
			w.WriteHeader(429)
			w.Write([]byte(`{"error":"slow down","code":"RATE_LIMITED","requestId":"r"}`))
			return
		}
		w.WriteHeader(404)
		w.Write([]byte(`{"error":"no","code":"NOT_FOUND","requestId":"r"}`))
	}))
	defer srv.Close()
	c := newClient(t, srv.URL, func(c *extract.Config) { c.MaxAttempts = 1 })
	a, err := c.Interview(context.Background(), "x")
	require.NoError(t, err, "a 429 is not an attempt: one attempt is enough")
	assert.True(t, a.NoInterview)
	require.Len(t, arrivals, 2)
	// Times compared, not a duration measured: the 429's Retry-After
	// pauses the pace for a second from when it was read, and the retry
	// left only once that pause had ended.
	paused := c.Pace().PausedUntil()
	assert.False(t, paused.Before(arrivals[0].Add(time.Second)), "the pause lasts Retry-After from the 429")
	assert.False(t, arrivals[1].Before(paused), "the retry leaves once the pause has ended")
	assert.Equal(t, int64(1), c.Stats().RateLimited)
}

func TestResponseTooLargeIsNotRetried(t *testing.T) {
	t.Parallel()
	_, base := newFake(t, fakeapi.Config{})
	c := newClient(t, base, func(c *extract.Config) { c.MaxResponseBytes = 4096 })
	_, err := c.Interview(context.Background(), "huge-1")
	fe := fetchErr(t, err)
	assert.Equal(t, extract.ReasonResponseTooLarge, fe.Reason)
	assert.Equal(t, 1, fe.Attempts)
}

func TestContextEndsFetch(t *testing.T) {
	t.Parallel()
	_, base := newFake(t, fakeapi.Config{Faults: fakeapi.Faults{Stall: 1, StallFor: time.Minute}})
	c := newClient(t, base, func(c *extract.Config) { c.RequestTimeout = time.Minute })
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	_, err := c.Interview(ctx, "available-1")
	assert.True(t, errors.Is(err, context.DeadlineExceeded), "got %v", err)
}

func TestNewClientRejectsBadConfig(t *testing.T) {
	t.Parallel()
	for _, cfg := range []extract.Config{
		{BaseURL: "ftp://x", Token: "t"},
		{BaseURL: "not a url", Token: "t"},
		{BaseURL: "https://user:pass@example.com", Token: "t"},
		{BaseURL: "https://example.com"},
	} {
		_, err := extract.NewClient(cfg)
		require.Error(t, err, "%+v", cfg)
		assert.False(t, strings.Contains(err.Error(), "pass@"), "credentials never echoed")
	}
}

// A body delimited by the connection's close (no Content-Length, no
// chunking) shows truncation only as incomplete JSON: it is retried.
func TestCloseDelimitedTruncatedBodyIsRetried(t *testing.T) {
	t.Parallel()
	var mu sync.Mutex
	calls := 0
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		calls++
		n := calls
		mu.Unlock()
		conn, buf, err := w.(http.Hijacker).Hijack()
		require.NoError(t, err)
		defer conn.Close()
		body := `{"interview":{"interviewId":"i","messages":[]}}`
		if n == 1 {
			body = body[:20]
		}
		buf.WriteString("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nConnection: close\r\n\r\n" + body)
		buf.Flush()
	}))
	defer srv.Close()
	c := newClient(t, srv.URL, nil)
	a, err := c.Interview(context.Background(), "p")
	require.NoError(t, err)
	assert.Equal(t, 2, a.Attempts)
	assert.JSONEq(t, `{"interview":{"interviewId":"i","messages":[]}}`, string(a.Body))

	c1 := newClient(t, srv.URL, func(c *extract.Config) { c.MaxAttempts = 1 })
	mu.Lock()
	calls = 0
	mu.Unlock()
	_, err = c1.Interview(context.Background(), "p")
	assert.Equal(t, extract.ReasonTruncatedBody, fetchErr(t, err).Reason)
}
