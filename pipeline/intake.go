package pipeline

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/interview-export/interview-export/extract"
	"github.com/interview-export/interview-export/transform"
)

// fetchJob is one ID to fetch, with its feed event (0 outside the feed).
type fetchJob struct {
	id  string
	seq int64
}

// readSource sends the source's valid, first-seen IDs of this shard to ids,
// its invalid ones (as failures) and the facts it learned in passing (as
// records) to results, and keeps the feed's tracker informed.
func (r *Run) readSource(ctx context.Context, ids chan<- fetchJob, out outbox) error {
	seen := newSeenSet()
	defer seen.release()
	err := r.src.IDs(ctx, func(in extract.Input) error { return r.take(ctx, in, seen, ids, out) })
	if err != nil && ctx.Err() == nil && !errors.Is(err, errBatcherStopped) {
		return fmt.Errorf("read proposal IDs from %s: %w", r.src.Describe(), err)
	}
	if ctx.Err() != nil {
		return nil // stopped: Execute reports why
	}
	return err
}

// take does what in's kind asks.
func (r *Run) take(ctx context.Context, in extract.Input, seen *seenSet, ids chan<- fetchJob, out outbox) error {
	if in.Event != "" {
		r.countEvent(in.Event)
	}
	switch in.Kind {
	case extract.JobListed:
		j := transform.Job(*in.Job)
		return out.put(result{job: &j})
	case extract.Progress:
		r.feed.read(in.Seq)
		return nil
	}
	if !r.opts.Shard.Holds(in.ID) {
		if in.Kind != extract.Facts {
			r.otherShard.Add(1)
		}
		r.feed.read(in.Seq)
		return nil
	}
	if in.Proposal != nil {
		r.feed.add(in.Seq)
		p := transform.Proposal(in.ID, *in.Proposal)
		if err := out.put(result{proposal: &p, seq: in.Seq}); err != nil {
			return err
		}
	}
	if in.Kind == extract.Facts {
		return nil
	}
	r.idsRead.Add(1)
	if seen.add(idKey(in.ID)) {
		r.duplicates.Add(1)
		r.feed.read(in.Seq)
		return nil
	}
	r.feed.add(in.Seq)
	if in.Kind == extract.Invalid {
		f := transform.Failure(in.ID, in.Err, 0)
		if in.Where != "" {
			f.Message = in.Where + ": " + f.Message
		}
		return out.put(result{failure: &f, seq: in.Seq})
	}
	if err := ctx.Err(); err != nil {
		return err // select would pick a ready send half the time
	}
	select {
	case ids <- fetchJob{id: in.ID, seq: in.Seq}:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// countEvent counts one feed event by type.
func (r *Run) countEvent(typ string) {
	r.mu.Lock()
	r.events[typ]++
	r.mu.Unlock()
}

// skip forwards the IDs that no rule skips, asking the database what it
// stores of them in chunks, so a million IDs cost a few thousand queries: a
// withheld ID (erased, or past retention) is never fetched; with
// RefreshAfter, an ID whose outcome was recorded less than RefreshAfter ago
// is skipped, and so is a stale one once RefreshLimit stale ones were
// forwarded (new IDs always go through).
func (r *Run) skip(ctx context.Context, in <-chan fetchJob, out chan<- fetchJob) error {
	// forward reports false once the intake has stopped.
	forward := func(job fetchJob) bool {
		if ctx.Err() != nil {
			return false // select would pick a ready send half the time
		}
		select {
		case out <- job:
			return true
		case <-ctx.Done():
			return false
		}
	}
	if r.opts.Recorded == nil {
		for job := range in {
			if !forward(job) {
				return nil
			}
		}
		return nil
	}
	const chunk = 500
	pending := make([]fetchJob, 0, chunk)
	ids := make([]string, 0, chunk)
	var stale int64
	check := func() error {
		if len(pending) == 0 {
			return nil
		}
		ids = ids[:0]
		for _, job := range pending {
			ids = append(ids, job.id)
		}
		records, err := r.opts.Recorded.Recorded(ctx, ids)
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return fmt.Errorf("look up what is stored of the IDs: %w", err)
		}
		now := time.Now()
		for _, job := range pending {
			rec := records[job.id]
			known := r.opts.RefreshAfter > 0 && !rec.FetchedAt.IsZero()
			skip := known && now.Sub(rec.FetchedAt) < r.opts.RefreshAfter
			if known && !skip {
				stale++
				skip = r.opts.RefreshLimit > 0 && stale > r.opts.RefreshLimit
			}
			if rec.Withheld {
				skip = true
				r.withheld.Add(1)
			}
			if skip {
				r.skipped.Add(1)
				r.feed.done(job.seq)
			} else if !forward(job) {
				break
			}
		}
		pending = pending[:0]
		return nil
	}
	// A slow source must not hold IDs back: a partial chunk is checked when
	// no ID has come for a moment.
	idle := time.NewTimer(time.Hour)
	defer idle.Stop()
	for {
		select {
		case job, ok := <-in:
			if !ok {
				return check()
			}
			pending = append(pending, job)
			if len(pending) == chunk {
				if err := check(); err != nil {
					return err
				}
			}
			idle.Reset(50 * time.Millisecond)
		case <-idle.C:
			if err := check(); err != nil {
				return err
			}
		}
	}
}
