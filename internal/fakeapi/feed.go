package fakeapi

import (
	"fmt"
	"net/http"
	"strconv"
	"time"
)

// Event is one record of the change feed, GET /updates.
type Event struct {
	ID         int64
	Type       string
	CreatedAt  time.Time
	ProposalID string
	JobID      string
	Status     string // proposal.status_changed only
}

// feedStart is the id before the first event: real ids are large numbers.
const feedStart = 1000

// eventScope is the scope a token needs to see an event type.
func eventScope(typ string) string {
	switch typ {
	case "message.received":
		return "messages:read"
	case "contract.created", "milestone.status_changed", "payment.pending", "approval.confirmed", "contract.budget_state_changed":
		return "payments:read"
	}
	return "proposals:read" // proposal.* (and types added later under it)
}

// initFeed builds the account's history from the data set, once: each
// proposal is received in order; every 7th then changes status, every
// 11th gets a message, every 17th a payment event, and every 23rd an event
// of a type the exporter does not know ("proposal.archived").
func (s *Server) initFeed() {
	if s.feed != nil {
		return
	}
	s.feed = []Event{}
	at := time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC)
	for i, id := range s.ProposalIDs() {
		job := jobID(i / max(s.cfg.ProposalsPerJob, 1))
		s.appendEvent(Event{Type: "proposal.received", ProposalID: id, JobID: job}, at)
		switch {
		case i%7 == 3:
			s.appendEvent(Event{Type: "proposal.status_changed", ProposalID: id, JobID: job, Status: "SHORTLISTED"}, at)
		case i%11 == 5:
			s.appendEvent(Event{Type: "message.received", JobID: job}, at)
		case i%17 == 9:
			s.appendEvent(Event{Type: "payment.pending", JobID: job}, at)
		case i%23 == 13:
			s.appendEvent(Event{Type: "proposal.archived", ProposalID: id, JobID: job}, at)
		}
		at = at.Add(time.Minute)
	}
}

func (s *Server) appendEvent(e Event, at time.Time) {
	e.ID = feedStart + int64(len(s.feed)) + 1
	e.CreatedAt = at
	s.feed = append(s.feed, e)
}

// AddProposals appends n new proposals to the feed (proposal.received, on
// job-0000) and returns their IDs; their interviews answer like any other ID.
func (s *Server) AddProposals(n int) []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.initFeed()
	ids := make([]string, n)
	for i := range ids {
		s.added++
		ids[i] = fmt.Sprintf("p-new-%06d", s.added)
		s.appendEvent(Event{Type: "proposal.received", ProposalID: ids[i], JobID: jobID(0)}, time.Now().UTC())
	}
	return ids
}

// AddEvent appends an event of any type: its ID is the next one, its time
// e.CreatedAt (now when zero).
func (s *Server) AddEvent(e Event) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.initFeed()
	at := e.CreatedAt
	if at.IsZero() {
		at = time.Now().UTC()
	}
	s.appendEvent(e, at)
}

// ExpireFeedBefore makes the feed refuse (410 GONE) every cursor below id,
// as a feed whose history expired would.
func (s *Server) ExpireFeedBefore(id int64) { s.feedOldest.Store(id) }

// Feed returns every event of the account's history, as the token with
// every scope would see it.
func (s *Server) Feed() []Event {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.initFeed()
	return append([]Event(nil), s.feed...)
}

// updates serves GET /updates: events after cursor, oldest first, those
// whose scope the token lacks filtered out; limit 1–200 (default 50);
// nextCursor is the last event's id, or the input cursor on an empty page.
func (s *Server) updates(w http.ResponseWriter, r *http.Request) {
	if !s.hasScope("proposals:read") && !s.hasScope("messages:read") && !s.hasScope("payments:read") {
		writeError(w, http.StatusForbidden, "FORBIDDEN", "Missing scope",
			map[string]any{"requiredScopes": []string{"proposals:read", "messages:read", "payments:read"}})
		return
	}
	limit := 50
	if v := r.URL.Query().Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 200 {
			writeError(w, http.StatusBadRequest, "BAD_REQUEST", "limit must be a number from 1 to 200", map[string]any{"field": "limit"})
			return
		}
		limit = n
	}
	var after int64
	var cursor any // echoed on an empty page
	if v := r.URL.Query().Get("cursor"); v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n < 0 {
			writeError(w, http.StatusBadRequest, "BAD_REQUEST", "cursor must be a numeric event id", map[string]any{"field": "cursor"})
			return
		}
		if n < max(s.cfg.FeedOldestCursor, s.feedOldest.Load()) {
			writeError(w, http.StatusGone, "GONE", "This cursor is older than the history kept", map[string]any{"cursor": v})
			return
		}
		after, cursor = n, v
	}
	if oldest := max(s.cfg.FeedOldestCursor, s.feedOldest.Load()); cursor == nil && oldest > 0 {
		after = oldest - 1 // the beginning of the history kept
	}
	if s.cfg.FeedRepeat && after > 0 {
		after-- // the event at the cursor again (ids are consecutive here)
	}
	s.mu.Lock()
	s.initFeed()
	var page []Event
	hasMore := false
	for _, e := range s.feed {
		if e.ID <= after || !s.hasScope(eventScope(e.Type)) {
			continue
		}
		if len(page) == limit {
			hasMore = true
			break
		}
		page = append(page, e)
	}
	s.mu.Unlock()
	events := make([]map[string]any, len(page))
	for i, e := range page {
		data := map[string]any{}
		if e.ProposalID != "" {
			data["proposalId"] = e.ProposalID
			data["jobId"] = e.JobID
		}
		if e.Status != "" {
			data["status"] = e.Status
		}
		events[i] = map[string]any{"id": strconv.FormatInt(e.ID, 10), "type": e.Type, "apiVersion": "v1",
			"createdAt": e.CreatedAt.Format("2006-01-02T15:04:05.000Z"), "resourceId": nullable(e.ProposalID),
			"jobId": e.JobID, "data": data}
		cursor = strconv.FormatInt(e.ID, 10)
	}
	s.feedPages.Add(1)
	writeJSON(w, http.StatusOK, map[string]any{"events": events, "nextCursor": cursor, "hasMore": hasMore})
}
