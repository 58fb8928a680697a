package transform

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/go-json-experiment/json/jsontext"
	"github.com/stretchr/testify/require"

	"github.com/interview-export/interview-export/internal/fakeapi"
	"github.com/interview-export/interview-export/internal/sanitize"
	"github.com/interview-export/interview-export/load"
)

// referenceDecode is Decode as it was written with encoding/json's
// Unmarshal, kept as the reference that the json/v2 decoding is held to.
func referenceDecode(proposalID string, body []byte) (load.Interview, error) {
	type wireMessage struct {
		ID      *string `json:"id"`
		Role    *string `json:"role"`
		Content *string `json:"content"`
		SentAt  *string `json:"sentAt"`
	}
	type wireInterview struct {
		ProposalID  *string         `json:"proposalId"`
		InterviewID *string         `json:"interviewId"`
		Score       json.RawMessage `json:"score"`
		Summary     *string         `json:"summary"`
		Messages    *[]*wireMessage `json:"messages"`
	}
	var w struct {
		Interview *wireInterview `json:"interview"`
	}
	if err := json.Unmarshal(body, &w); err != nil {
		var typeErr *json.UnmarshalTypeError
		if errors.As(err, &typeErr) {
			return load.Interview{}, &InvalidResponseError{Field: typeErr.Field, Reason: "wrong type"}
		}
		return load.Interview{}, &InvalidResponseError{Reason: "not valid JSON"}
	}
	in := w.Interview
	if in == nil {
		return load.Interview{}, &InvalidResponseError{Field: "interview", Reason: "missing or null"}
	}
	if in.ProposalID != nil && *in.ProposalID != proposalID {
		return load.Interview{}, &InvalidResponseError{Field: "interview.proposalId", Reason: "names another proposal"}
	}
	if in.InterviewID == nil {
		return load.Interview{}, &InvalidResponseError{Field: "interview.interviewId", Reason: "missing or null"}
	}
	if in.Messages == nil {
		return load.Interview{}, &InvalidResponseError{Field: "interview.messages", Reason: "missing or null"}
	}
	sc, err := decodeScore(jsontext.Value(in.Score))
	if err != nil {
		return load.Interview{}, err
	}
	text := func(s *string) *string {
		if s == nil {
			return nil
		}
		t := sanitize.Text(*s)
		return &t
	}
	iv := load.Interview{ProposalID: proposalID, Status: load.StatusAvailable, InterviewID: text(in.InterviewID), Score: sc,
		Summary: text(in.Summary), Messages: make([]load.Message, len(*in.Messages))}
	seen := map[string]bool{}
	for i, m := range *in.Messages {
		if m == nil || m.ID == nil || m.Role == nil || m.Content == nil || m.SentAt == nil {
			return load.Interview{}, &InvalidResponseError{Field: fmt.Sprintf("interview.messages[%d]", i), Reason: "incomplete"}
		}
		id := sanitize.Text(*m.ID)
		sentAt, err := ParseTime(*m.SentAt)
		if id == "" || seen[id] || err != nil {
			return load.Interview{}, &InvalidResponseError{Field: fmt.Sprintf("interview.messages[%d]", i), Reason: "bad id or sentAt"}
		}
		seen[id] = true
		iv.Messages[i] = load.Message{ID: id, Position: int32(i), Role: sanitize.Text(*m.Role), Content: sanitize.Text(*m.Content),
			SentAt: sentAt.Truncate(time.Microsecond)}
	}
	return iv, nil
}

// Decode (json/v2) accepts exactly the bodies encoding/json would, and
// decodes them to the same rows, but for these deliberate differences:
//
//   - A member name given twice in one object (or two names that match one
//     field case-insensitively) is refused, where encoding/json keeps the
//     last value: Decode's error says "given twice".
//
// Both turn invalid UTF-8 and lone surrogates into U+FFFD, byte for byte
// alike, match member names case-insensitively, refuse trailing data and
// nesting deeper than 10,000.
func FuzzDecodeMatchesEncodingJSON(f *testing.F) {
	fake := fakeapi.New(fakeapi.DefaultConfig())
	for _, id := range []string{"p-1", "p-2", "p-3", "empty-1", "invalid-1", "huge-1"} {
		f.Add(fake.Body(id))
	}
	for _, s := range referenceSeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		got, err := Decode("P", b)
		want, wantErr := referenceDecode("P", b)
		var ire *InvalidResponseError
		if errors.As(err, &ire) && ire.Reason == "given twice" {
			return
		}
		if wantErr != nil || err != nil {
			require.Equal(t, wantErr != nil, err != nil, "Decode: %v; encoding/json: %v", err, wantErr)
			return
		}
		withoutExtra(&got)
		for i := range got.Messages { // same instant, maybe another zone
			require.True(t, got.Messages[i].SentAt.Equal(want.Messages[i].SentAt))
			got.Messages[i].SentAt = want.Messages[i].SentAt
		}
		require.Equal(t, want, got)
	})
}

