package extract

import (
	"context"
	"encoding/json"
	"fmt"
	"time"
)

// JobsSource discovers proposal IDs through the API: the proposals of the
// given jobs, or of every job of the account (All) listed by GET /jobs/mine,
// following nextCursor to the end. Every page goes through the client's
// pace and retries like any other request, and IDs are yielded page by page
// so transcripts are fetched while discovery is still paging. What the
// listings say of each job and proposal (title, status, times) comes along
// in the inputs' facts.
type JobsSource struct {
	Client *Client
	Jobs   []string
	All    bool
}

type listedJob struct {
	ID             string `json:"id"`
	Title          string `json:"title"`
	Status         string `json:"status"`
	CreatedAt      string `json:"createdAt"`
	UpdatedAt      string `json:"updatedAt"`
	ProposalCounts struct {
		Total *int32 `json:"total"`
	} `json:"proposalCounts"`
}

type listedProposal struct {
	ID     string `json:"id"`
	JobID  string `json:"jobId"`
	Status struct {
		Raw string `json:"raw"`
	} `json:"status"`
	CreatedAt string `json:"createdAt"`
	Metrics   struct {
		// InterviewScore is kept as its literal; anything but a number
		// (null, a string) says nothing.
		InterviewScore json.RawMessage `json:"interviewScore"`
	} `json:"metrics"`
}

// listedScore is the listing's metrics.interviewScore as a decimal literal,
// "" unless it is a JSON number.
func (p listedProposal) listedScore() string {
	var n json.Number
	if len(p.Metrics.InterviewScore) == 0 || p.Metrics.InterviewScore[0] == '"' || json.Unmarshal(p.Metrics.InterviewScore, &n) != nil {
		return ""
	}
	return n.String()
}

// facts are what the listing says of the proposal, on job.
func (p listedProposal) facts(job string) *ProposalFacts {
	return &ProposalFacts{JobID: job, Status: p.Status.Raw, ReceivedAt: apiTime(p.CreatedAt), ListedScore: p.listedScore()}
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
		func(raw json.RawMessage) error {
			var j listedJob
			if err := json.Unmarshal(raw, &j); err != nil || j.ID == "" {
				return fmt.Errorf("GET /jobs/mine: unexpected response: a job without a string id")
			}
			facts := &JobFacts{ID: j.ID, Title: j.Title, Status: j.Status, CreatedAt: apiTime(j.CreatedAt), UpdatedAt: apiTime(j.UpdatedAt),
				ProposalsTotal: j.ProposalCounts.Total}
			if err := yield(Input{Kind: JobListed, Job: facts}); err != nil {
				return err
			}
			return s.jobProposals(ctx, j.ID, yield)
		})
}

func (s *JobsSource) jobProposals(ctx context.Context, job string, yield func(Input) error) error {
	what := fmt.Sprintf("GET /jobs/%s/proposals", job)
	return s.Client.eachListed(ctx, what, s.Client.endpoint("jobs", job, "proposals"), "proposals",
		func(raw json.RawMessage) error {
			var p listedProposal
			if err := json.Unmarshal(raw, &p); err != nil {
				return fmt.Errorf("%s: unexpected response: %v", what, err)
			}
			where := "job " + job
			if err := ValidateID(p.ID); err != nil {
				return yield(refused(p.ID, where, err))
			}
			jobID := p.JobID
			if jobID == "" {
				jobID = job
			}
			return yield(Input{ID: p.ID, Where: where, Proposal: p.facts(jobID)})
		})
}

// apiTime reads an ISO-8601 time of a listing or an event; a missing or
// unreadable one is the zero time (stored as NULL): facts learned in passing
// never stop a run.
func apiTime(s string) time.Time {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return time.Time{}
	}
	return t
}

// Describe names the source.
func (s *JobsSource) Describe() string {
	if s.All {
		return "all-jobs"
	}
	return fmt.Sprintf("jobs:%v", s.Jobs)
}
