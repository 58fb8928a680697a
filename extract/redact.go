package extract

// What an answer may carry into an error: never the token, and at most
// the API envelope's fields.

import (
	"bytes"
	"fmt"
	"net/http"
	"strings"

	"github.com/interview-export/interview-export/internal/sanitize"
)

// redactBytes removes the token from what the API sent, should it echo it
// (an error page quoting the request's Authorization header): every text
// that enters the program from the API goes through here or redact, so no
// table, file, stdout line or log can hold it.
func (c *Client) redactBytes(b []byte) []byte {
	if !bytes.Contains(b, []byte(c.cfg.Token)) {
		return b
	}
	return bytes.ReplaceAll(b, []byte(c.cfg.Token), []byte(Redacted))
}

func (c *Client) redact(s string) string { return strings.ReplaceAll(s, c.cfg.Token, Redacted) }

// Redacted stands where a secret was removed.
const Redacted = sanitize.Redacted

// statusError turns a final non-success answer into an error.
func (c *Client) statusError(proposalID string, r response) error {
	env, enveloped := parseEnvelope(r.body)
	fe := &FetchError{ProposalID: proposalID, HTTPStatus: r.status, APICode: env.Code, RequestID: env.RequestID, Attempts: r.attempts}
	if enveloped {
		fe.Detail = envelopeDetail(env)
	} else {
		fe.Detail = fmt.Sprintf("answer without the API's error envelope (Content-Type %q)", r.contentType)
	}
	switch {
	case r.status >= 300 && r.status < 400:
		fe.Reason = ReasonUnexpectedRedirect
		fe.Detail = fmt.Sprintf("redirected to %q: the API documents no redirect, so none is followed (the token only goes to %s)",
			r.location, c.base.Scheme+"://"+c.base.Host)
		return fe
	case r.status == http.StatusUnauthorized:
		fe.Reason = ReasonUnauthorized
		return fmt.Errorf("%w: %w", ErrUnauthorized, fe)
	case r.status == http.StatusForbidden:
		fe.Reason = ReasonForbidden
	case r.status == http.StatusBadRequest:
		fe.Reason = ReasonBadRequest
	default:
		fe.Reason = ReasonUnexpectedStatus
	}
	return fe
}

func serverDetail(r response, env Envelope) string {
	if env.Message != "" {
		return env.Message
	}
	return fmt.Sprintf("HTTP %d (Content-Type %q)", r.status, r.contentType)
}
