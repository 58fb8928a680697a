// Package follow keeps an export going after the change feed: its Service
// runs a cycle (read /updates, export what it says), then waits for the
// next poll or for a signed webhook delivery that wakes it, with its outage
// policy in one place. It serves the webhook endpoint, the follower's
// metrics (package metrics' vocabulary) and its health checks. It names no
// flag: the command gives it a cycle to run and the numbers.
//
// A webhook delivery is only a trigger: what is fetched always comes from
// /updates, so a forged or replayed delivery can never make the follower
// fetch or write anything.
package follow

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Webhook verification, as OpenTrain documents it.
const (
	// MaxDeliveryBytes caps a delivery's body.
	MaxDeliveryBytes = 1 << 20
	// MaxClockSkew is how far a delivery's timestamp may be from now.
	MaxClockSkew = 5 * time.Minute
	// rememberedDeliveries bounds the memory of delivery IDs seen.
	rememberedDeliveries = 10000
)

// ErrBadSignature is a delivery whose signature does not verify.
var ErrBadSignature = errors.New("the signature does not verify")

// Verify checks X-OpenTrain-Signature ("t=<unix>,v1=<hex HMAC-SHA256 of
// "<t>.<body>">") against secret in constant time, and that t is within
// MaxClockSkew of now.
func Verify(secret []byte, header string, body []byte, now time.Time) error {
	var ts string
	var sigs [][]byte
	for _, part := range strings.Split(header, ",") {
		k, v, _ := strings.Cut(strings.TrimSpace(part), "=")
		switch k {
		case "t":
			ts = v
		case "v1":
			if sig, err := hex.DecodeString(v); err == nil {
				sigs = append(sigs, sig)
			}
		}
	}
	unix, err := strconv.ParseInt(ts, 10, 64)
	if err != nil || len(sigs) == 0 {
		return fmt.Errorf("%w: want t=<unix seconds>,v1=<hex>", ErrBadSignature)
	}
	if skew := now.Sub(time.Unix(unix, 0)); skew > MaxClockSkew || skew < -MaxClockSkew {
		return fmt.Errorf("%w: its timestamp is %s away from now (at most %s)", ErrBadSignature, skew.Round(time.Second), MaxClockSkew)
	}
	mac := hmac.New(sha256.New, secret)
	mac.Write([]byte(ts))
	mac.Write([]byte("."))
	mac.Write(body)
	want := mac.Sum(nil)
	for _, sig := range sigs {
		if hmac.Equal(sig, want) {
			return nil
		}
	}
	return ErrBadSignature
}

// Sign returns the X-OpenTrain-Signature of body at t: what OpenTrain sends
// (tests and the fake API use it).
func Sign(secret, body []byte, t time.Time) string {
	ts := strconv.FormatInt(t.Unix(), 10)
	mac := hmac.New(sha256.New, secret)
	mac.Write([]byte(ts + "."))
	mac.Write(body)
	return "t=" + ts + ",v1=" + hex.EncodeToString(mac.Sum(nil))
}

// WebhookHandler serves POST /webhooks/opentrain: it verifies, dedupes on
// X-OpenTrain-Delivery, answers at once and wakes the follower.
type WebhookHandler struct {
	Secret []byte
	Wake   func()
	Log    *slog.Logger
	// Now is the clock (tests); default time.Now.
	Now func() time.Time

	mu    sync.Mutex
	seen  map[string]struct{}
	order []string

	// Counters, for the metrics.
	Accepted, Refused, Duplicates counter
}

// counter is a count safe for concurrent use.
type counter struct {
	mu sync.Mutex
	n  int64
}

func (c *counter) add() { c.mu.Lock(); c.n++; c.mu.Unlock() }

// Load returns the count.
func (c *counter) Load() int64 { c.mu.Lock(); defer c.mu.Unlock(); return c.n }

func (h *WebhookHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		http.Error(w, "POST only", http.StatusMethodNotAllowed)
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, MaxDeliveryBytes))
	if err != nil {
		h.Refused.add()
		h.Log.Warn("webhook delivery refused: its body is over the limit or unreadable", "limit_bytes", MaxDeliveryBytes)
		http.Error(w, "body too large", http.StatusRequestEntityTooLarge)
		return
	}
	now := time.Now
	if h.Now != nil {
		now = h.Now
	}
	if err := Verify(h.Secret, r.Header.Get("X-OpenTrain-Signature"), body, now()); err != nil {
		h.Refused.add()
		// Never the body: it is the API's data, and a forger's.
		h.Log.Warn("webhook delivery refused", "error", err.Error(), "delivery", r.Header.Get("X-OpenTrain-Delivery"),
			"remote", r.RemoteAddr)
		http.Error(w, "bad signature", http.StatusUnauthorized)
		return
	}
	if id := r.Header.Get("X-OpenTrain-Delivery"); id != "" && h.seenBefore(id) {
		h.Duplicates.add()
		w.WriteHeader(http.StatusNoContent)
		return
	}
	h.Accepted.add()
	h.Wake()
	w.WriteHeader(http.StatusNoContent)
}

// seenBefore records id and reports whether it was seen already.
func (h *WebhookHandler) seenBefore(id string) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.seen == nil {
		h.seen = map[string]struct{}{}
	}
	if _, ok := h.seen[id]; ok {
		return true
	}
	h.seen[id] = struct{}{}
	h.order = append(h.order, id)
	if len(h.order) > rememberedDeliveries {
		delete(h.seen, h.order[0])
		h.order = h.order[1:]
	}
	return false
}
