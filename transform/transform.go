// Package transform turns what package extract returns into the rows that
// package load writes, following the contract's rules for stored text and
// values. It owns those rules; it does no I/O and imports neither load nor
// anything that does.
//
//   - NUL characters are removed from all text and each byte of invalid
//     UTF-8 (and each JSON lone surrogate) becomes U+FFFD; nothing else is
//     trimmed or normalized.
//   - sentAt may carry any RFC 3339 offset; it becomes the same instant,
//     to the microsecond (timestamptz's precision).
//   - score is kept as the decimal literal the API sent, never rescaled.
//   - Roles are kept as given; position is the index in the messages array.
//   - A transcript that breaks the schema (wrong types, a missing required
//     field, duplicate message IDs, another proposal's ID, a score outside
//     PostgreSQL's numeric range) is an *InvalidResponseError: a failure,
//     never a partial write.
//
// Bodies are decoded by json/v2 (github.com/go-json-experiment/json, the
// module behind encoding/json/v2); FuzzDecodeMatchesEncodingJSON holds the
// result to what encoding/json would decode, with the differences written
// down there.
package transform

import (
	"errors"
	"fmt"

	"github.com/interview-export/interview-export/extract"
	"github.com/interview-export/interview-export/internal/sanitize"
	"github.com/interview-export/interview-export/load"
)

// InvalidResponseError is a complete 200 body that does not follow the
// interview schema. It is not retried: the same body would come back.
type InvalidResponseError struct {
	// Field locates the problem, e.g. "interview.messages[3].sentAt".
	Field  string
	Reason string
}

func (e *InvalidResponseError) Error() string {
	if e.Field == "" {
		return "invalid response: " + e.Reason
	}
	return fmt.Sprintf("invalid response: %s: %s", e.Field, e.Reason)
}

// Answer turns an answer of the API into the interviews row to write: a
// decoded transcript for a 200, a no_interview row for an enveloped 404.
func Answer(a extract.Answer) (load.Interview, error) {
	if a.NoInterview {
		return load.Interview{ProposalID: a.ProposalID, Status: load.StatusNoInterview, FetchedAt: a.ReceivedAt}, nil
	}
	iv, err := Decode(a.ProposalID, a.Body)
	iv.FetchedAt = a.ReceivedAt
	return iv, err
}

// Failure turns the error that ended a proposal into its export_failures row.
// attempts is used when err does not carry its own count.
func Failure(proposalID string, err error, attempts int) load.Failure {
	f := load.Failure{ProposalID: proposalID, Attempts: attempts, Message: err.Error()}
	var fe *extract.FetchError
	var idErr *extract.InvalidIDError
	var respErr *InvalidResponseError
	switch {
	case errors.As(err, &fe):
		f.Code, f.HTTPStatus, f.RequestID, f.Attempts = FailureCode(fe.Reason), fe.HTTPStatus, fe.RequestID, fe.Attempts
		f.Message = fe.Detail
	case errors.As(err, &idErr):
		f.Code, f.Message = load.CodeInvalidID, idErr.Reason
	case errors.As(err, &respErr):
		f.Code, f.HTTPStatus, f.Message = load.CodeInvalidResponse, 200, respErr.Error()
	default:
		f.Code = load.CodeError
	}
	f.Message = sanitize.Text(f.Message)
	return f
}

// failureCodes are the error codes of the reasons a fetch fails.
var failureCodes = map[extract.Reason]string{
	extract.ReasonForbidden:          load.CodeForbidden,
	extract.ReasonBadRequest:         load.CodeBadRequest,
	extract.ReasonNotFoundNoEnvelope: load.CodeNotFoundNoEnvelope,
	extract.ReasonServerError:        load.CodeServerError,
	extract.ReasonNetworkError:       load.CodeNetworkError,
	extract.ReasonTimeout:            load.CodeTimeout,
	extract.ReasonTruncatedBody:      load.CodeTruncatedBody,
	extract.ReasonResponseTooLarge:   load.CodeResponseTooLarge,
	extract.ReasonRateLimited:        load.CodeRateLimited,
	extract.ReasonUnexpectedStatus:   load.CodeUnexpectedStatus,
	extract.ReasonUnexpectedRedirect: load.CodeUnexpectedRedirect,
}

// FailureCode is the error code recorded for a fetch that failed for
// reason; CodeError for one the exporter does not expect to record (a 401
// stops the run instead).
func FailureCode(reason extract.Reason) string {
	if code, ok := failureCodes[reason]; ok {
		return code
	}
	return load.CodeError
}

// Proposal turns what a source learned of proposal id in passing into its
// row of proposals: raw values as the API gave them, text made storable.
func Proposal(id string, f extract.ProposalFacts) load.Proposal {
	return load.Proposal{ProposalID: id, JobID: sanitize.Text(f.JobID), Status: sanitize.Text(f.Status),
		ReceivedAt: f.ReceivedAt, StatusAt: f.StatusAt, StatusEventID: f.StatusSeq, ListedScore: listedScore(f.ListedScore)}
}

// listedScore is a listing's score if PostgreSQL's numeric holds it, ""
// otherwise: a fact learned in passing never fails a batch.
func listedScore(literal string) string {
	if literal == "" {
		return ""
	}
	if intDigits, scale := numericDigits(literal); intDigits > maxNumericIntDigits || scale > maxNumericScale {
		return ""
	}
	return literal
}

// Job turns a job listed by GET /jobs/mine into its row of jobs.
func Job(f extract.JobFacts) load.Job {
	return load.Job{JobID: sanitize.Text(f.ID), Title: sanitize.Text(f.Title), Status: sanitize.Text(f.Status),
		CreatedAt: f.CreatedAt, UpdatedAt: f.UpdatedAt, ProposalsTotal: f.ProposalsTotal}
}
