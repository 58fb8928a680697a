package exporter

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/interview-export/interview-export/extract"
	"github.com/interview-export/interview-export/transform"
)

// readSource sends the source's valid, first-seen IDs of this shard to ids
// and its invalid ones, as failures, to results.
func (r *Run) readSource(ctx context.Context, ids chan<- string, out outbox) error {
	seen := make(map[[16]byte]struct{})
	err := r.src.IDs(ctx, func(in extract.Input) error {
		key := idKey(in.ID)
		if !r.opts.Shard.holds(key) {
			r.otherShard.Add(1)
			return nil
		}
		r.idsRead.Add(1)
		if _, dup := seen[key]; dup {
			r.duplicates.Add(1)
			return nil
		}
		seen[key] = struct{}{}
		if in.Err != nil {
			f := transform.Failure(in.ID, in.Err, 0)
			if in.Where != "" {
				f.Message = in.Where + ": " + f.Message
			}
			return out.put(result{failure: &f})
		}
		if err := ctx.Err(); err != nil {
			return err // select would pick a ready send half the time
		}
		select {
		case ids <- in.ID:
			return nil
		case <-ctx.Done():
			return ctx.Err()
		}
	})
	if err != nil && ctx.Err() == nil && !errors.Is(err, errBatcherStopped) {
		return fmt.Errorf("read proposal IDs from %s: %w", r.src.Describe(), err)
	}
	if ctx.Err() != nil {
		return nil // stopped: Execute reports why
	}
	return err
}

// skipFresh forwards the IDs that --refresh-after does not skip, asking the
// database about them in chunks so a million IDs cost a few thousand queries.
func (r *Run) skipFresh(ctx context.Context, in <-chan string, out chan<- string) error {
	// forward reports false once the intake has stopped.
	forward := func(id string) bool {
		if ctx.Err() != nil {
			return false // select would pick a ready send half the time
		}
		select {
		case out <- id:
			return true
		case <-ctx.Done():
			return false
		}
	}
	if r.opts.Fresh == nil {
		for id := range in {
			if !forward(id) {
				return nil
			}
		}
		return nil
	}
	const chunk = 500
	pending := make([]string, 0, chunk)
	check := func() error {
		if len(pending) == 0 {
			return nil
		}
		fresh, err := r.opts.Fresh.Fresh(ctx, pending)
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return fmt.Errorf("look up recent outcomes: %w", err)
		}
		for _, id := range pending {
			if fresh[id] {
				r.skipped.Add(1)
			} else if !forward(id) {
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
		case id, ok := <-in:
			if !ok {
				return check()
			}
			pending = append(pending, id)
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
