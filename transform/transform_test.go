package transform_test

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/interview-export/interview-export/extract"
	"github.com/interview-export/interview-export/internal/fakeapi"
	"github.com/interview-export/interview-export/load"
	"github.com/interview-export/interview-export/transform"
)

func body(interview string) []byte { return []byte(`{"interview":` + interview + `}`) }

func TestDecode(t *testing.T) {
	t.Parallel()
	t0 := time.Date(2026, 6, 11, 15, 20, 0, 0, time.UTC)
	tests := []struct {
		name string
		body []byte
		want load.Interview
	}{
		{
			name: "documented example",
			body: body(`{"proposalId":"P","interviewId":"I","score":86,"summary":"Strong.","messages":[
				{"id":"m1","role":"interviewer","content":"Tell me","sentAt":"2026-06-11T15:20:00.000Z"},
				{"id":"m2","role":"candidate","content":"I spent","sentAt":"2026-06-11T15:21:00.000Z"}]}`),
			want: load.Interview{ProposalID: "P", Status: load.StatusAvailable, InterviewID: new("I"), Score: new("86"), Summary: new("Strong."),
				Messages: []load.Message{
					{ID: "m1", Position: 0, Role: "interviewer", Content: "Tell me", SentAt: t0},
					{ID: "m2", Position: 1, Role: "candidate", Content: "I spent", SentAt: t0.Add(time.Minute)},
				}},
		},
		{
			name: "nulls, empty summary, decimal score, no messages, unknown fields",
			body: body(`{"interviewId":"I","score":8.60,"summary":"","messages":[],"extra":{"x":1}}`),
			want: load.Interview{ProposalID: "P", Status: load.StatusAvailable, InterviewID: new("I"), Score: new("8.60"), Summary: new(""), Messages: []load.Message{},
				Extra: []byte(`{"extra":{"x":1}}`)},
		},
		{
			name: "members the schema does not name are kept, their text made storable",
			body: body(`{"interviewId":"I","language":"es","durationSeconds":1.50,"messages":[
				{"id":"m","role":"r","content":"c","sentAt":"2026-06-11T15:20:00Z","tokens":12,"meta":{"n\u0000ote":"a\u0000b\ud800","big":123456789012345678901234567890}}]}`),
			want: load.Interview{ProposalID: "P", Status: load.StatusAvailable, InterviewID: new("I"),
				Extra: []byte(`{"language":"es","durationSeconds":1.50}`),
				Messages: []load.Message{{ID: "m", Role: "r", Content: "c", SentAt: t0,
					Extra: []byte(`{"tokens":12,"meta":{"note":"ab�","big":123456789012345678901234567890}}`)}}},
		},
		{
			name: "null score and summary",
			body: body(`{"interviewId":"I","score":null,"summary":null,"messages":[]}`),
			want: load.Interview{ProposalID: "P", Status: load.StatusAvailable, InterviewID: new("I"), Messages: []load.Message{}},
		},
		{
			name: "text rules: NUL removed, lone surrogate and invalid bytes to U+FFFD, rest byte for byte",
			body: body("{\"interviewId\":\"I\\u0000\",\"summary\":\" a\\u0000b \\ud800 \",\"messages\":[" +
				"{\"id\":\"m\",\"role\":\"greeter\",\"content\":\"  x\\r\\n\xff\xfe 世界 \",\"sentAt\":\"2026-06-11T20:50:00+05:30\"}]}"),
			want: load.Interview{ProposalID: "P", Status: load.StatusAvailable, InterviewID: new("I"), Summary: new(" ab \uFFFD "),
				Messages: []load.Message{{ID: "m", Role: "greeter", Content: "  x\r\n\uFFFD\uFFFD 世界 ", SentAt: t0}}},
		},
		{
			name: "any RFC 3339 offset, same instant",
			body: body(`{"interviewId":"I","messages":[
				{"id":"a","role":"r","content":"","sentAt":"2026-06-11T07:20:00.123456-08:00"},
				{"id":"b","role":"r","content":"","sentAt":"2026-06-12T05:20:00+14:00"}]}`),
			want: load.Interview{ProposalID: "P", Status: load.StatusAvailable, InterviewID: new("I"),
				Messages: []load.Message{
					{ID: "a", Position: 0, Role: "r", SentAt: t0.Add(123456 * time.Microsecond)},
					{ID: "b", Position: 1, Role: "r", SentAt: t0},
				}},
		},
		{
			name: "RFC 3339 allows a lowercase t and z",
			body: body(`{"interviewId":"I","messages":[
				{"id":"a","role":"r","content":"","sentAt":"2026-06-11t15:20:00z"},
				{"id":"b","role":"r","content":"","sentAt":"2026-06-11t17:20:00.5+02:00"}]}`),
			want: load.Interview{ProposalID: "P", Status: load.StatusAvailable, InterviewID: new("I"),
				Messages: []load.Message{
					{ID: "a", Position: 0, Role: "r", SentAt: t0},
					{ID: "b", Position: 1, Role: "r", SentAt: t0.Add(500 * time.Millisecond)},
				}},
		},
		{
			name: "score at the edges of PostgreSQL's numeric",
			body: body(`{"interviewId":"I","score":1.0e-16382,"messages":[]}`),
			want: load.Interview{ProposalID: "P", Status: load.StatusAvailable, InterviewID: new("I"), Score: new("1.0e-16382"), Messages: []load.Message{}},
		},
		{
			name: "exponent score kept as given",
			body: body(`{"interviewId":"I","score":-1.5E+1,"messages":[]}`),
			want: load.Interview{ProposalID: "P", Status: load.StatusAvailable, InterviewID: new("I"), Score: new("-1.5E+1"), Messages: []load.Message{}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := transform.Decode("P", tt.body)
			require.NoError(t, err)
			for i := range got.Messages {
				assert.True(t, got.Messages[i].SentAt.Equal(tt.want.Messages[i].SentAt), "message %d instant", i)
				got.Messages[i].SentAt = tt.want.Messages[i].SentAt
			}
			assert.Equal(t, tt.want, got)
		})
	}
}