// withoutExtra drops the members the schema does not name, which the
// reference, written with the schema's structs alone, does not keep.
func withoutExtra(iv *load.Interview) {
	iv.Extra = nil
	for i := range iv.Messages {
		iv.Messages[i].Extra = nil
	}
}

// referenceSeeds are the edges of JSON the parser must treat as
// encoding/json does.
var referenceSeeds = []string{
	`{"interview":{"interviewId":"I","score":1e5,"messages":[{"id":"m","role":"r","content":"\u0000\ud800","sentAt":"2026-06-11T15:20:00+01:00"}]}}`,
	`{"interview":{"interviewId":"I","score":-0.0e-0,"messages":[]}}`,
	`{"INTERVIEW":{"InterviewID":"I","MESSAGES":[{"ID":"m","Role":"r","CONTENT":"c","SentAT":"2026-06-11T15:20:00Z"}]}}`,
	"{\"interview\":{\"interviewId\":\"I\",\"messages\":[{\"id\":\"\u212a\",\"role\":\"r\",\"content\":\"c\",\"sentAt\":\"2026-06-11T15:20:00Z\"}]}}",
	`{"interview":{"interviewId":"\ud83d\ude00\ud83d\ud83d\ude00\udc00x\ud800\u0041","messages":[]}}`,
	`{"interview":{"interviewId":"a\"b\\c\/d\b\f\n\r\t","messages":[]}}`,
	`{"interview":{"interviewId":"I","messages":[],"x":[1,-2.5e+3,true,false,null,{"a":[{}]},"s\"\u00e9"]}}`,
	` {"interview" : { "interviewId" : "I" , "messages" : [ ] } } `,
	`{"interview":{"interviewId":"I","messages":[]}}x`,
	`{"interview":{"interviewId":"I","messages":[],}}`,
	`{"interview":{"interviewId":"I","messages":[01]}}`,
	`{"interview":{"interviewId":"I","score":1.,"messages":[]}}`,
	`{"interview":{"interviewId":"I","score":"1","messages":[]}}`,
	`{"interview":{"interviewId":"I","messages":[],"x":"\'"}}`,
	`{"interview":{"interviewId":"I","messages":[],"x":"\u12"}}`,
	"{\"interview\":{\"interviewId\":\"a\tb\",\"messages\":[]}}",
	"{\"interview\":{\"interviewId\":\"\xff\xe4\xb8\xed\xa0\x80\",\"messages\":[]}}",
	`{"interview":{"proposalId":"P\u0000","interviewId":"I","messages":[]}}`,
	`{"interview":{"proposalId":null,"interviewId":"I","messages":[null]}}`,
	`{"interview":5}`, `null`, `[]`, `"x"`, ``, `{`, `{"interview":{"interviewId":"I","messages":[]}}{}`,
	`{"interview":{"interviewId":"I","messages":[{"id":"m","role":"r","content":"c","sentAt":"2026-06-11T15:20:00Z","id":"n"}]}}`,
	strings.Repeat("[", 10001) + strings.Repeat("]", 10001),
	`{"x":` + strings.Repeat("[", 9999) + strings.Repeat("]", 9999) + `}`,
	`{"x":` + strings.Repeat("[", 10000) + strings.Repeat("]", 10000) + `}`,
}

func TestDecodeMatchesEncodingJSONOnTheSeeds(t *testing.T) {
	t.Parallel()
	for _, s := range referenceSeeds {
		got, err := Decode("P", []byte(s))
		want, wantErr := referenceDecode("P", []byte(s))
		var ire *InvalidResponseError
		if errors.As(err, &ire) && ire.Reason == "given twice" {
			continue
		}
		short := s[:min(len(s), 80)]
		require.Equal(t, wantErr != nil, err != nil, "%s: Decode: %v; encoding/json: %v", short, err, wantErr)
		if err == nil {
			withoutExtra(&got)
			require.Equal(t, want, got, short)
		}
	}
}

// BenchmarkDecode decodes the fake's typical transcript bodies with Decode
// and, for comparison, with the encoding/json reference.
func BenchmarkDecode(b *testing.B) {
	fake := fakeapi.New(fakeapi.DefaultConfig())
	ids := fake.ProposalIDs()[:200]
	bodies := make([][]byte, len(ids))
	var size int64
	for i, id := range ids {
		bodies[i] = fake.Body(id)
		size += int64(len(bodies[i]))
	}
	for _, decoder := range []struct {
		name   string
		decode func(string, []byte) (load.Interview, error)
	}{{"json-v2", Decode}, {"encoding-json", referenceDecode}} {
		b.Run(decoder.name, func(b *testing.B) {
			b.SetBytes(size / int64(len(ids)))
			for i := range b.N {
				// Some fake IDs have no interview: their bodies are not transcripts.
				_, _ = decoder.decode(ids[i%len(ids)], bodies[i%len(ids)])
			}
		})
	}
}
