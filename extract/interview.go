package extract

// GET /proposals/{id}/interview: the endpoint the export is for.

import (
	"context"
	"fmt"
	"net/http"
	"time"
)

// Answer is the API's final answer about one proposal's interview.
type Answer struct {
	ProposalID string
	// NoInterview is true for a 404 with the API's error envelope.
	NoInterview bool
	// Body is the 200 response body, to be decoded by package transform.
	Body []byte
	// RequestID is the envelope's requestId of a 404, if any.
	RequestID string
	// Attempts counts requests made, 429s excluded.
	Attempts   int
	ReceivedAt time.Time
	// Reserved is what the body holds of Config.BodyBudget: the caller
	// releases it once done with the transcript.
	Reserved int64
}

// Interview fetches GET /proposals/{id}/interview. It returns an Answer for
// a 200 or an enveloped 404, ErrUnauthorized for a 401, a context error when
// ctx ends, and a *FetchError for every other outcome once retries are spent.
func (c *Client) Interview(ctx context.Context, proposalID string) (Answer, error) {
	u := c.endpoint("proposals", proposalID, "interview")
	r, err := c.get(ctx, proposalID, u)
	if err != nil {
		return Answer{}, err
	}
	a := Answer{ProposalID: proposalID, Attempts: r.attempts, ReceivedAt: r.at}
	switch r.status {
	case http.StatusOK:
		a.Body, a.Reserved = r.body, r.reserved
		return a, nil
	case http.StatusNotFound:
		env, ok := parseEnvelope(r.body)
		if !ok || env.Code != "NOT_FOUND" {
			return Answer{}, &FetchError{ProposalID: proposalID, Reason: ReasonNotFoundNoEnvelope, HTTPStatus: r.status,
				APICode: env.Code, RequestID: env.RequestID, Attempts: r.attempts,
				Detail: fmt.Sprintf("404 without the API's NOT_FOUND error envelope (Content-Type %q): a proxy page or a wrong OT_API_URL, not \"no interview\"", r.contentType)}
		}
		a.NoInterview = true
		a.RequestID = env.RequestID
		return a, nil
	}
	return Answer{}, c.statusError(proposalID, r)
}
