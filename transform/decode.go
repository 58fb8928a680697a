package transform

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/go-json-experiment/json"
	"github.com/go-json-experiment/json/jsontext"
	jsonv1 "github.com/go-json-experiment/json/v1"

	"github.com/interview-export/interview-export/internal/sanitize"
	"github.com/interview-export/interview-export/load"
)

// The body of GET /proposals/{id}/interview, as the reference page's example
// shows it. Pointers tell a missing or null member from an empty one.
type wireBody struct {
	Interview *wireInterview `json:"interview"`
}

type wireInterview struct {
	ProposalID  *string `json:"proposalId"`
	InterviewID *string `json:"interviewId"`
	// Score is kept as sent: a number literal is stored as given.
	Score    jsontext.Value  `json:"score"`
	Summary  *string         `json:"summary"`
	Messages *[]*wireMessage `json:"messages"`
	// Unknown holds the members the schema does not name: kept in extra.
	Unknown jsontext.Value `json:",embed"`
}

type wireMessage struct {
	ID      *string        `json:"id"`
	Role    *string        `json:"role"`
	Content *string        `json:"content"`
	SentAt  *string        `json:"sentAt"`
	Unknown jsontext.Value `json:",embed"`
}

// decodeOptions make json/v2 read bodies as encoding/json did, where the
// contract cares: member names match case-insensitively (as strings.EqualFold
// does), and invalid UTF-8 and lone surrogates become U+FFFD instead of
// failing the body. Unlike encoding/json, a member name given twice in one
// object is refused: which of two scores is the real one cannot be known.
var decodeOptions = json.JoinOptions(
	json.MatchCaseInsensitiveNames(true),
	jsonv1.MatchCaseSensitiveDelimiter(true),
	jsontext.AllowInvalidUTF8(true),
)

// Decode decodes the 200 body of GET /proposals/{proposalID}/interview.
func Decode(proposalID string, body []byte) (load.Interview, error) {
	var w wireBody
	if err := json.Unmarshal(body, &w, decodeOptions); err != nil {
		return load.Interview{}, decodeError(err)
	}
	in := w.Interview
	switch {
	case in == nil:
		return load.Interview{}, &InvalidResponseError{Field: "interview", Reason: "missing or null"}
	case in.ProposalID != nil && *in.ProposalID != proposalID:
		return load.Interview{}, &InvalidResponseError{Field: "interview.proposalId", Reason: "names another proposal"}
	case in.InterviewID == nil:
		return load.Interview{}, &InvalidResponseError{Field: "interview.interviewId", Reason: "missing or null"}
	case in.Messages == nil:
		return load.Interview{}, &InvalidResponseError{Field: "interview.messages", Reason: "missing or null"}
	}
	score, err := decodeScore(in.Score)
	if err != nil {
		return load.Interview{}, err
	}
	ivExtra, err := extra(in.Unknown)
	if err != nil {
		return load.Interview{}, &InvalidResponseError{Field: "interview", Reason: "unreadable extra members"}
	}
	iv := load.Interview{
		ProposalID:  proposalID,
		Status:      load.StatusAvailable,
		InterviewID: text(in.InterviewID),
		Score:       score,
		Summary:     text(in.Summary),
		Messages:    make([]load.Message, len(*in.Messages)),
		Extra:       ivExtra,
	}
	seen := make(map[string]int, len(*in.Messages))
	for i, m := range *in.Messages {
		msg, err := decodeMessage(i, m)
		if err != nil {
			return load.Interview{}, err
		}
		if j, dup := seen[msg.ID]; dup {
			return load.Interview{}, &InvalidResponseError{Field: fmt.Sprintf("interview.messages[%d].id", i),
				Reason: fmt.Sprintf("same id as messages[%d]", j)}
		}
		seen[msg.ID] = i
		iv.Messages[i] = msg
	}
	return iv, nil
}

