// Package transform turns what package extract returns into the rows that
// package load writes, following the contract's rules for stored text and
// values. It does no I/O.
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
package transform

import (
	"bytes"
	"errors"
	"fmt"
	"time"

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

// Decode decodes the 200 body of GET /proposals/{proposalID}/interview.
// The text of the Interview it returns shares body's memory (no copy):
// body must not be modified afterwards.
func Decode(proposalID string, body []byte) (load.Interview, error) {
	in, err := parseBody(body)
	if err != nil {
		return load.Interview{}, err
	}
	if !in.set {
		return load.Interview{}, &InvalidResponseError{Field: "interview", Reason: "missing or null"}
	}
	if in.proposalID.set && in.proposalID.s != proposalID {
		return load.Interview{}, &InvalidResponseError{Field: "interview.proposalId", Reason: "names another proposal"}
	}
	if !in.interviewID.set {
		return load.Interview{}, &InvalidResponseError{Field: "interview.interviewId", Reason: "missing or null"}
	}
	if !in.messagesSet {
		return load.Interview{}, &InvalidResponseError{Field: "interview.messages", Reason: "missing or null"}
	}
	score, err := decodeScore(in.score)
	if err != nil {
		return load.Interview{}, err
	}
	iv := load.Interview{
		ProposalID:  proposalID,
		Status:      load.StatusAvailable,
		InterviewID: text(in.interviewID),
		Score:       score,
		Summary:     text(in.summary),
		Messages:    make([]load.Message, len(in.messages)),
	}
	var seen map[string]int // only for long transcripts: a scan of the earlier IDs is cheaper below
	if len(in.messages) > smallTranscript {
		seen = make(map[string]int, len(in.messages))
	}
	for i := range in.messages {
		msg, err := decodeMessage(i, &in.messages[i])
		if err != nil {
			return load.Interview{}, err
		}
		if j := sameID(iv.Messages[:i], seen, msg.ID); j >= 0 {
			return load.Interview{}, &InvalidResponseError{Field: fmt.Sprintf("interview.messages[%d].id", i),
				Reason: fmt.Sprintf("same id as messages[%d]", j)}
		}
		if seen != nil {
			seen[msg.ID] = i
		}
		iv.Messages[i] = msg
	}
	releaseWire(&in)
	return iv, nil
}

// smallTranscript is the most messages whose IDs are checked for
// duplicates by scanning rather than through a map.
const smallTranscript = 48

// sameID returns the position of the earlier message with ID id, or -1.
// seen indexes the earlier messages when not nil.
func sameID(earlier []load.Message, seen map[string]int, id string) int {
	if seen != nil {
		if j, ok := seen[id]; ok {
			return j
		}
		return -1
	}
	for j := range earlier {
		if earlier[j].ID == id {
			return j
		}
	}
	return -1
}

func decodeMessage(i int, m *wireMessage) (load.Message, error) {
	field := func(name string) string { return fmt.Sprintf("interview.messages[%d]%s", i, name) }
	if m.null {
		return load.Message{}, &InvalidResponseError{Field: field(""), Reason: "null"}
	}
	for _, f := range []struct {
		name string
		v    *wireString
	}{{".id", &m.id}, {".role", &m.role}, {".content", &m.content}, {".sentAt", &m.sentAt}} {
		if !f.v.set {
			return load.Message{}, &InvalidResponseError{Field: field(f.name), Reason: "missing or null"}
		}
	}
	id := storable(m.id)
	if id == "" {
		return load.Message{}, &InvalidResponseError{Field: field(".id"), Reason: "empty"}
	}
	sentAt, err := time.Parse(time.RFC3339Nano, m.sentAt.s)
	if err != nil {
		return load.Message{}, &InvalidResponseError{Field: field(".sentAt"), Reason: "not an RFC 3339 date-time"}
	}
	return load.Message{
		ID:       id,
		Position: int32(i),
		Role:     storable(m.role),
		Content:  storable(m.content),
		// timestamptz keeps microseconds; what pgx would cut is cut here, so
		// the dry run shows what the table holds.
		SentAt: sentAt.Truncate(time.Microsecond),
	}, nil
}

// storable is the stored form of a string field. The parser returns valid
// UTF-8 (invalid bytes already U+FFFD); only an unescaped string can hold
// NUL characters, from \u0000.
func storable(w wireString) string {
	if w.escaped {
		return sanitize.Text(w.s)
	}
	return w.s
}

func text(w wireString) *string {
	if !w.set {
		return nil
	}
	t := storable(w)
	return &t
}

// PostgreSQL numeric limits: digits before and after the decimal point.
const (
	maxNumericIntDigits  = 131072
	maxNumericFracDigits = 16383
)

// decodeScore returns the score literal, nil for an absent or null score.
func decodeScore(w wireScore) (*string, error) {
	switch {
	case w.other:
		return nil, &InvalidResponseError{Field: "interview.score", Reason: "not a number or null"}
	case !w.number:
		return nil, nil
	}
	// The literal is a valid JSON number (the parser checked its syntax).
	intDigits, fracDigits := numberDigits(w.literal)
	if intDigits > maxNumericIntDigits || fracDigits > maxNumericFracDigits {
		return nil, &InvalidResponseError{Field: "interview.score", Reason: "outside PostgreSQL's numeric range"}
	}
	s := w.literal
	return &s, nil
}

// numberDigits returns how many digits a JSON number has before and after
// its decimal point once its exponent is applied.
func numberDigits(n string) (intDigits, fracDigits int) {
	if n[0] == '-' {
		n = n[1:]
	}
	mant, exp := n, 0
	if i := bytes.IndexAny([]byte(n), "eE"); i >= 0 {
		mant = n[:i]
		e := n[i+1:]
		sign := 1
		switch {
		case e[0] == '-':
			sign, e = -1, e[1:]
		case e[0] == '+':
			e = e[1:]
		}
		for _, c := range e {
			exp = exp*10 + int(c-'0')
			if exp > 1<<24 {
				break // far beyond any limit; avoids overflow
			}
		}
		exp *= sign
	}
	whole, frac := mant, ""
	if i := bytes.IndexByte([]byte(mant), '.'); i >= 0 {
		whole, frac = mant[:i], mant[i+1:]
	}
	for len(whole) > 0 && whole[0] == '0' {
		whole = whole[1:]
	}
	for len(frac) > 0 && frac[len(frac)-1] == '0' {
		frac = frac[:len(frac)-1]
	}
	if whole == "" && frac == "" {
		return 0, 0 // zero, whatever its exponent
	}
	return max(len(whole)+exp, 0), max(len(frac)-exp, 0)
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
		f.Code, f.HTTPStatus, f.RequestID, f.Attempts = fe.Code, fe.HTTPStatus, fe.RequestID, fe.Attempts
		f.Message = fe.Detail
	case errors.As(err, &idErr):
		f.Code, f.Message = extract.CodeInvalidID, idErr.Reason
	case errors.As(err, &respErr):
		f.Code, f.HTTPStatus, f.Message = extract.CodeInvalidResponse, 200, respErr.Error()
	default:
		f.Code = extract.CodeError
	}
	f.Message = sanitize.Text(f.Message)
	return f
}

// Proposal turns what a source learned of proposal id in passing into its
// row of proposals: raw values as the API gave them, text made storable.
func Proposal(id string, f extract.ProposalFacts) load.Proposal {
	return load.Proposal{ProposalID: id, JobID: sanitize.Text(f.JobID), Status: sanitize.Text(f.Status),
		ReceivedAt: f.ReceivedAt, StatusAt: f.StatusAt, StatusEventID: f.StatusSeq}
}

// Job turns a job listed by GET /jobs/mine into its row of jobs.
func Job(f extract.JobFacts) load.Job {
	return load.Job{JobID: sanitize.Text(f.ID), Title: sanitize.Text(f.Title), Status: sanitize.Text(f.Status),
		CreatedAt: f.CreatedAt, UpdatedAt: f.UpdatedAt, ProposalsTotal: f.ProposalsTotal}
}
