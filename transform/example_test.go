package transform_test

import (
	"fmt"

	"github.com/interview-export/interview-export/transform"
)

func ExampleDecode() {
	body := []byte(`{"interview":{"proposalId":"p-1","interviewId":"iv-9","score":86,"summary":null,
		"messages":[{"id":"m1","role":"interviewer","content":"Hello\u0000!","sentAt":"2026-06-11T20:50:00.000+05:30"}]}}`)
	iv, err := transform.Decode("p-1", body)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(iv.Status, *iv.InterviewID, *iv.Score, iv.Summary == nil)
	for _, m := range iv.Messages {
		fmt.Println(m.Position, m.ID, m.Role, m.Content, m.SentAt.UTC())
	}

	_, err = transform.Decode("p-1", []byte(`{"interview":{"interviewId":"iv-9","score":"86","messages":[]}}`))
	fmt.Println(err)
	// Output:
	// available iv-9 86 true
	// 0 m1 interviewer Hello! 2026-06-11 15:20:00 +0000 UTC
	// invalid response: interview.score: not a number or null
}
