package load_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/interview-export/interview-export/load"
)

// A score's scale comes from evidence only: above 10 is 0–100; a listing's
// score ten times it is 0–10, a tenth of it 0–100; else unknown. The
// listing may come with the transcript or in a later batch.
func TestScoreScalesFromEvidence(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := context.Background()
	iv := func(id, score string) load.Interview {
		if score == "" {
			return available(id, nil)
		}
		return available(id, new(score))
	}
	listed := func(id, score string) load.Proposal {
		return load.Proposal{ProposalID: id, JobID: "J", ListedScore: score}
	}
	_, err := b.w.Write(ctx, &load.Batch{
		Interviews: []load.Interview{iv("high", "86"), iv("guide", "8.6"), iv("guide-listed", "8.6"), iv("small-listed", "7"),
			iv("equal", "7"), iv("over", "150"), iv("none", ""), iv("zero", "0")},
		Proposals: []load.Proposal{listed("guide-listed", "86"), listed("small-listed", "0.7"), listed("equal", "7"), listed("zero", "0"),
			listed("high", ""), listed("guide", ""), listed("over", ""), listed("none", "")},
	})
	require.NoError(t, err)
	// The listing of "guide" comes a night later.
	_, err = b.w.Write(ctx, &load.Batch{Proposals: []load.Proposal{listed("guide", "86.0")}})
	require.NoError(t, err)

	rows, err := b.db.Query(ctx, `SELECT proposal_id, coalesce(score_scale::text, 'unknown'), coalesce(score_100::text, '-')
		FROM interview_scores ORDER BY 1`)
	require.NoError(t, err)
	got := map[string][2]string{}
	for rows.Next() {
		var id, scale, s100 string
		require.NoError(t, rows.Scan(&id, &scale, &s100))
		got[id] = [2]string{scale, s100}
	}
	require.NoError(t, rows.Err())
	assert.Equal(t, map[string][2]string{
		"high": {"100", "86"}, "guide": {"10", "86.0"}, "guide-listed": {"10", "86.0"}, "small-listed": {"100", "7"},
		"equal": {"unknown", "-"}, "over": {"unknown", "-"}, "none": {"unknown", "-"}, "zero": {"unknown", "-"},
	}, got)
}