func decodeMessage(i int, m *wireMessage) (load.Message, error) {
	field := func(name string) string { return fmt.Sprintf("interview.messages[%d]%s", i, name) }
	if m == nil {
		return load.Message{}, &InvalidResponseError{Field: field(""), Reason: "null"}
	}
	for _, f := range []struct {
		name string
		v    *string
	}{{".id", m.ID}, {".role", m.Role}, {".content", m.Content}, {".sentAt", m.SentAt}} {
		if f.v == nil {
			return load.Message{}, &InvalidResponseError{Field: field(f.name), Reason: "missing or null"}
		}
	}
	id := sanitize.Text(*m.ID)
	if id == "" {
		return load.Message{}, &InvalidResponseError{Field: field(".id"), Reason: "empty"}
	}
	sentAt, err := ParseTime(*m.SentAt)
	if err != nil {
		return load.Message{}, &InvalidResponseError{Field: field(".sentAt"), Reason: "not an RFC 3339 date-time"}
	}
	msgExtra, err := extra(m.Unknown)
	if err != nil {
		return load.Message{}, &InvalidResponseError{Field: field(""), Reason: "unreadable extra members"}
	}
	return load.Message{
		ID:       id,
		Position: int32(i),
		Role:     sanitize.Text(*m.Role),
		Content:  sanitize.Text(*m.Content),
		// timestamptz keeps microseconds; what pgx would cut is cut here, so
		// the dry run shows what the table holds.
		SentAt: sentAt.Truncate(time.Microsecond),
		Extra:  msgExtra,
	}, nil
}

// ParseTime parses an RFC 3339 date-time with any offset. RFC 3339 §5.6
// allows "t" and "z" in lower case, which time.RFC3339 does not.
func ParseTime(s string) (time.Time, error) {
	if len(s) > 10 && (s[10] == 't' || s[len(s)-1] == 'z') {
		b := []byte(s)
		if b[10] == 't' {
			b[10] = 'T'
		}
		if b[len(b)-1] == 'z' {
			b[len(b)-1] = 'Z'
		}
		s = string(b)
	}
	return time.Parse(time.RFC3339Nano, s)
}

func text(s *string) *string {
	if s == nil {
		return nil
	}
	t := sanitize.Text(*s)
	return &t
}

// decodeError turns json/v2's error into the failure's field and reason.
func decodeError(err error) error {
	var semErr *json.SemanticError
	if errors.As(err, &semErr) {
		return &InvalidResponseError{Field: fieldOf(semErr.JSONPointer),
			Reason: fmt.Sprintf("a JSON %s where the schema wants another type", kindName(semErr.JSONKind))}
	}
	var synErr *jsontext.SyntacticError
	if errors.As(err, &synErr) {
		if errors.Is(err, jsontext.ErrDuplicateName) {
			return &InvalidResponseError{Field: fieldOf(synErr.JSONPointer), Reason: "given twice"}
		}
		return &InvalidResponseError{Reason: fmt.Sprintf("not valid JSON (at byte %d)", synErr.ByteOffset)}
	}
	return &InvalidResponseError{Reason: "not valid JSON"}
}

// fieldOf writes a JSON Pointer as the failure's field:
// /interview/messages/3/sentAt becomes interview.messages[3].sentAt.
func fieldOf(p jsontext.Pointer) string {
	var b strings.Builder
	for tok := range p.Tokens() {
		if _, err := strconv.Atoi(tok); err == nil && b.Len() > 0 {
			b.WriteString("[" + tok + "]")
			continue
		}
		if b.Len() > 0 {
			b.WriteByte('.')
		}
		b.WriteString(sanitize.Text(tok))
	}
	return b.String()
}

func kindName(k jsontext.Kind) string {
	switch k {
	case 'n':
		return "null"
	case 'f', 't':
		return "boolean"
	case '"':
		return "string"
	case '0':
		return "number"
	case '{':
		return "object"
	case '[':
		return "array"
	}
	return "value"
}
