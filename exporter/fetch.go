package exporter

import (
	"context"
	"errors"
	"log/slog"

	"github.com/interview-export/interview-export/extract"
	"github.com/interview-export/interview-export/transform"
)

// fetchAll is one worker: it fetches IDs until the intake closes and
// finishes the fetch in hand under inflight, which ends only on a fatal
// error or the drain deadline.
func (r *Run) fetchAll(intake, inflight context.Context, ids <-chan string, out outbox) error {
	for id := range ids {
		if intake.Err() != nil {
			return nil
		}
		ans, err := r.fetch.Interview(inflight, id)
		var res result
		switch {
		case err == nil:
			iv, terr := transform.Answer(ans)
			if terr != nil {
				f := transform.Failure(id, terr, ans.Attempts)
				res.failure = &f
			} else {
				res.interview = &iv
			}
		case inflight.Err() != nil:
			return nil // abandoned in flight: no outcome recorded; Execute reports why
		case errors.Is(err, extract.ErrUnauthorized):
			return err
		default:
			f := transform.Failure(id, err, 0)
			res.failure = &f
			var fe *extract.FetchError
			if errors.As(err, &fe) {
				r.opts.Logger.LogAttrs(inflight, slog.LevelDebug, "proposal failed", slog.String("proposal_id", id),
					slog.String("error_code", fe.Code), slog.Int("http_status", fe.HTTPStatus),
					slog.String("request_id", fe.RequestID), slog.Int("attempts", fe.Attempts))
			}
		}
		if err := out.put(res); err != nil {
			return err
		}
	}
	return nil
}
