package pipeline

import (
	"context"
	"errors"
	"log/slog"
	"maps"
	"slices"

	"github.com/interview-export/interview-export/extract"
	"github.com/interview-export/interview-export/load"
	"github.com/interview-export/interview-export/transform"
)

// noteExtra logs, once a run, each member the API sent that the schema
// does not name (it is kept in extra).
func (r *Run) noteExtra(iv *load.Interview) {
	if iv.Extra == nil && !slices.ContainsFunc(iv.Messages, func(m load.Message) bool { return m.Extra != nil }) {
		return
	}
	msgs := make([][]byte, 0, len(iv.Messages))
	for i := range iv.Messages {
		msgs = append(msgs, iv.Messages[i].Extra)
	}
	for _, path := range transform.ExtraFields(iv.Extra, msgs...) {
		r.mu.Lock()
		first := !r.extra[path]
		r.extra[path] = true
		r.mu.Unlock()
		if first {
			r.opts.Logger.Warn("the API sent a field the schema does not name: kept in the column extra",
				"field", path, "proposal_id", iv.ProposalID)
		}
	}
}

// ExtraFields are the paths of the fields the run met that the schema does
// not name, sorted.
func (r *Run) ExtraFields() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Sorted(maps.Keys(r.extra))
}

// fetchAll is one worker: it fetches IDs until the intake closes or the
// run's context ends (checked too, since the intake closes on it a moment
// later, from another goroutine: no new ID may leave in between), and
// finishes the fetch in hand under inflight, which ends only on a fatal
// error or the drain deadline.
func (r *Run) fetchAll(ctx, intake, inflight context.Context, ids <-chan fetchJob, out outbox) error {
	for job := range ids {
		id := job.id
		if intake.Err() != nil || ctx.Err() != nil {
			return nil
		}
		// Waits before the request leaves end with the intake: a request
		// not yet sent is given up at once on a signal.
		r.inFlight.Add(1)
		ans, err := r.fetch.Interview(extract.WithQueue(inflight, intake), id)
		r.inFlight.Add(-1)
		res := result{seq: job.seq}
		switch {
		case err == nil:
			iv, terr := transform.Answer(ans)
			if terr != nil {
				f := transform.Failure(id, terr, ans.Attempts)
				res.failure = &f
				r.opts.Budget.Release(ans.Reserved)
			} else {
				res.interview, res.reserved = &iv, ans.Reserved
				r.noteExtra(&iv)
			}
		case inflight.Err() != nil, intake.Err() != nil && errors.Is(err, context.Canceled):
			return nil // abandoned: no outcome recorded; Execute reports why
		case errors.Is(err, extract.ErrUnauthorized), errors.Is(err, extract.ErrAPIUnavailable):
			return err // nothing more can succeed: the run stops
		default:
			f := transform.Failure(id, err, 0)
			res.failure = &f
			var fe *extract.FetchError
			if errors.As(err, &fe) {
				r.opts.Logger.LogAttrs(inflight, slog.LevelDebug, "proposal failed", slog.String("proposal_id", id),
					slog.String("error_code", f.Code), slog.Int("http_status", fe.HTTPStatus),
					slog.String("request_id", fe.RequestID), slog.Int("attempts", fe.Attempts))
			}
		}
		if err := out.put(res); err != nil {
			return err
		}
	}
	return nil
}
