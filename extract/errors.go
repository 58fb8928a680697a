package extract

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
)

// Reason classifies why a fetch failed. Package transform turns it into
// the failure's error code (load.Code*).
type Reason string

// The reasons a fetch fails.
const (
	ReasonForbidden          Reason = "forbidden"
	ReasonBadRequest         Reason = "bad_request"
	ReasonUnauthorized       Reason = "unauthorized"
	ReasonNotFoundNoEnvelope Reason = "not_found_without_envelope"
	ReasonServerError        Reason = "server_error"
	ReasonNetworkError       Reason = "network_error"
	ReasonTimeout            Reason = "timeout"
	ReasonTruncatedBody      Reason = "truncated_body"
	ReasonResponseTooLarge   Reason = "response_too_large"
	ReasonRateLimited        Reason = "rate_limited"
	ReasonUnexpectedStatus   Reason = "unexpected_status"
	ReasonUnexpectedRedirect Reason = "unexpected_redirect"
)

// Reasons are every Reason a FetchError can have.
var Reasons = []Reason{ReasonForbidden, ReasonBadRequest, ReasonUnauthorized, ReasonNotFoundNoEnvelope, ReasonServerError,
	ReasonNetworkError, ReasonTimeout, ReasonTruncatedBody, ReasonResponseTooLarge, ReasonRateLimited,
	ReasonUnexpectedStatus, ReasonUnexpectedRedirect}

// ErrUnauthorized means the API rejected the token (401): it is missing,
// invalid, expired or revoked. Nothing more can succeed, so the run stops.
var ErrUnauthorized = errors.New("the API rejected the token (401 UNAUTHORIZED)")

// ErrListingRefused means the API refused a listing (a 4xx other than 401
// for GET /jobs/mine or GET /jobs/{id}/proposals): a wrong job ID or a
// missing scope, which a retry will not mend.
var ErrListingRefused = errors.New("the API refused the listing")

// ErrScopeMissing means the token is valid but lacks a scope the run needs.
var ErrScopeMissing = errors.New("the token lacks a required scope")

// Envelope is the API's error body:
// {"error": "...", "code": "NOT_FOUND", "requestId": "...", "details": {...}}.
type Envelope struct {
	Message   string         `json:"error"`
	Code      string         `json:"code"`
	RequestID string         `json:"requestId"`
	Details   map[string]any `json:"details"`
}

// parseEnvelope returns the envelope in body, or false when body is not one
// (an HTML page from a proxy, an empty body, another JSON shape).
func parseEnvelope(body []byte) (Envelope, bool) {
	var raw struct {
		Message   *string        `json:"error"`
		Code      *string        `json:"code"`
		RequestID string         `json:"requestId"`
		Details   map[string]any `json:"details"`
	}
	if err := json.Unmarshal(body, &raw); err != nil || raw.Message == nil || raw.Code == nil || *raw.Code == "" {
		return Envelope{}, false
	}
	return Envelope{Message: *raw.Message, Code: *raw.Code, RequestID: raw.RequestID, Details: raw.Details}, true
}

// FetchError is a proposal whose interview could not be fetched: one row of
// export_failures. It never contains the token or response content other
// than the API's own error message and code.
type FetchError struct {
	ProposalID string
	// Reason says why the fetch failed.
	Reason Reason
	// HTTPStatus is the last HTTP status received, 0 when none was.
	HTTPStatus int
	// APICode and RequestID come from the API's error envelope, when there was one.
	APICode   string
	RequestID string
	// Detail says what happened, for a person.
	Detail string
	// Attempts counts the requests made for this proposal, 429s excluded.
	Attempts int
	Err      error
}

func (e *FetchError) Error() string {
	var b strings.Builder
	if e.ProposalID != "" {
		fmt.Fprintf(&b, "proposal %q: ", e.ProposalID)
	}
	b.WriteString(string(e.Reason))
	if e.HTTPStatus != 0 {
		fmt.Fprintf(&b, " (HTTP %d", e.HTTPStatus)
		if e.APICode != "" {
			fmt.Fprintf(&b, " %s", e.APICode)
		}
		b.WriteString(")")
	}
	if e.Detail != "" {
		fmt.Fprintf(&b, ": %s", e.Detail)
	}
	if e.RequestID != "" {
		fmt.Fprintf(&b, " [requestId %s]", e.RequestID)
	}
	if e.Attempts > 1 {
		fmt.Fprintf(&b, " after %d attempts", e.Attempts)
	}
	return b.String()
}

func (e *FetchError) Unwrap() error { return e.Err }

// envelopeDetail is what a failure quotes of an error envelope: its error
// text alone (its code is the failure's APICode). Never its details: an API
// may echo there what the request or the proposal holds, and a failure
// must not carry what a candidate said.
func envelopeDetail(env Envelope) string { return env.Message }
