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
	cursor := ""
	for {
		var page struct {
			Jobs []struct {
				ID string `json:"id"`
			} `json:"jobs"`
			NextCursor *string `json:"nextCursor"`
		}
		if err := s.Client.list(ctx, "GET /jobs/mine", s.Client.endpoint("jobs", "mine"), cursor, &page); err != nil {
			return err
		}
		for _, j := range page.Jobs {
			if err := s.jobProposals(ctx, j.ID, yield); err != nil {
				return err
			}
		}
		if page.NextCursor == nil || *page.NextCursor == "" {
			return nil
		}
		cursor = *page.NextCursor
	}
}

func (s *JobsSource) jobProposals(ctx context.Context, job string, yield func(Input) error) error {
	cursor := ""
	for {
		var page struct {
			Proposals []struct {
				ID string `json:"id"`
			} `json:"proposals"`
			NextCursor *string `json:"nextCursor"`
		}
		what := fmt.Sprintf("GET /jobs/%s/proposals", job)
		if err := s.Client.list(ctx, what, s.Client.endpoint("jobs", job, "proposals"), cursor, &page); err != nil {
			return err
		}
		for _, p := range page.Proposals {
			in := Input{ID: p.ID, Where: "job " + job}
			if err := ValidateID(p.ID); err != nil {
				in.Err = err
			}
			if err := yield(in); err != nil {
				return err
			}
		}
		if page.NextCursor == nil || *page.NextCursor == "" {
			return nil
		}
		cursor = *page.NextCursor
	}
}

// Describe names the source.
func (s *JobsSource) Describe() string {
	if s.All {
		return "all-jobs"
	}
	return fmt.Sprintf("jobs:%v", s.Jobs)
}

// list fetches one page of a cursor-paginated listing into page.
func (c *Client) list(ctx context.Context, what, endpoint, cursor string, page any) error {
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
	if err := json.Unmarshal(r.body, page); err != nil {
		return fmt.Errorf("%s: unexpected response: %v", what, err)
	}
	return nil
}
