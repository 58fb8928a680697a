// Package fakeapi is a faithful fake of the OpenTrain public API v1, for the
// tests, the demo and the benchmarks of interview-export.
//
// It speaks the documented wire format (see ../shared/opentrain-api.md):
// bearer tokens, the error envelope {"error","code","requestId","details"},
// cursor pagination with nextCursor, and 429 RATE_LIMITED with Retry-After.
// It serves
//
//	GET /auth/me
//	GET /jobs/mine
//	GET /jobs/{id}/proposals
//	GET /proposals/{id}
//	GET /proposals/{id}/interview
//	GET /updates
//
// under any base path. Every proposal ID has a deterministic answer (see
// KindOf and Transcript), so any ID can be asked for and a test can compute
// what an export must store (Expected). Faults are injected per attempt from
// a stable hash, so runs are repeatable: 5xx, HTML 502 pages, dropped
// connections, truncated bodies, stalls, 429 storms and a token revoked
// after N requests. Stats exposes counters for tests.
package fakeapi

import (
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Config shapes the fake's data and behaviour. The zero value serves a
// well-behaved API with no data set; see DefaultConfig.
type Config struct {
	// Now is the fake's clock (nil: the wall clock): the rate limit, the
	// storm, the later quota and Retry-After all read it, so that a test
	// may move time instead of sleeping.
	Now func() time.Time
	// Seed changes every generated value.
	Seed uint64
	// Token is the one valid bearer token; Scopes are its scopes.
	Token  string
	Scopes []string
	// Jobs and ProposalsPerJob size the data set listed by /jobs/mine and
	// /jobs/{id}/proposals. Proposal IDs are "p-JJJJ-NNNNNN".
	Jobs, ProposalsPerJob int
	// MeanMessages is the average transcript length. Default 20.
	MeanMessages int
	// Shares of proposals (by hash) that have no interview (404), are
	// forbidden (403), or come back with a schema-breaking body.
	NoInterviewShare, ForbiddenShare, InvalidShare float64
	// Latency is added to every response, with up to as much again of jitter.
	Latency time.Duration
	// RateLimit is the requests per second allowed per token (0: none); above
	// it the fake answers 429 with a whole-second Retry-After. RateBurst is
	// the token bucket's size (default: RateLimit). RateLimitHeaders sends
	// the IETF draft's RateLimit-Policy and RateLimit-Limit on every answer.
	RateLimit        float64
	RateBurst        float64
	RateLimitHeaders bool
	// LaterRateLimit, when positive, replaces RateLimit from RateLimitFrom
	// after the first interview request on: a quota that changes as other
	// clients of the account stop or start.
	LaterRateLimit float64
	RateLimitFrom  time.Duration
	// From StormFrom after the first interview request, for StormFor, every
	// interview request is answered 429 with Retry-After: 1 whatever the
	// rate (a storm: the API shedding load).
	StormFrom, StormFor time.Duration
	// Faults are injected on interview requests.
	Faults Faults
	// RevokeAfter revokes the token after that many interview requests (0: never).
	RevokeAfter int64
	// RedirectTo, when set, answers every interview request with a 302 to it.
	RedirectTo string
	// EchoAuthorization makes 403 answers quote the request's Authorization
	// header, as a careless proxy or API might.
	EchoAuthorization bool
	// EchoContent makes every error answer of the interview endpoint carry
	// the proposal's summary and first message: in the envelope's details,
	// and in the body of the HTML pages. A test of what a failure may quote.
	EchoContent bool
	// RetryAfter, when positive, answers every interview request with a 429
	// announcing that many seconds.
	RetryAfter int
	// Outage, when set, is how every request is answered once DownAfter
	// interview requests have been served (0: from the start): "drop"
	// closes connections, "html404" answers a proxy's 404 page, "503" a
	// Service Unavailable.
	Outage    string
	DownAfter int64
	// CacheBodies keeps each generated transcript body in memory, so that
	// serving it again costs no CPU (benchmarks: see Warm).
	CacheBodies bool
	// HugeBytes is about the body size of the transcripts of "huge-" IDs
	// (about 1.9 MB when 0), in 400 messages.
	HugeBytes int
	// ExtraMembers adds members the documented schema does not name, as a
	// later API may send: "language" and "durationSeconds" to each
	// interview, "tokens" to each message.
	ExtraMembers bool
	// FeedRepeat delivers the change feed at least once, as a real feed may:
	// every page after a cursor starts again with the event at the cursor.
	FeedRepeat bool
	// FeedOldestCursor refuses (410 GONE) a cursor below it, as a feed whose
	// history expired would (0: every cursor is accepted).
	FeedOldestCursor int64
}

// Faults are probabilities per attempt, drawn from a stable hash of the ID
// and the attempt number, of each kind of failure.
type Faults struct {
	ServerError float64 // 500 with the envelope
	HTML502     float64 // 502 with an HTML page
	Drop        float64 // connection closed before any response
	Truncate    float64 // body cut short after its headers announced its length
	Stall       float64 // no answer for StallFor
	TooMany     float64 // 429 with Retry-After: 1, whatever the rate
	// BareTooManyIDs is the share of IDs (by hash) whose first one or two
	// attempts are answered 429 without Retry-After, whatever the rate.
	BareTooManyIDs float64
	// StallFor is how long a stall lasts. Default 10s.
	StallFor time.Duration
	// OnlyFirst limits faults to each ID's first OnlyFirst attempts, so a
	// client with more attempts always gets through. 0: every attempt.
	OnlyFirst int
}

// DefaultConfig is the data set of the demo and the benchmarks.
func DefaultConfig() Config {
	return Config{
		Seed: 1, Token: "ot_pat_demo_token_not_secret",
		Scopes: []string{"jobs:read", "proposals:read"},
		Jobs:   20, ProposalsPerJob: 150, MeanMessages: 20,
		NoInterviewShare: 0.15, ForbiddenShare: 0.01,
	}
}

// Server is the fake API; it is an http.Handler.
type Server struct {
	cfg     Config
	epoch   atomic.Int64
	deleted sync.Map // proposal ID → when its interview was deleted (Delete)

	mu       sync.Mutex
	attempts map[string]int // interview requests per proposal ID
	bucket   float64        // token bucket of the rate limit
	bucketAt time.Time
	firstAt  time.Time // the first interview request
	// The last 429's announced time, and when it was announced, per
	// client (User-Agent): separate processes do not hear each other's.
	retry     map[string]announcement
	arrivals  []time.Time
	refusals  []time.Time // the rate limit\'s 429s
	feed      []Event     // the change feed (feed.go), built at first use
	added     int         // proposals added by AddProposals
	feedPages atomic.Int64
	// feedOldest is Config.FeedOldestCursor, changed by ExpireFeedBefore.
	feedOldest atomic.Int64

	requests, interviewRequests atomic.Int64
	inFlight, maxInFlight       atomic.Int64
	early                       atomic.Int64
	statusMu                    sync.Mutex
	byStatus                    map[int]int64
	revoked                     atomic.Bool
	// served is closed and replaced each time a response is counted
	// (Served).
	servedMu sync.Mutex
	served   chan struct{}
	bodies   sync.Map // "epoch/id" -> []byte, with Config.CacheBodies
}

// New returns a fake serving cfg.
func New(cfg Config) *Server {
	if cfg.MeanMessages < 2 {
		cfg.MeanMessages = 20
	}
	if cfg.Faults.StallFor == 0 {
		cfg.Faults.StallFor = 10 * time.Second
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return &Server{cfg: cfg, attempts: map[string]int{}, byStatus: map[int]int64{}, retry: map[string]announcement{}, served: make(chan struct{})}
}

// Served returns a channel closed at the next interview request the fake
// receives or the next response it counts (its status recorded in Stats),
// whichever comes first: a test waits on a condition of Stats by
// checking it after each, never by sleeping.
func (s *Server) Served() <-chan struct{} {
	s.servedMu.Lock()
	defer s.servedMu.Unlock()
	return s.served
}

func (s *Server) signalServed() {
	s.servedMu.Lock()
	close(s.served)
	s.served = make(chan struct{})
	s.servedMu.Unlock()
}

// SetEpoch moves upstream data to another state: at epoch e > 0 some
// transcripts are edited, shrunk or grown, some scores change and some
// interviews vanish (404), each decided by a stable hash.
func (s *Server) SetEpoch(e int64) { s.epoch.Store(e) }

// Revoke makes every later request fail with 401.
func (s *Server) Revoke() { s.revoked.Store(true) }

// Stats are the fake's counters.
type Stats struct {
	Requests, InterviewRequests int64
	// FeedPages counts the pages of GET /updates served.
	FeedPages int64
	// MaxInFlight is the most interview requests handled at once.
	MaxInFlight int64
	// ByStatus counts responses per HTTP status (-1: dropped connection).
	ByStatus map[int]int64
	// EarlyAfter429 counts requests that arrived more than earlyGrace after a 429
	// was sent to the same client (User-Agent) but before the time it
	// announced in Retry-After.
	EarlyAfter429 int64
	// Arrivals are the arrival times of interview requests, in order.
	Arrivals []time.Time
	// Refusals are the times of the 429s the rate limit (or a storm)
	// answered, in order.
	Refusals []time.Time
}

// Requested returns how many interview requests proposalID received.
func (s *Server) Requested(proposalID string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.attempts[proposalID]
}

// Stats returns a snapshot of the counters.
func (s *Server) Stats() Stats {
	st := Stats{Requests: s.requests.Load(), InterviewRequests: s.interviewRequests.Load(), FeedPages: s.feedPages.Load(),
		MaxInFlight: s.maxInFlight.Load(), EarlyAfter429: s.early.Load(), ByStatus: map[int]int64{}}
	s.statusMu.Lock()
	for k, v := range s.byStatus {
		st.ByStatus[k] = v
	}
	s.statusMu.Unlock()
	s.mu.Lock()
	st.Arrivals, st.Refusals = slices.Clone(s.arrivals), slices.Clone(s.refusals)
	s.mu.Unlock()
	return st
}

// MaxInWindow returns the most arrivals within any window of length w.
func (st Stats) MaxInWindow(w time.Duration) int {
	best, j := 0, 0
	for i := range st.Arrivals {
		for st.Arrivals[i].Sub(st.Arrivals[j]) >= w {
			j++
		}
		best = max(best, i-j+1)
	}
	return best
}

// ProposalIDs returns the IDs of the data set, job by job.
func (s *Server) ProposalIDs() []string {
	ids := make([]string, 0, s.cfg.Jobs*s.cfg.ProposalsPerJob)
	for j := range s.cfg.Jobs {
		for p := range s.cfg.ProposalsPerJob {
			ids = append(ids, proposalID(j, p))
		}
	}
	return ids
}

func jobID(j int) string         { return fmt.Sprintf("job-%04d", j) }
func proposalID(j, p int) string { return fmt.Sprintf("p-%04d-%06d", j, p) }

type recorder struct {
	http.ResponseWriter
	status int
}

func (r *recorder) WriteHeader(code int) {
	r.status = code
	r.ResponseWriter.WriteHeader(code)
}

// down reports whether the API is in an outage (Config.Outage).
func (s *Server) down() bool {
	return s.cfg.Outage != "" && s.interviewRequests.Load() >= s.cfg.DownAfter
}

// outage answers as the configured outage does.
func (s *Server) outage(w http.ResponseWriter) {
	switch s.cfg.Outage {
	case "html404":
		w.Header().Set("Content-Type", "text/html")
		w.WriteHeader(http.StatusNotFound)
		fmt.Fprint(w, "<html><body><h1>404 Not Found</h1><hr>nginx</body></html>")
	case "503":
		w.Header().Set("Content-Type", "text/html")
		w.WriteHeader(http.StatusServiceUnavailable)
		fmt.Fprint(w, "<html><body><h1>503 Service Unavailable</h1></body></html>")
	default:
		panic(http.ErrAbortHandler)
	}
}

func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.requests.Add(1)
	rec := &recorder{ResponseWriter: w, status: -1}
	defer func() {
		s.statusMu.Lock()
		s.byStatus[rec.status]++
		s.statusMu.Unlock()
		s.signalServed()
	}()
	if s.down() {
		s.outage(rec)
		return
	}
	if s.cfg.RateLimitHeaders && s.cfg.RateLimit > 0 {
		q := strconv.FormatFloat(s.cfg.RateLimit, 'f', -1, 64)
		w.Header().Set("RateLimit-Policy", `"default";q=`+q+`;w=1`)
		w.Header().Set("RateLimit-Limit", q)
	}
	if s.cfg.Latency > 0 {
		d := s.cfg.Latency + time.Duration(s.unit(r.URL.RawPath+r.URL.Path, "latency", int(s.requests.Load()))*float64(s.cfg.Latency))
		select {
		case <-time.After(d):
		case <-r.Context().Done():
			return
		}
	}
	s.route(rec, r)
}

func (s *Server) route(w *recorder, r *http.Request) {
	if r.Method != http.MethodGet {
		writeError(w, http.StatusMethodNotAllowed, "METHOD_NOT_ALLOWED", "Only GET is served here", nil)
		return
	}
	// Split the escaped path so an ID holding "/" (sent as %2F) stays one segment.
	segs := strings.Split(r.URL.EscapedPath(), "/")
	for i := range segs {
		if seg, err := url.PathUnescape(segs[i]); err == nil {
			segs[i] = seg
		}
	}
	n := len(segs)
	at := func(from int, names ...string) bool {
		if n-from != len(names) {
			return false
		}
		for i, name := range names {
			if name != "*" && segs[from+i] != name {
				return false
			}
		}
		return true
	}
	if !s.authorized(w, r) {
		return
	}
	switch {
	case n >= 2 && at(n-2, "auth", "me"):
		s.authMe(w)
	case n >= 3 && at(n-3, "proposals", "*", "interview"):
		s.interview(w, r, segs[n-2])
	case n >= 2 && at(n-2, "proposals", "*"):
		s.proposal(w, segs[n-1])
	case n >= 1 && at(n-1, "updates"):
		s.updates(w, r)
	case n >= 2 && at(n-2, "jobs", "mine"):
		s.jobsMine(w, r)
	case n >= 3 && at(n-3, "jobs", "*", "proposals"):
		s.jobProposals(w, r, segs[n-2])
	default:
		w.Header().Set("Content-Type", "text/html")
		w.WriteHeader(http.StatusNotFound)
		fmt.Fprint(w, "<html><body><h1>404 Not Found</h1></body></html>")
	}
}

func (s *Server) authorized(w http.ResponseWriter, r *http.Request) bool {
	got, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	if !ok || got != s.cfg.Token || s.revoked.Load() {
		writeError(w, http.StatusUnauthorized, "UNAUTHORIZED", "Missing or invalid token", nil)
		return false
	}
	return true
}

func (s *Server) hasScope(scope string) bool {
	write := strings.TrimSuffix(scope, ":read") + ":write"
	return slices.Contains(s.cfg.Scopes, scope) || slices.Contains(s.cfg.Scopes, write)
}

// requireScope answers 403 and returns false when the token lacks scope.
func (s *Server) requireScope(w http.ResponseWriter, scope string) bool {
	if s.hasScope(scope) {
		return true
	}
	writeError(w, http.StatusForbidden, "FORBIDDEN", "Missing scope", map[string]any{"requiredScopes": []string{scope}})
	return false
}

func (s *Server) authMe(w http.ResponseWriter) {
	writeJSON(w, http.StatusOK, map[string]any{
		"actor":   map[string]any{"userId": "u_fake", "userType": "EMPLOYER"},
		"token":   map[string]any{"id": "tok_fake", "label": "fake", "scopes": s.cfg.Scopes},
		"account": map[string]any{"kind": "ORGANIZATION", "organizationId": "org_fake"},
	})
}

// announcement is a 429's Retry-After: the time it announced, and when.
type announcement struct{ at, retryAt time.Time }

// limited applies the per-token rate limit and answers 429 above it.
func (s *Server) limited(w http.ResponseWriter, r *http.Request, now time.Time) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	client := r.UserAgent()
	if a, ok := s.retry[client]; ok && now.After(a.at.Add(earlyGrace)) && now.Before(a.retryAt) {
		s.early.Add(1)
	}
	if len(s.arrivals) < maxArrivals {
		s.arrivals = append(s.arrivals, now)
	}
	if s.firstAt.IsZero() {
		s.firstAt = now
	}
	if since := now.Sub(s.firstAt); s.cfg.StormFor > 0 && since >= s.cfg.StormFrom && since < s.cfg.StormFrom+s.cfg.StormFor {
		s.announce(client, now, 1)
		s.refused(now)
		w.Header().Set("Retry-After", "1")
		writeError(w, http.StatusTooManyRequests, "RATE_LIMITED", "Too many requests", nil)
		return true
	}
	quota := s.cfg.RateLimit
	if s.cfg.LaterRateLimit > 0 && now.Sub(s.firstAt) >= s.cfg.RateLimitFrom {
		quota = s.cfg.LaterRateLimit
	}
	if quota <= 0 {
		return false
	}
	burst := max(quota, 1)
	if s.cfg.RateBurst > 0 {
		burst = s.cfg.RateBurst
	}
	if s.bucketAt.IsZero() {
		s.bucket, s.bucketAt = burst, now
	}
	s.bucket = min(burst, s.bucket+now.Sub(s.bucketAt).Seconds()*quota)
	s.bucketAt = now
	if s.bucket >= 1 {
		s.bucket--
		return false
	}
	wait := time.Duration((1 - s.bucket) / quota * float64(time.Second))
	secs := int((wait + time.Second - 1) / time.Second)
	s.announce(client, now, secs)
	s.refused(now)
	w.Header().Set("Retry-After", strconv.Itoa(secs))
	writeError(w, http.StatusTooManyRequests, "RATE_LIMITED", "Too many requests", nil)
	return true
}

