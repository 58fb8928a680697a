package fakeapi_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/interview-export/interview-export/internal/fakeapi"
)

func get(t *testing.T, srv *httptest.Server, path, token string) (*http.Response, map[string]any) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, srv.URL+"/api/public/v1"+path, nil)
	require.NoError(t, err)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := srv.Client().Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	var body map[string]any
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&body))
	return resp, body
}

func TestErrorEnvelope(t *testing.T) {
	t.Parallel()
	cfg := fakeapi.DefaultConfig()
	srv := httptest.NewServer(fakeapi.New(cfg))
	defer srv.Close()
	resp, body := get(t, srv, "/proposals/p-1/interview", "wrong")
	assert.Equal(t, 401, resp.StatusCode)
	assert.Equal(t, "UNAUTHORIZED", body["code"])
	assert.NotEmpty(t, body["error"])
	assert.NotEmpty(t, body["requestId"])
	assert.IsType(t, map[string]any{}, body["details"])

	resp, body = get(t, srv, "/proposals/notfound-7/interview", cfg.Token)
	assert.Equal(t, 404, resp.StatusCode)
	assert.Equal(t, "NOT_FOUND", body["code"])
	assert.Equal(t, map[string]any{"proposalId": "notfound-7"}, body["details"])
}

func TestCursorPaginationCoversEveryProposal(t *testing.T) {
	t.Parallel()
	cfg := fakeapi.DefaultConfig()
	cfg.Jobs, cfg.ProposalsPerJob = 3, 130
	fake := fakeapi.New(cfg)
	srv := httptest.NewServer(fake)
	defer srv.Close()

	var jobs, proposals []string
	cursor := ""
	for {
		_, body := get(t, srv, "/jobs/mine?limit=2&cursor="+cursor, cfg.Token)
		for _, j := range body["jobs"].([]any) {
			jobs = append(jobs, j.(map[string]any)["id"].(string))
		}
		if body["nextCursor"] == nil {
			break
		}
		cursor = body["nextCursor"].(string)
	}
	require.Len(t, jobs, 3)
	for _, job := range jobs {
		cursor = ""
		for {
			_, body := get(t, srv, "/jobs/"+job+"/proposals?limit=100&cursor="+cursor, cfg.Token)
			for _, p := range body["proposals"].([]any) {
				proposals = append(proposals, p.(map[string]any)["id"].(string))
			}
			if body["nextCursor"] == nil {
				break
			}
			cursor = body["nextCursor"].(string)
		}
	}
	assert.ElementsMatch(t, fake.ProposalIDs(), proposals)

	resp, body := get(t, srv, "/jobs/mine?limit=0", cfg.Token)
	assert.Equal(t, 400, resp.StatusCode)
	assert.Equal(t, "BAD_REQUEST", body["code"])
}

func TestRateLimitAnswers429WithRetryAfter(t *testing.T) {
	t.Parallel()
	cfg := fakeapi.DefaultConfig()
	cfg.RateLimit = 2
	clock := newClock()
	cfg.Now = clock.Now
	fake := fakeapi.New(cfg)
	srv := httptest.NewServer(fake)
	defer srv.Close()
	var limited *http.Response
	for i := range 5 {
		resp, body := get(t, srv, "/proposals/notfound-"+strconv.Itoa(i)+"/interview", cfg.Token)
		if resp.StatusCode == 429 {
			limited = resp
			assert.Equal(t, "RATE_LIMITED", body["code"])
			break
		}
	}
	require.NotNil(t, limited, "a burst above the limit is answered 429")
	secs, err := strconv.Atoi(limited.Header.Get("Retry-After"))
	require.NoError(t, err)
	assert.GreaterOrEqual(t, secs, 1)

	// Asking again before Retry-After is counted as a violation.
	clock.Advance(250 * time.Millisecond)
	get(t, srv, "/proposals/notfound-x/interview", cfg.Token)
	assert.Equal(t, int64(1), fake.Stats().EarlyAfter429)
}

func TestProposalDetailGatesTranscript(t *testing.T) {
	t.Parallel()
	cfg := fakeapi.DefaultConfig()
	srv := httptest.NewServer(fakeapi.New(cfg))
	defer srv.Close()
	_, body := get(t, srv, "/proposals/available-1", cfg.Token)
	assert.Equal(t, true, body["proposal"].(map[string]any)["aiInterview"].(map[string]any)["transcriptAvailable"])
	_, body = get(t, srv, "/proposals/notfound-1", cfg.Token)
	assert.Equal(t, false, body["proposal"].(map[string]any)["aiInterview"].(map[string]any)["transcriptAvailable"])
}

