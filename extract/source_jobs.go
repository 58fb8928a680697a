package extract

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
)

// JobsSource discovers proposal IDs through the API: the proposals of the
// given jobs, or of every job of the account (All) listed by GET /jobs/mine,
// following nextCursor to the end. Every page goes through the client's
// gate and retries like any other request, and IDs are yielded page by page
// so transcripts are fetched while discovery is still paging.
type JobsSource struct {
	Client *Client
	Jobs   []string
	All    bool
}

// IDs yields the proposal IDs of the jobs.
func (s *JobsSource) IDs(ctx context.Context, yield func(Input) error) error {
	if !s.All {
		for _, job := range s.Jobs {
			if err := s.jobProposals(ctx, job, yield); err != nil {
				return err
			}
		}
		return nil
	}
	return s.Client.eachListed(ctx, "GET /jobs/mine", s.Client.endpoint("jobs", "mine"), "jobs",
		func(job string) error { return s.jobProposals(ctx, job, yield) })
}

func (s *JobsSource) jobProposals(ctx context.Context, job string, yield func(Input) error) error {
	return s.Client.eachListed(ctx, fmt.Sprintf("GET /jobs/%s/proposals", job), s.Client.endpoint("jobs", job, "proposals"), "proposals",
		func(id string) error {
			in := Input{ID: id, Where: "job " + job}
			if err := ValidateID(id); err != nil {
				in.ID, in.Err = refusedID(id), err
			}
			return yield(in)
		})
}

// Describe names the source.
func (s *JobsSource) Describe() string {
	if s.All {
		return "all-jobs"
	}
	return fmt.Sprintf("jobs:%v", s.Jobs)
}

// eachListed calls each with the id of every item under key of every page
// of a cursor-paginated listing, following nextCursor until it is null.
func (c *Client) eachListed(ctx context.Context, what, endpoint, key string, each func(id string) error) error {
	cursor := ""
	for {
		q := url.Values{"limit": {"100"}}
		if cursor != "" {
			q.Set("cursor", cursor)
		}
		r, err := c.get(ctx, "", endpoint+"?"+q.Encode())
		if err != nil {
			return fmt.Errorf("%s: %w", what, err)
		}
		if r.status != http.StatusOK {
			return fmt.Errorf("%s: %w", what, c.statusError("", r))
		}
		var page map[string]json.RawMessage
		if err := json.Unmarshal(r.body, &page); err != nil {
			return fmt.Errorf("%s: unexpected response: %v", what, err)
		}
		var items []struct {
			ID string `json:"id"`
		}
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
			if err := each(it.ID); err != nil {
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