// refused records a 429 of the rate limit; called with mu held.
func (s *Server) refused(now time.Time) {
	if len(s.refusals) < maxArrivals {
		s.refusals = append(s.refusals, now)
	}
}

func (s *Server) announce(client string, now time.Time, secs int) {
	if at := now.Add(time.Duration(secs) * time.Second); at.After(s.retry[client].retryAt) {
		s.retry[client] = announcement{at: now, retryAt: at}
	}
}

func (s *Server) interview(w *recorder, r *http.Request, id string) {
	s.interviewRequests.Add(1)
	s.signalServed()
	cur := s.inFlight.Add(1)
	defer s.inFlight.Add(-1)
	for {
		m := s.maxInFlight.Load()
		if cur <= m || s.maxInFlight.CompareAndSwap(m, cur) {
			break
		}
	}
	if s.cfg.RevokeAfter > 0 && s.interviewRequests.Load() > s.cfg.RevokeAfter {
		s.revoked.Store(true)
		writeError(w, http.StatusUnauthorized, "UNAUTHORIZED", "Token revoked", nil)
		return
	}
	if !s.requireScope(w, "proposals:read") {
		return
	}
	if s.cfg.RedirectTo != "" {
		http.Redirect(w, r, s.cfg.RedirectTo, http.StatusFound)
		return
	}
	if s.cfg.RetryAfter > 0 {
		s.mu.Lock()
		s.announce(r.UserAgent(), s.cfg.Now(), s.cfg.RetryAfter)
		s.mu.Unlock()
		w.Header().Set("Retry-After", strconv.Itoa(s.cfg.RetryAfter))
		writeError(w, http.StatusTooManyRequests, "RATE_LIMITED", "Too many requests", nil)
		return
	}
	if s.limited(w, r, s.cfg.Now()) {
		return
	}
	s.mu.Lock()
	s.attempts[id]++
	attempt := s.attempts[id]
	s.mu.Unlock()
	if s.fault(w, r, id, attempt) {
		return
	}
	kind := s.KindOf(id)
	if kind == KindAlways500 {
		writeError(w, http.StatusInternalServerError, "INTERNAL_ERROR", "Internal error", s.echo(id, nil))
		return
	}
	switch kind {
	case KindNoInterview:
		s.notFound(w, id)
	case KindForbidden:
		msg := "This proposal is on another account's job"
		if s.cfg.EchoAuthorization {
			msg += " (request had Authorization: " + r.Header.Get("Authorization") + ")"
		}
		writeError(w, http.StatusForbidden, "FORBIDDEN", msg, s.echo(id, map[string]any{"proposalId": id}))
	case KindBadRequest:
		writeError(w, http.StatusBadRequest, "BAD_REQUEST", "Missing proposalId", s.echo(id, nil))
	case KindHTMLNotFound:
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.WriteHeader(http.StatusNotFound)
		fmt.Fprint(w, "<!DOCTYPE html><html><head><title>404</title></head><body>nginx"+s.echoHTML(id)+"</body></html>")
	case KindInvalid:
		writeRaw(w, http.StatusOK, []byte(fmt.Sprintf(`{"interview":{"proposalId":%s,"interviewId":"iv_x","score":"high","messages":[{"id":"m1"}]}}`, jsonString(id))))
	default:
		if s.vanished(id) {
			s.notFound(w, id)
			return
		}
		writeRaw(w, http.StatusOK, s.Body(id))
	}
}

