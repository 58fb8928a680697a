package fakeapi

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"time"
)

// Delivery is one webhook delivery as OpenTrain sends it: an /updates event
// record, signed with the subscription's secret.
type Delivery struct {
	Event Event
	// ID is X-OpenTrain-Delivery; the same ID twice is one delivery sent
	// twice (the receiver dedupes on it).
	ID string
	// Forged signs with another secret; Stale with a timestamp 10 minutes
	// old (a replay).
	Forged, Stale bool
}

// Deliver POSTs d to url, signed with secret, and returns the HTTP status.
func Deliver(client *http.Client, url string, secret []byte, d Delivery) (int, error) {
	e := d.Event
	data := map[string]any{}
	if e.ProposalID != "" {
		data["proposalId"], data["jobId"] = e.ProposalID, e.JobID
	}
	body, err := json.Marshal(map[string]any{"id": strconv.FormatInt(e.ID, 10), "type": e.Type, "apiVersion": "v1",
		"createdAt": e.CreatedAt.UTC().Format("2006-01-02T15:04:05.000Z"), "resourceId": nullable(e.ProposalID), "jobId": e.JobID, "data": data})
	if err != nil {
		return 0, err
	}
	at := time.Now()
	if d.Stale {
		at = at.Add(-10 * time.Minute)
	}
	key := secret
	if d.Forged {
		key = []byte("whsec_not_the_secret")
	}
	ts := strconv.FormatInt(at.Unix(), 10)
	mac := hmac.New(sha256.New, key)
	mac.Write([]byte(ts + "."))
	mac.Write(body)
	req, err := http.NewRequest(http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return 0, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "OpenTrain-Webhooks/1.0")
	req.Header.Set("X-OpenTrain-Event", e.Type)
	req.Header.Set("X-OpenTrain-Delivery", d.ID)
	req.Header.Set("X-OpenTrain-Signature", fmt.Sprintf("t=%s,v1=%s", ts, hex.EncodeToString(mac.Sum(nil))))
	resp, err := client.Do(req)
	if err != nil {
		return 0, err
	}
	resp.Body.Close()
	return resp.StatusCode, nil
}

// LastEvent returns the newest event of the feed.
func (s *Server) LastEvent() Event {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.initFeed()
	return s.feed[len(s.feed)-1]
}
