package extract

import (
	"context"
	"fmt"
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