func (s *Server) notFound(w http.ResponseWriter, id string) {
	writeError(w, http.StatusNotFound, "NOT_FOUND", "No AI interview is recorded for this proposal", map[string]any{"proposalId": id})
}

// echo is the details of an error answer about id: its content, with
// Config.EchoContent.
func (s *Server) echo(id string, details map[string]any) map[string]any {
	if !s.cfg.EchoContent {
		return details
	}
	out := map[string]any{}
	maps.Copy(out, details)
	t := s.Transcript(id)
	if t.Summary != nil {
		out["summary"] = *t.Summary
	}
	if len(t.Messages) > 0 {
		out["firstMessage"] = t.Messages[0].Content
	}
	return out
}

// echoHTML is an HTML page's text about id.
func (s *Server) echoHTML(id string) string {
	d := s.echo(id, nil)
	if len(d) == 0 {
		return ""
	}
	return fmt.Sprintf("<p>%v</p><pre>%v</pre>", d["summary"], d["firstMessage"])
}

// fault injects the attempt's fault, if any, and reports whether it did.
func (s *Server) fault(w *recorder, r *http.Request, id string, attempt int) bool {
	f := s.cfg.Faults
	if f.OnlyFirst > 0 && attempt > f.OnlyFirst {
		return false
	}
	if s.unit(id, "bare429", 0) < f.BareTooManyIDs && attempt <= 1+int(2*s.unit(id, "bare429n", 0)) {
		writeError(w, http.StatusTooManyRequests, "RATE_LIMITED", "Too many requests", nil) // no Retry-After
		return true
	}
	u := s.unit(id, "fault", attempt)
	switch {
	case u < f.ServerError:
		writeError(w, http.StatusInternalServerError, "INTERNAL_ERROR", "Something went wrong", s.echo(id, nil))
	case u < f.ServerError+f.HTML502:
		w.Header().Set("Content-Type", "text/html")
		w.WriteHeader(http.StatusBadGateway)
		fmt.Fprint(w, "<html><body><h1>502 Bad Gateway</h1>"+s.echoHTML(id)+"</body></html>")
	case u < f.ServerError+f.HTML502+f.Drop:
		panic(http.ErrAbortHandler) // closes the connection without a response
	case u < f.ServerError+f.HTML502+f.Drop+f.Truncate:
		body := s.Transcript(id).body()
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Content-Length", strconv.Itoa(len(body)))
		w.WriteHeader(http.StatusOK)
		w.Write(body[:len(body)/2])
		if fl, ok := w.ResponseWriter.(http.Flusher); ok {
			fl.Flush()
		}
		panic(http.ErrAbortHandler)
	case u < f.ServerError+f.HTML502+f.Drop+f.Truncate+f.Stall:
		select {
		case <-time.After(f.StallFor):
			writeError(w, http.StatusGatewayTimeout, "INTERNAL_ERROR", "Stalled", s.echo(id, nil))
		case <-r.Context().Done():
		}
	case u < f.ServerError+f.HTML502+f.Drop+f.Truncate+f.Stall+f.TooMany:
		s.mu.Lock()
		s.announce(r.UserAgent(), s.cfg.Now(), 1)
		s.mu.Unlock()
		w.Header().Set("Retry-After", "1")
		writeError(w, http.StatusTooManyRequests, "RATE_LIMITED", "Too many requests", nil)
	default:
		return false
	}
	return true
}