func TestUpdatesFeed(t *testing.T) {
	t.Parallel()
	cfg := fakeapi.DefaultConfig()
	cfg.Jobs, cfg.ProposalsPerJob = 2, 100
	fake, base := fakeapi.Start(t, cfg)
	get := func(query string) (int, map[string]any) {
		req, _ := http.NewRequest(http.MethodGet, base+"/updates"+query, nil)
		req.Header.Set("Authorization", "Bearer "+cfg.Token)
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		defer resp.Body.Close()
		var body map[string]any
		require.NoError(t, json.NewDecoder(resp.Body).Decode(&body))
		return resp.StatusCode, body
	}
	code, page := get("?limit=200")
	require.Equal(t, 200, code)
	events := page["events"].([]any)
	assert.Len(t, events, 200)
	assert.Equal(t, true, page["hasMore"])
	first := events[0].(map[string]any)
	assert.Equal(t, "proposal.received", first["type"])
	assert.Equal(t, "1001", first["id"])
	for _, e := range events {
		assert.NotEqual(t, "payment.pending", e.(map[string]any)["type"], "filtered: the token lacks payments:read")
	}
	next := page["nextCursor"].(string)
	code, page = get("?limit=200&cursor=" + next)
	require.Equal(t, 200, code)
	assert.Equal(t, false, page["hasMore"])
	last := page["nextCursor"].(string)
	code, page = get("?cursor=" + last)
	require.Equal(t, 200, code)
	assert.Empty(t, page["events"])
	assert.Equal(t, last, page["nextCursor"], "an empty page echoes the cursor")
	ids := fake.AddProposals(2)
	_, page = get("?cursor=" + last)
	require.Len(t, page["events"], 2)
	assert.Equal(t, ids[0], page["events"].([]any)[0].(map[string]any)["data"].(map[string]any)["proposalId"])
	for _, bad := range []string{"?limit=0", "?limit=201", "?cursor=abc"} {
		code, page = get(bad)
		assert.Equal(t, 400, code, bad)
		assert.Equal(t, "BAD_REQUEST", page["code"])
	}
	cfg.Scopes = []string{"jobs:read"}
	_, base2 := fakeapi.Start(t, cfg)
	base = base2
	code, _ = get("")
	assert.Equal(t, 403, code, "no qualifying scope")
}

// The field's conditions: a storm answers everything 429 for a while, a
// quota changes at a given second, and some IDs draw 429s without
// Retry-After whatever the rate.
func TestStormLaterQuotaAndBare429s(t *testing.T) {
	t.Parallel()
	cfg := fakeapi.DefaultConfig()
	cfg.RateLimit = 1 // burst 1, then 1000
	cfg.LaterRateLimit, cfg.RateLimitFrom = 1000, 300*time.Millisecond
	cfg.StormFrom, cfg.StormFor = 100*time.Millisecond, 100*time.Millisecond
	clock := newClock()
	cfg.Now = clock.Now
	fake := fakeapi.New(cfg)
	srv := httptest.NewServer(fake)
	defer srv.Close()
	status := func() int {
		resp, _ := get(t, srv, "/proposals/notfound-1/interview", cfg.Token)
		return resp.StatusCode
	}
	assert.Equal(t, 404, status(), "the first request starts the clock")
	assert.Equal(t, 429, status(), "1/s, burst 1")
	clock.Advance(120 * time.Millisecond)
	resp, _ := get(t, srv, "/proposals/notfound-1/interview", cfg.Token)
	assert.Equal(t, 429, resp.StatusCode, "in the storm")
	assert.Equal(t, "1", resp.Header.Get("Retry-After"))
	clock.Advance(200 * time.Millisecond)
	for range 20 {
		assert.Equal(t, 404, status(), "the later quota is 1000/s")
	}

	cfg = fakeapi.DefaultConfig()
	cfg.Faults.BareTooManyIDs = 1
	srv2 := httptest.NewServer(fakeapi.New(cfg))
	defer srv2.Close()
	resp, body := get(t, srv2, "/proposals/notfound-2/interview", cfg.Token)
	assert.Equal(t, 429, resp.StatusCode)
	assert.Equal(t, "RATE_LIMITED", body["code"])
	assert.Empty(t, resp.Header.Get("Retry-After"))
	for range 2 {
		resp, _ = get(t, srv2, "/proposals/notfound-2/interview", cfg.Token)
	}
	assert.Equal(t, 404, resp.StatusCode, "after one or two")
}

// clock is a fake's clock that moves only when told.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func newClock() *clock { return &clock{now: time.Date(2026, 12, 1, 3, 0, 0, 0, time.UTC)} }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}
