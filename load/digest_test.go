package load

import (
	"encoding/hex"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
)

// The digest of a content never changes between versions: a stored digest
// that stopped matching would make the next run merge every transcript.
// (The values are those of the first version, which hashed field by field.)
func TestDigestIsStable(t *testing.T) {
	t.Parallel()
	at := time.Date(2026, 6, 11, 15, 20, 0, 123456000, time.UTC)
	iv := Interview{ProposalID: "P", Status: StatusAvailable, InterviewID: new("I"), Score: new("8.60"),
		Messages: []Message{{ID: "m1", Role: "interviewer", Content: "Tell me", SentAt: at},
			{ID: "m2", Position: 1, Role: "candidate", Content: "世界\uFFFD", SentAt: at.Add(time.Minute)}}}
	sum, scratch := iv.digest(nil)
	assert.Equal(t, "5e4bc32e1be1593cb975e94afc3481119309760e907ecd9244820321095a989a", hex.EncodeToString(sum[:]))
	again, _ := iv.digest(scratch)
	assert.Equal(t, sum, again, "scratch space from a previous call changes nothing")
	empty := Interview{ProposalID: "Q", Status: StatusNoInterview}
	sum, _ = empty.digest(scratch)
	assert.Equal(t, "cc61a11c4cfffbe779a4ed7aebf1a3ecfaeaa652c7e7954a4c105cbf8fccef89", hex.EncodeToString(sum[:]))
}