func (s *Server) proposal(w http.ResponseWriter, id string) {
	kind := s.KindOf(id)
	if kind == KindForbidden {
		writeError(w, http.StatusForbidden, "FORBIDDEN", "This proposal is on another account's job", map[string]any{"proposalId": id})
		return
	}
	ai := map[string]any{"score": nil, "summary": nil, "transcriptAvailable": false}
	if t, ok := s.Expected(id); ok {
		ai = map[string]any{"score": json.RawMessage(orNull(t.Score)), "summary": t.Summary, "transcriptAvailable": true}
	}
	writeJSON(w, http.StatusOK, map[string]any{"proposal": map[string]any{
		"id": id, "status": map[string]any{"raw": "UNREVIEWED", "label": "Unreviewed"}, "aiInterview": ai,
	}})
}

func orNull(s string) string {
	if s == "" {
		return "null"
	}
	return s
}

// page returns the items of one page and the next cursor ("" at the end),
// or answers 400 and returns false for a bad limit or cursor. The cursor is
// the last ID of the previous page, as in the real API.
func page(w http.ResponseWriter, r *http.Request, ids []string) (items []string, next string, ok bool) {
	limit := 25
	if v := r.URL.Query().Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			writeError(w, http.StatusBadRequest, "BAD_REQUEST", "limit must be a number from 1 to 100", nil)
			return nil, "", false
		}
		limit = min(n, 100)
	}
	start := 0
	if c := r.URL.Query().Get("cursor"); c != "" {
		i := slices.Index(ids, c)
		if i < 0 {
			writeError(w, http.StatusBadRequest, "BAD_REQUEST", "unknown cursor", map[string]any{"cursor": c})
			return nil, "", false
		}
		start = i + 1
	}
	end := min(start+limit, len(ids))
	items = ids[start:end]
	if end < len(ids) {
		next = ids[end-1]
	}
	return items, next, true
}

