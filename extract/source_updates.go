package extract

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"strconv"
)

// UpdatesSource reads the change feed, GET /updates, from a stored cursor
// (oldest event first, 200 per page, following nextCursor while hasMore).
// Before the feed it yields Retry: IDs whose earlier fetch failed, so that
// a failure never holds the cursor back and is still retried by every run
// until it has an outcome.
//
// proposal.received yields the proposal's ID to fetch, with its job and
// time; proposal.status_changed yields a record of the new status (no
// fetch); any other type, including ones added to the API later, yields a
// record that is only counted. Each input carries the event's id as Seq,
// and each page ends with a record whose Seq is the page's nextCursor.
type UpdatesSource struct {
	Client *Client
	// After is the stored cursor: events after it are read. 0 with
	// FromStart reads the account's whole history.
	After     int64
	FromStart bool
	// Retry are IDs to fetch again before the feed.
	Retry []string
}

// feedPage is the documented shape of GET /updates.
type feedPage struct {
	Events     []feedEvent     `json:"events"`
	NextCursor json.RawMessage `json:"nextCursor"`
	HasMore    bool            `json:"hasMore"`
}

type feedEvent struct {
	ID        json.RawMessage `json:"id"` // a numeric string, e.g. "1042"
	Type      string          `json:"type"`
	CreatedAt string          `json:"createdAt"`
	JobID     string          `json:"jobId"`
	Data      struct {
		ProposalID string `json:"proposalId"`
		JobID      string `json:"jobId"`
		Status     string `json:"status"`
	} `json:"data"`
}

// feedID reads an event id or cursor: a numeric string (or a number).
func feedID(raw json.RawMessage) (int64, bool) {
	var s string
	if err := json.Unmarshal(raw, &s); err != nil {
		s = string(raw)
	}
	n, err := strconv.ParseInt(s, 10, 64)
	return n, err == nil && n >= 0
}

// IDs yields the retries, then the feed's inputs.
func (s *UpdatesSource) IDs(ctx context.Context, yield func(Input) error) error {
	for _, id := range s.Retry {
		in := Input{ID: id, Where: "retry of an earlier failure"}
		if err := ValidateID(id); err != nil {
			continue // recorded as invalid_id already: it never succeeds
		}
		if err := yield(in); err != nil {
			return err
		}
	}
	after, fromStart := s.After, s.FromStart
	for {
		q := url.Values{"limit": {"200"}}
		if !fromStart {
			q.Set("cursor", strconv.FormatInt(after, 10))
		}
		var page feedPage
		if err := s.Client.getJSON(ctx, "GET /updates", s.Client.endpoint("updates")+"?"+q.Encode(), &page); err != nil {
			return err
		}
		last := after
		for _, e := range page.Events {
			seq, ok := feedID(e.ID)
			if !ok || seq <= last {
				return fmt.Errorf("GET /updates: unexpected response: event id %s is not a number after %d", e.ID, last)
			}
			last = seq
			if err := yield(s.input(e, seq)); err != nil {
				return err
			}
		}
		next, ok := feedID(page.NextCursor)
		if !ok || next < last {
			next = last // an empty page echoes the cursor (null when there was none)
		}
		if next > after || fromStart {
			if err := yield(Input{Kind: Progress, Seq: next}); err != nil {
				return err
			}
		}
		if !page.HasMore {
			return nil
		}
		if next <= after && !fromStart {
			return fmt.Errorf("GET /updates: hasMore with a nextCursor that does not move (%d); stopping rather than looping", next)
		}
		after, fromStart = next, false
	}
}

// input turns one event into what the run does with it.
func (s *UpdatesSource) input(e feedEvent, seq int64) Input {
	in := Input{Kind: Progress, Seq: seq, Event: e.Type, Where: fmt.Sprintf("event %d", seq)}
	id := e.Data.ProposalID
	job := e.Data.JobID
	if job == "" {
		job = e.JobID
	}
	switch e.Type {
	case "proposal.received":
		in.Kind, in.Proposal = Fetch, &ProposalFacts{JobID: job, ReceivedAt: apiTime(e.CreatedAt)}
	case "proposal.status_changed":
		in.Kind, in.Proposal = Facts, &ProposalFacts{JobID: job, Status: e.Data.Status, StatusAt: apiTime(e.CreatedAt), StatusSeq: seq}
	default:
		return in // counted, then skipped
	}
	err := ValidateID(id)
	switch {
	case err == nil:
		in.ID = id
	case in.Kind == Fetch:
		in = refused(id, in.Where, err)
		in.Seq, in.Event = seq, e.Type
	default:
		in.Kind, in.Proposal = Progress, nil // a status for no valid ID: counted, nothing to record
	}
	return in
}

// Describe names the source.
func (s *UpdatesSource) Describe() string { return "updates" }
