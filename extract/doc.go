// Package extract reads what interview-export exports: proposal IDs from
// their sources, and interview transcripts from the OpenTrain public API.
//
// The Client fetches GET /proposals/{id}/interview with a per-attempt
// timeout, a cap on response size, retries with capped exponential backoff
// and full jitter for 5xx, connection errors, timeouts and truncated bodies,
// and one pace.Pace shared by every worker: package pace decides how fast
// requests may leave, and the Client tells it each 429 (with or without
// Retry-After) and each quota the API announces in its RateLimit headers.
//
// It returns the API's answer untouched (the 200 body, or "no interview" for
// a 404 carrying the API's error envelope); package transform decodes it. An
// answer that is not an outcome is a *FetchError carrying the HTTP status,
// the API's code and requestId, and the number of attempts. A 401 is
// ErrUnauthorized: the token is bad and the whole run must stop.
//
// The token is sent in the Authorization header and nowhere else: it never
// appears in an error, a log line or a URL.
//
// It owns the API's wire format and the pace of requests through package
// pace; it imports no database driver and never package load, and names no
// flag (package exit turns its errors into advice).
package extract