func (s *Server) jobsMine(w http.ResponseWriter, r *http.Request) {
	if !s.requireScope(w, "jobs:read") {
		return
	}
	ids := make([]string, s.cfg.Jobs)
	for j := range ids {
		ids[j] = jobID(j)
	}
	items, next, ok := page(w, r, ids)
	if !ok {
		return
	}
	jobs := make([]map[string]any, len(items))
	for i, id := range items {
		jobs[i] = map[string]any{"id": id, "title": "Labeling job " + id, "status": "OPEN",
			"createdAt": "2026-05-01T09:00:00.000Z", "updatedAt": "2026-06-01T09:00:00.000Z",
			"proposalCounts": map[string]any{"total": s.cfg.ProposalsPerJob, "unreviewed": 0}}
	}
	writeJSON(w, http.StatusOK, map[string]any{"jobs": jobs, "nextCursor": nullable(next)})
}

func (s *Server) jobProposals(w http.ResponseWriter, r *http.Request, job string) {
	if !s.requireScope(w, "proposals:read") {
		return
	}
	var j int
	if _, err := fmt.Sscanf(job, "job-%04d", &j); err != nil || j < 0 || j >= s.cfg.Jobs || jobID(j) != job {
		writeError(w, http.StatusNotFound, "NOT_FOUND", "No such job", map[string]any{"jobId": job})
		return
	}
	var ids []string // newest first: the proposals added since, then the data set's
	statuses := s.currentStatuses()
	if j == 0 {
		s.mu.Lock()
		for n := s.added; n >= 1; n-- {
			ids = append(ids, fmt.Sprintf("p-new-%06d", n))
		}
		s.mu.Unlock()
	}
	for p := range s.cfg.ProposalsPerJob {
		ids = append(ids, proposalID(j, s.cfg.ProposalsPerJob-1-p))
	}
	items, next, ok := page(w, r, ids)
	if !ok {
		return
	}
	props := make([]map[string]any, len(items))
	for i, id := range items {
		status := statuses[id]
		if status == "" {
			status = s.baseStatus(id)
		}
		var score any
		if listed := s.ListedScore(id); listed != "" {
			score = json.RawMessage(listed)
		}
		props[i] = map[string]any{"id": id, "jobId": job, "status": map[string]any{"raw": status, "label": strings.ToLower(status)},
			"createdAt": "2026-06-11T15:40:00.000Z", "metrics": map[string]any{"interviewScore": score, "matchScore": 0.91}}
	}
	writeJSON(w, http.StatusOK, map[string]any{"proposals": props, "nextCursor": nullable(next)})
}

