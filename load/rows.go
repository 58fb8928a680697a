package load

import "time"

// Status is the recorded outcome of a proposal's interview.
type Status string

const (
	// StatusAvailable means the API returned a transcript.
	StatusAvailable Status = "available"
	// StatusNoInterview means the API answered 404 with its error envelope:
	// no interview is recorded for the proposal.
	StatusNoInterview Status = "no_interview"
)

// Error codes: the values of export_failures.error_code.
const (
	CodeInvalidID          = "invalid_id"
	CodeForbidden          = "forbidden"
	CodeBadRequest         = "bad_request"
	CodeNotFoundNoEnvelope = "not_found_without_envelope"
	CodeServerError        = "server_error"
	CodeNetworkError       = "network_error"
	CodeTimeout            = "timeout"
	CodeTruncatedBody      = "truncated_body"
	CodeResponseTooLarge   = "response_too_large"
	CodeRateLimited        = "rate_limited"
	CodeUnexpectedStatus   = "unexpected_status"
	CodeInvalidResponse    = "invalid_response"
	CodeUnexpectedRedirect = "unexpected_redirect"
	// CodeError is an error the exporter did not expect (a bug): the
	// message says what happened.
	CodeError = "error"
)

// Codes are every error code a failure can have.
var Codes = []string{CodeInvalidID, CodeForbidden, CodeBadRequest, CodeNotFoundNoEnvelope, CodeServerError,
	CodeNetworkError, CodeTimeout, CodeTruncatedBody, CodeResponseTooLarge, CodeRateLimited, CodeUnexpectedStatus,
	CodeInvalidResponse, CodeUnexpectedRedirect, CodeError}

// Failure classes (export_failures.class, failure_ledger.class).
const (
	// ClassPermanent failures (403, 400, invalid_response, invalid_id) would
	// fail the same way tomorrow: they are re-checked once per
	// WriterOptions.RecheckAfter.
	ClassPermanent = "permanent"
	// ClassTransient failures ran out of attempts (5xx, timeouts, connection
	// errors, truncated bodies…): every --updates run retries them.
	ClassTransient = "transient"
)

// ClassOf is the class of a failure with error code code.
func ClassOf(code string) string {
	switch code {
	case CodeForbidden, CodeBadRequest, CodeInvalidResponse, CodeInvalidID:
		return ClassPermanent
	}
	return ClassTransient
}

// Interview is one row of the interviews table with its messages.
type Interview struct {
	ProposalID  string
	Status      Status
	InterviewID *string
	// Score is the decimal literal exactly as the API sent it (nil for null),
	// stored into a numeric column without rescaling or rounding.
	Score     *string
	Summary   *string
	Messages  []Message
	FetchedAt time.Time
	// Extra holds the members of the interview object the schema does not
	// name, as a JSON object (nil: none).
	Extra []byte
}

// lastMessageAt is when the transcript's last message was sent; nil
// without messages.
func (iv *Interview) lastMessageAt() *time.Time {
	var last *time.Time
	for i := range iv.Messages {
		if at := &iv.Messages[i].SentAt; last == nil || at.After(*last) {
			last = at
		}
	}
	return last
}

// Message is one row of interview_messages. Position is the 0-based index
// of the message in the API's messages array.
type Message struct {
	ID       string
	Position int32
	Role     string
	Content  string
	SentAt   time.Time
	// Extra holds the members of the message the schema does not name, as a
	// JSON object (nil: none).
	Extra []byte
}

// Failure is one row of export_failures: a proposal ID that reached no
// recorded outcome in this run.
type Failure struct {
	ProposalID string
	// HTTPStatus is the last HTTP status received, 0 when there was none
	// (stored as NULL).
	HTTPStatus int
	Code       string
	Message    string
	Attempts   int
	RequestID  string
	// Known is set by Writer.Write: a permanent failure the ledger already
	// held with the same error code.
	Known bool
}

// Batch is what one Writer.Write call commits together.
type Batch struct {
	Interviews []Interview
	Failures   []Failure
	// Proposals and Jobs are facts the sources learned in passing.
	Proposals []Proposal
	Jobs      []Job
	// Cursor, when set, is the feed position this batch completes: it is
	// stored in the same transaction.
	Cursor *FeedCursor
	// Observed holds the run's intake and request counters as they stood
	// when the batch was closed (totals, not this batch's share): they are
	// stored as they are, so a killed run's row still tells how far it got.
	Observed Counts
}

// items counts everything the batch holds: outcomes and facts.
func (b *Batch) items() int {
	return len(b.Interviews) + len(b.Failures) + len(b.Proposals) + len(b.Jobs)
}

// halves splits b's items in two batches; the second carries the cursor
// and the counters, so that they are stored once everything before is.
func (b *Batch) halves() [2]*Batch {
	n := b.items() / 2
	first := &Batch{Observed: b.Observed}
	second := &Batch{Cursor: b.Cursor, Observed: b.Observed}
	take := func(count int) int { // how many of a list of count go first
		k := min(n, count)
		n -= k
		return k
	}
	k := take(len(b.Interviews))
	first.Interviews, second.Interviews = b.Interviews[:k], b.Interviews[k:]
	k = take(len(b.Failures))
	first.Failures, second.Failures = b.Failures[:k], b.Failures[k:]
	k = take(len(b.Proposals))
	first.Proposals, second.Proposals = b.Proposals[:k], b.Proposals[k:]
	k = take(len(b.Jobs))
	first.Jobs, second.Jobs = b.Jobs[:k], b.Jobs[k:]
	return [2]*Batch{first, second}
}

// Len is the number of proposals in the batch that reached an outcome.
func (b *Batch) Len() int { return len(b.Interviews) + len(b.Failures) }
