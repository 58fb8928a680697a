package load_test

import (
	"bytes"
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/interview-export/interview-export/internal/golden"
	"github.com/interview-export/interview-export/load"
)

// The --dry-run output is an interface scripts parse: it is pinned by a golden file.
func TestJSONLinesGolden(t *testing.T) {
	t.Parallel()
	at := time.Date(2026, 11, 29, 2, 15, 0, 123456000, time.UTC)
	batch := &load.Batch{
		Interviews: []load.Interview{
			{ProposalID: "p-1", Status: load.StatusAvailable, InterviewID: new("iv-1"), Score: new("86.50"), Summary: new("Strong <grasp> & clear"),
				FetchedAt: at, Messages: []load.Message{
					{ID: "m1", Position: 0, Role: "interviewer", Content: "Tell me…", SentAt: at.Add(-time.Hour)},
					{ID: "m2", Position: 1, Role: "candidate", Content: "  世界 🎉\r\n", SentAt: at.Add(-time.Hour + time.Minute).In(time.FixedZone("+05:30", 19800))},
				}},
			{ProposalID: "p-2", Status: load.StatusAvailable, InterviewID: new("iv-2"), Summary: new(""), FetchedAt: at, Messages: []load.Message{}},
			{ProposalID: "p-3", Status: load.StatusNoInterview, FetchedAt: at},
		},
		Failures: []load.Failure{
			{ProposalID: "p-4", HTTPStatus: 403, Code: "forbidden", Message: "This proposal is on another account's job", Attempts: 1, RequestID: "req-4"},
			{ProposalID: "bad id", Code: "invalid_id", Message: "line 7: contains whitespace U+0020"},
		},
	}
	var out bytes.Buffer
	st, err := load.JSONLines{W: &out}.Write(context.Background(), batch)
	require.NoError(t, err)
	require.Equal(t, load.Counts{Available: 2, NoInterview: 1, Failed: 2, MessagesWritten: 2,
		FailedByCode: map[string]int64{"forbidden": 1, "invalid_id": 1}}, st)
	golden.Assert(t, "dry-run.golden.jsonl", out.String())
}