// baseStatus is a proposal's hiring status until an event changes it:
// mostly UNREVIEWED, some already decided.
func (s *Server) baseStatus(id string) string {
	switch u := s.unit(id, "status", 0); {
	case u < 0.55:
		return "UNREVIEWED"
	case u < 0.70:
		return "SHORTLISTED"
	case u < 0.80:
		return "MAYBE"
	case u < 0.88:
		return "DECLINED"
	case u < 0.95:
		return "NOT_A_FIT"
	}
	return "HIRED"
}

// currentStatuses are the statuses the feed's proposal.status_changed
// events set, the latest winning: what a listing shows now.
func (s *Server) currentStatuses() map[string]string {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.initFeed()
	out := map[string]string{}
	for _, e := range s.feed {
		if e.Type == "proposal.status_changed" {
			out[e.ProposalID] = e.Status
		}
	}
	return out
}

func nullable(s string) any {
	if s == "" {
		return nil
	}
	return s
}

// earlyGrace is how long after a 429 a request may still arrive without
// counting as early: it left before the client could have read the 429
// (a loaded machine under the race detector needs that long).
const earlyGrace = 200 * time.Millisecond

// maxArrivals bounds the memory of Stats.Arrivals on a long-running fake.
const maxArrivals = 1 << 20

var requestSeq atomic.Int64

func writeError(w http.ResponseWriter, status int, code, msg string, details map[string]any) {
	if details == nil {
		details = map[string]any{}
	}
	writeJSON(w, status, map[string]any{"error": msg, "code": code,
		"requestId": fmt.Sprintf("00000000-0000-4000-8000-%012d", requestSeq.Add(1)), "details": details})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	writeRaw(w, status, b)
}

func writeRaw(w http.ResponseWriter, status int, body []byte) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(status)
	w.Write(body)
}
