package follow

import (
	"bytes"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
)

func TestVerify(t *testing.T) {
	t.Parallel()
	secret := []byte("whsec_test")
	body := []byte(`{"id":"1042","type":"proposal.received"}`)
	now := time.Unix(1_800_000_000, 0)
	sig := Sign(secret, body, now)
	assert.NoError(t, Verify(secret, sig, body, now))
	assert.NoError(t, Verify(secret, sig, body, now.Add(4*time.Minute)))
	assert.ErrorIs(t, Verify(secret, sig, body, now.Add(6*time.Minute)), ErrBadSignature, "too old: a replay")
	assert.ErrorIs(t, Verify(secret, sig, body, now.Add(-6*time.Minute)), ErrBadSignature, "from the future")
	assert.ErrorIs(t, Verify([]byte("whsec_other"), sig, body, now), ErrBadSignature)
	assert.ErrorIs(t, Verify(secret, sig, append(body, ' '), now), ErrBadSignature, "the body changed")
	assert.ErrorIs(t, Verify(secret, "", body, now), ErrBadSignature)
	assert.ErrorIs(t, Verify(secret, "t=abc,v1=00", body, now), ErrBadSignature)
	rotated := "t=" + strings.TrimPrefix(strings.Split(sig, ",")[0], "t=") + ",v1=00ff," + strings.Split(sig, ",")[1]
	assert.NoError(t, Verify(secret, rotated, body, now), "any v1 may match (secret rotation)")
}

func TestWebhookHandler(t *testing.T) {
	t.Parallel()
	secret := []byte("whsec_test")
	now := time.Unix(1_800_000_000, 0)
	woken := 0
	var logs bytes.Buffer
	h := &WebhookHandler{Secret: secret, Wake: func() { woken++ }, Log: slog.New(slog.NewTextHandler(&logs, nil)),
		Now: func() time.Time { return now }}
	post := func(body, sig, delivery string) int {
		req := httptest.NewRequest(http.MethodPost, "/webhooks/opentrain", strings.NewReader(body))
		req.Header.Set("X-OpenTrain-Signature", sig)
		req.Header.Set("X-OpenTrain-Delivery", delivery)
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		return rec.Code
	}
	body := `{"id":"7","type":"proposal.received","data":{"proposalId":"SECRET-CONTENT"}}`
	assert.Equal(t, http.StatusNoContent, post(body, Sign(secret, []byte(body), now), "d1"))
	assert.Equal(t, http.StatusNoContent, post(body, Sign(secret, []byte(body), now), "d1"), "a duplicate is acknowledged")
	assert.Equal(t, http.StatusUnauthorized, post(body, Sign([]byte("forged"), []byte(body), now), "d2"))
	assert.Equal(t, http.StatusRequestEntityTooLarge, post(strings.Repeat("x", MaxDeliveryBytes+1), "", "d3"))
	assert.Equal(t, 1, woken, "only the first genuine delivery wakes the follower")
	assert.Equal(t, int64(1), h.Duplicates.Load())
	assert.Equal(t, int64(2), h.Refused.Load())
	assert.NotContains(t, logs.String(), "SECRET-CONTENT", "the body is never logged")
}
