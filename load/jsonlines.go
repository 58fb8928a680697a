package load

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"time"
)

// JSONLines is the sink of a dry run, in place of a Writer: it writes one
// JSON object per proposal to W, in the form the tables would hold, and
// nothing else.
type JSONLines struct {
	W io.Writer
}

type jsonMessage struct {
	ID       string    `json:"id"`
	Position int32     `json:"position"`
	Role     string    `json:"role"`
	Content  string    `json:"content"`
	SentAt   time.Time `json:"sentAt"`
}

type jsonFailure struct {
	Code       string `json:"code"`
	HTTPStatus int    `json:"httpStatus,omitempty"`
	Message    string `json:"message"`
	Attempts   int    `json:"attempts"`
	RequestID  string `json:"requestId,omitempty"`
}

// jsonAvailable is an available interview: every key is always present.
type jsonAvailable struct {
	ProposalID   string          `json:"proposalId"`
	Status       string          `json:"status"`
	InterviewID  *string         `json:"interviewId"`
	Score        json.RawMessage `json:"score"`
	Summary      *string         `json:"summary"`
	MessageCount int             `json:"messageCount"`
	Messages     []jsonMessage   `json:"messages"`
	FetchedAt    time.Time       `json:"fetchedAt"`
}

// jsonOther is a proposal without an interview, or a failed one.
type jsonOther struct {
	ProposalID string       `json:"proposalId"`
	Status     string       `json:"status"`
	FetchedAt  *time.Time   `json:"fetchedAt,omitempty"`
	Error      *jsonFailure `json:"error,omitempty"`
}

// storedTime is t as a timestamptz column holds it: UTC, to the microsecond.
func storedTime(t time.Time) time.Time { return t.UTC().Truncate(time.Microsecond) }

// Write prints the batch's proposals, one JSON object per line, with times
// in UTC: an available interview with all its fields, then no_interview
// ones, then failures.
func (j JSONLines) Write(_ context.Context, b *Batch) (Counts, error) {
	st := outcomesOf(b)
	w := bufio.NewWriter(j.W)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	for i := range b.Interviews {
		iv := &b.Interviews[i]
		var v any
		if iv.Status == StatusAvailable {
			p := jsonAvailable{ProposalID: iv.ProposalID, Status: string(iv.Status), InterviewID: iv.InterviewID,
				Score: json.RawMessage("null"), Summary: iv.Summary, MessageCount: len(iv.Messages),
				Messages: make([]jsonMessage, len(iv.Messages)), FetchedAt: storedTime(iv.FetchedAt)}
			if iv.Score != nil {
				p.Score = json.RawMessage(*iv.Score)
			}
			for k, m := range iv.Messages {
				p.Messages[k] = jsonMessage{ID: m.ID, Position: m.Position, Role: m.Role, Content: m.Content, SentAt: storedTime(m.SentAt)}
			}
			st.MessagesWritten += int64(len(iv.Messages))
			v = p
		} else {
			at := storedTime(iv.FetchedAt)
			v = jsonOther{ProposalID: iv.ProposalID, Status: string(iv.Status), FetchedAt: &at}
		}
		if err := enc.Encode(v); err != nil {
			return st, fmt.Errorf("dry run: print %s: %w", iv.ProposalID, err)
		}
	}
	for i := range b.Failures {
		f := &b.Failures[i]
		p := jsonOther{ProposalID: f.ProposalID, Status: "failed", Error: &jsonFailure{
			Code: f.Code, HTTPStatus: f.HTTPStatus, Message: f.Message, Attempts: f.Attempts, RequestID: f.RequestID}}
		if err := enc.Encode(p); err != nil {
			return st, fmt.Errorf("dry run: print %s: %w", f.ProposalID, err)
		}
	}
	if err := w.Flush(); err != nil {
		return st, fmt.Errorf("dry run: write standard output: %w", err)
	}
	return st, nil
}