func TestDecodeRejectsSchemaBreaks(t *testing.T) {
	t.Parallel()
	msg := `{"id":"m","role":"r","content":"c","sentAt":"2026-06-11T15:20:00Z"}`
	tests := []struct{ name, body, field string }{
		{"not json", `<html>`, ""},
		{"truncated", `{"interview":{"interviewId":"I"`, ""},
		{"array", `[]`, ""},
		{"two values", `{"interview":{"interviewId":"I","messages":[]}} {}`, ""},
		{"no interview", `{}`, "interview"},
		{"null interview", `{"interview":null}`, "interview"},
		{"other proposal", `{"interview":{"proposalId":"Q","interviewId":"I","messages":[]}}`, "interview.proposalId"},
		{"no interview id", `{"interview":{"messages":[]}}`, "interview.interviewId"},
		{"no messages", `{"interview":{"interviewId":"I"}}`, "interview.messages"},
		{"string score", `{"interview":{"interviewId":"I","score":"86","messages":[]}}`, "interview.score"},
		{"bool score", `{"interview":{"interviewId":"I","score":true,"messages":[]}}`, "interview.score"},
		{"score beyond numeric", `{"interview":{"interviewId":"I","score":1e200000,"messages":[]}}`, "interview.score"},
		{"score too precise", `{"interview":{"interviewId":"I","score":1e-20000,"messages":[]}}`, "interview.score"},
		{"score scale past 16383 by a trailing zero", `{"interview":{"interviewId":"I","score":1.0e-16383,"messages":[]}}`, "interview.score"},
		{"zero with 16384 zeros after the point", `{"interview":{"interviewId":"I","score":0.` + strings.Repeat("0", 16384) + `,"messages":[]}}`, "interview.score"},
		{"member given twice", `{"interview":{"interviewId":"I","score":1,"score":2,"messages":[]}}`, "interview.score"},
		{"member given twice in other case", `{"interview":{"interviewId":"I","Summary":"a","summary":"b","messages":[]}}`, "interview.summary"},
		{"number summary", `{"interview":{"interviewId":"I","summary":1,"messages":[]}}`, "interview.summary"},
		{"messages object", `{"interview":{"interviewId":"I","messages":{}}}`, "interview.messages"},
		{"null message", `{"interview":{"interviewId":"I","messages":[null]}}`, "interview.messages[0]"},
		{"missing id", `{"interview":{"interviewId":"I","messages":[{"role":"r","content":"c","sentAt":"2026-06-11T15:20:00Z"}]}}`, "interview.messages[0].id"},
		{"empty id", `{"interview":{"interviewId":"I","messages":[{"id":"","role":"r","content":"c","sentAt":"2026-06-11T15:20:00Z"}]}}`, "interview.messages[0].id"},
		{"missing role", `{"interview":{"interviewId":"I","messages":[{"id":"m","content":"c","sentAt":"2026-06-11T15:20:00Z"}]}}`, "interview.messages[0].role"},
		{"missing content", `{"interview":{"interviewId":"I","messages":[{"id":"m","role":"r","sentAt":"2026-06-11T15:20:00Z"}]}}`, "interview.messages[0].content"},
		{"missing sentAt", `{"interview":{"interviewId":"I","messages":[{"id":"m","role":"r","content":"c"}]}}`, "interview.messages[0].sentAt"},
		{"bad sentAt", `{"interview":{"interviewId":"I","messages":[{"id":"m","role":"r","content":"c","sentAt":"11/06/2026"}]}}`, "interview.messages[0].sentAt"},
		{"no offset", `{"interview":{"interviewId":"I","messages":[{"id":"m","role":"r","content":"c","sentAt":"2026-06-11T15:20:00"}]}}`, "interview.messages[0].sentAt"},
		{"duplicate ids", `{"interview":{"interviewId":"I","messages":[` + msg + `,` + msg + `]}}`, "interview.messages[1].id"},
		{"ids equal once NUL is removed", `{"interview":{"interviewId":"I","messages":[{"id":"m\u0000","role":"r","content":"c","sentAt":"2026-06-11T15:20:00Z"},` + msg + `]}}`, "interview.messages[1].id"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := transform.Decode("P", []byte(tt.body))
			var ire *transform.InvalidResponseError
			require.ErrorAs(t, err, &ire)
			if tt.field != "" {
				assert.Equal(t, tt.field, ire.Field)
			}
			f := transform.Failure("P", err, 1)
			assert.Equal(t, load.CodeInvalidResponse, f.Code)
			assert.Equal(t, 200, f.HTTPStatus)
		})
	}
}

