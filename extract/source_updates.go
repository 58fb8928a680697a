package extract

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"time"
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
	// Newest is set, as the feed is read, to the creation time of the
	// newest event read.
	Newest time.Time
	// Warn is told what the run could not learn (a listing refused); it
	// never stops the run. Default: nothing is said.
	Warn func(msg string, args ...any)
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

// IDs yields the retries, then the feed's inputs, then what the listings
// say of the proposals the feed brought (see enrich).
func (s *UpdatesSource) IDs(ctx context.Context, yield func(Input) error) error {
	received := map[string]map[string]bool{} // job → its proposals the feed brought
	collect := func(in Input) error {
		if in.Kind == Fetch && in.Event == "proposal.received" && in.Proposal != nil && in.Proposal.JobID != "" {
			if received[in.Proposal.JobID] == nil {
				received[in.Proposal.JobID] = map[string]bool{}
			}
			received[in.Proposal.JobID][in.ID] = true
		}
		return yield(in)
	}
	if err := s.read(ctx, collect); err != nil {
		return err
	}
	return s.enrich(ctx, received, yield)
}

// read yields the retries, then the feed's inputs.
func (s *UpdatesSource) read(ctx context.Context, yield func(Input) error) error {
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
		page, err := s.Client.feedPage(ctx, after, fromStart)
		if err != nil {
			return err
		}
		last := after
		for _, e := range page.Events {
			seq, _ := feedID(e.ID) // feedPage checked it
			if seq <= last {
				continue // delivered again (at least once): handled already
			}
			last = seq
			if at := apiTime(e.CreatedAt); at.After(s.Newest) {
				s.Newest = at
			}
			if err := yield(s.input(e, seq)); err != nil {
				return err
			}
		}
		next := page.next(last)
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

// errListingDone stops a listing once it said what was asked.
var errListingDone = errors.New("listing done")

// enrich fills what the feed does not say: each new proposal's status, from
// its job's listing (newest first, so the new ones are on its first pages:
// at most one page per 100 of them), and each job's title and status, from
// GET /jobs/mine (⌈jobs/100⌉ pages). A night that brought no proposal asks
// nothing. A refused listing (a token without jobs:read) is said to Warn and
// skipped: it never stops the run.
func (s *UpdatesSource) enrich(ctx context.Context, received map[string]map[string]bool, yield func(Input) error) error {
	if len(received) == 0 {
		return nil
	}
	for _, job := range slices.Sorted(maps.Keys(received)) {
		want := received[job]
		budget := (len(want) + 99) / 100 * 100 // items of at most that many pages
		what := fmt.Sprintf("GET /jobs/%s/proposals", job)
		err := s.Client.eachListed(ctx, what, s.Client.endpoint("jobs", job, "proposals"), "proposals", func(raw json.RawMessage) error {
			budget--
			var p listedProposal
			if err := json.Unmarshal(raw, &p); err == nil && want[p.ID] {
				delete(want, p.ID)
				err := yield(Input{Kind: Facts, ID: p.ID, Where: "job " + job, Proposal: p.facts(job)})
				if err != nil {
					return err
				}
			}
			if len(want) == 0 || budget <= 0 {
				return errListingDone
			}
			return nil
		})
		if err := s.listingErr(err); err != nil {
			return err
		}
	}
	err := s.Client.eachListed(ctx, "GET /jobs/mine", s.Client.endpoint("jobs", "mine"), "jobs", func(raw json.RawMessage) error {
		var j listedJob
		if err := json.Unmarshal(raw, &j); err != nil || j.ID == "" {
			return nil
		}
		return yield(Input{Kind: JobListed, Job: &JobFacts{ID: j.ID, Title: j.Title, Status: j.Status,
			CreatedAt: apiTime(j.CreatedAt), UpdatedAt: apiTime(j.UpdatedAt), ProposalsTotal: j.ProposalCounts.Total}})
	})
	return s.listingErr(err)
}

// listingErr keeps what must stop the run (the token refused, the API
// unreachable, a stop) and tells Warn of the rest.
func (s *UpdatesSource) listingErr(err error) error {
	switch {
	case err == nil, errors.Is(err, errListingDone):
		return nil
	case errors.Is(err, ErrListingRefused):
		if s.Warn != nil {
			s.Warn("a listing was refused: statuses or job titles stay unknown for now (does the token have jobs:read?)", "error", err.Error())
		}
		return nil
	}
	return err
}

// feedPage reads the page of GET /updates after cursor after (from the
// beginning of the history when fromStart).
func (c *Client) feedPage(ctx context.Context, after int64, fromStart bool) (feedPage, error) {
	q := url.Values{"limit": {"200"}}
	if !fromStart {
		q.Set("cursor", strconv.FormatInt(after, 10))
	}
	var page feedPage
	if err := c.getJSON(ctx, "GET /updates", c.endpoint("updates")+"?"+q.Encode(), &page); err != nil {
		return page, cursorRefused(err, after, fromStart)
	}
	for _, e := range page.Events {
		if _, ok := feedID(e.ID); !ok {
			return page, fmt.Errorf("GET /updates: unexpected response: event id %s is not a number", e.ID)
		}
	}
	return page, nil
}

// next is the cursor after the page, whose last new event is last: an
// empty page echoes the cursor (null when there was none).
func (p feedPage) next(last int64) int64 {
	next, ok := feedID(p.NextCursor)
	if !ok || next < last {
		return last
	}
	return next
}

// FeedEnd reads the feed from after (from the beginning when fromStart) to
// its end without handling any event, and returns the last cursor and the
// number of events passed over: what "feed reset --to latest" stores.
func (c *Client) FeedEnd(ctx context.Context, after int64, fromStart bool) (cursor, skipped int64, err error) {
	for {
		page, err := c.feedPage(ctx, after, fromStart)
		if err != nil {
			return 0, skipped, err
		}
		last := after
		for _, e := range page.Events {
			if seq, _ := feedID(e.ID); seq > last {
				last = seq
				skipped++
			}
		}
		next := page.next(last)
		if !page.HasMore || (next <= after && !fromStart) {
			return next, skipped, nil
		}
		after, fromStart = next, false
	}
}

// FeedPeek reads one page of the feed after cursor after (from the
// beginning when fromStart) and returns how many events it holds: what
// "check" asks of the feed.
func (c *Client) FeedPeek(ctx context.Context, after int64, fromStart bool) (events int, err error) {
	page, err := c.feedPage(ctx, after, fromStart)
	return len(page.Events), err
}

// CursorRefusedError is a stored feed cursor the API refuses (400, or 410
// when the history behind it expired): no run can go on from it until an
// operator resets it.
type CursorRefusedError struct {
	Cursor int64
	Err    error
}

func (e *CursorRefusedError) Error() string {
	return fmt.Sprintf("the API refuses the feed cursor %d: %v", e.Cursor, e.Err)
}

func (e *CursorRefusedError) Unwrap() error { return e.Err }

// cursorRefused makes a 400 or 410 answer to a page read from a stored
// cursor a *CursorRefusedError.
func cursorRefused(err error, cursor int64, fromStart bool) error {
	var fe *FetchError
	if fromStart || !errors.As(err, &fe) || (fe.HTTPStatus != http.StatusBadRequest && fe.HTTPStatus != http.StatusGone) {
		return err
	}
	return &CursorRefusedError{Cursor: cursor, Err: fe}
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
