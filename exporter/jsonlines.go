package exporter

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"time"

	"github.com/interview-export/interview-export/load"
)

// JSONLines is the BatchWriter of --dry-run: it writes one JSON object per
// proposal to W, in the form the tables would hold, and nothing else.
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

type jsonProposal struct {
	ProposalID   string           `json:"proposalId"`
	Status       string           `json:"status"`
	InterviewID  *string          `json:"interviewId,omitempty"`
	Score        *json.RawMessage `json:"score,omitempty"`
	Summary      *string          `json:"summary,omitempty"`
	MessageCount *int             `json:"messageCount,omitempty"`
	Messages     []jsonMessage    `json:"messages,omitempty"`
	FetchedAt    *time.Time       `json:"fetchedAt,omitempty"`
	Error        *jsonFailure     `json:"error,omitempty"`
}

// Write prints the batch's proposals, one JSON object per line.
func (j JSONLines) Write(_ context.Context, b *load.Batch) (load.WriteStats, error) {
	var st load.WriteStats
	w := bufio.NewWriter(j.W)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	for i := range b.Interviews {
		iv := &b.Interviews[i]
		p := jsonProposal{ProposalID: iv.ProposalID, Status: string(iv.Status), FetchedAt: &iv.FetchedAt}
		if iv.Status == load.StatusAvailable {
			st.Available++
			n := len(iv.Messages)
			p.InterviewID, p.Summary, p.MessageCount = iv.InterviewID, iv.Summary, &n
			null := json.RawMessage("null")
			p.Score = &null
			if iv.Score != nil {
				raw := json.RawMessage(*iv.Score)
				p.Score = &raw
			}
			p.Messages = make([]jsonMessage, n)
			for k, m := range iv.Messages {
				p.Messages[k] = jsonMessage{ID: m.ID, Position: m.Position, Role: m.Role, Content: m.Content, SentAt: m.SentAt}
			}
			st.MessagesWritten += int64(n)
		} else {
			st.NoInterview++
		}
		if err := enc.Encode(p); err != nil {
			return st, fmt.Errorf("dry run: print %s: %w", iv.ProposalID, err)
		}
	}
	for i := range b.Failures {
		f := &b.Failures[i]
		p := jsonProposal{ProposalID: f.ProposalID, Status: "failed", Error: &jsonFailure{
			Code: f.Code, HTTPStatus: f.HTTPStatus, Message: f.Message, Attempts: f.Attempts, RequestID: f.RequestID}}
		st.Failed++
		if err := enc.Encode(p); err != nil {
			return st, fmt.Errorf("dry run: print %s: %w", f.ProposalID, err)
		}
	}
	if err := w.Flush(); err != nil {
		return st, fmt.Errorf("dry run: write standard output: %w", err)
	}
	return st, nil
}