func TestAnswer(t *testing.T) {
	t.Parallel()
	at := time.Now()
	iv, err := transform.Answer(extract.Answer{ProposalID: "P", NoInterview: true, ReceivedAt: at})
	require.NoError(t, err)
	assert.Equal(t, load.Interview{ProposalID: "P", Status: load.StatusNoInterview, FetchedAt: at}, iv)
}

func TestFailure(t *testing.T) {
	t.Parallel()
	fe := &extract.FetchError{ProposalID: "P", Reason: extract.ReasonForbidden, HTTPStatus: 403, RequestID: "r", Detail: "no\x00pe", Attempts: 1}
	assert.Equal(t, load.Failure{ProposalID: "P", HTTPStatus: 403, Code: "forbidden", Message: "nope", Attempts: 1, RequestID: "r"},
		transform.Failure("P", fmt.Errorf("wrapped: %w", fe), 9))
	assert.Equal(t, load.Failure{ProposalID: "x y", Code: "invalid_id", Message: "contains whitespace U+0020"},
		transform.Failure("x y", extract.ValidateID("x y"), 0))
	assert.Equal(t, "error", transform.Failure("P", errors.New("boom"), 2).Code)
}

// The fake's transcripts, with every oddity it serves, decode to exactly
// what it says should be stored.
func TestDecodeFakeTranscripts(t *testing.T) {
	t.Parallel()
	fake := fakeapi.New(fakeapi.DefaultConfig())
	for i := range 500 {
		id := fmt.Sprintf("p-%d", i)
		want, ok := fake.Expected(id)
		if !ok {
			continue
		}
		got, err := transform.Decode(id, fake.Body(id))
		require.NoError(t, err, id)
		require.Len(t, got.Messages, len(want.Messages), id)
		assert.Equal(t, want.InterviewID, *got.InterviewID)
		if want.Score == "" {
			assert.Nil(t, got.Score)
		} else {
			assert.Equal(t, want.Score, *got.Score)
		}
		assert.Equal(t, want.Summary, got.Summary)
		for k, m := range want.Messages {
			g := got.Messages[k]
			assert.Equal(t, m.ID, g.ID)
			assert.Equal(t, int32(k), g.Position)
			assert.Equal(t, m.Role, g.Role)
			assert.Equal(t, m.Content, g.Content, "%s message %d", id, k)
			assert.True(t, m.SentAt.Equal(g.SentAt), "%s message %d: %s != %s", id, k, m.SentAt, g.SentAt)
		}
	}
}

func FuzzDecode(f *testing.F) {
	fake := fakeapi.New(fakeapi.DefaultConfig())
	for _, id := range []string{"p-1", "p-2", "empty-1", "invalid-1"} {
		f.Add(fake.Body(id))
	}
	f.Add([]byte(`{"interview":{"interviewId":"I","score":1e5,"messages":[{"id":"m","role":"r","content":"\u0000\ud800","sentAt":"2026-06-11T15:20:00+01:00"}]}}`))
	f.Add([]byte(`{"interview":{"interviewId":"I","score":-0.0e-0,"messages":[]}}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		iv, err := transform.Decode("P", b)
		if err != nil {
			var ire *transform.InvalidResponseError
			require.ErrorAs(t, err, &ire)
			return
		}
		texts := []string{iv.ProposalID, *iv.InterviewID}
		if iv.Summary != nil {
			texts = append(texts, *iv.Summary)
		}
		seen := map[string]bool{}
		for i, m := range iv.Messages {
			require.True(t, m.Position == int32(i) && m.ID != "" && !seen[m.ID], "message %d: bad position or id %q", i, m.ID)
			seen[m.ID] = true
			texts = append(texts, m.ID, m.Role, m.Content)
		}
		for _, s := range texts {
			require.True(t, !strings.Contains(s, "\x00") && utf8.ValidString(s), "stored text %q has a NUL or invalid UTF-8", s)
		}
	})
}

// Every reason a fetch fails has its own error code.
func TestEveryFetchReasonHasACode(t *testing.T) {
	t.Parallel()
	seen := map[string]extract.Reason{}
	for _, r := range extract.Reasons {
		code := transform.FailureCode(r)
		if r == extract.ReasonUnauthorized {
			assert.Equal(t, load.CodeError, code, "a 401 stops the run: never a recorded failure")
			continue
		}
		assert.NotEqual(t, load.CodeError, code, r)
		assert.Contains(t, load.Codes, code, r)
		assert.NotContains(t, seen, code, "%s and %s", r, seen[code])
		seen[code] = r
	}
}
