package pipeline

import (
	"context"
	"time"

	"github.com/interview-export/interview-export/load"
)

// commitResults batches results and commits them, and returns the counts of
// what it committed. Collecting the next batch and committing the previous
// one overlap: a committer goroutine owns the BatchWriter and commits one
// batch at a time, in order, while this one keeps receiving. It drains
// results to the end even after ctx ends, and writes with a context that
// outlives ctx, so what was received is committed or rolled back, never
// lost half-way.
func (r *Run) commitResults(ctx context.Context, results <-chan result) (load.Counts, error) {
	c := r.startCommitter(context.WithoutCancel(ctx))
	batch := new(load.Batch)
	var messages int
	var reserved int64 // of the budget, by the batch's transcripts
	var lastObserved [8]int64
	var seqs []int64 // the feed events the batch's results complete
	var lastCursor int64
	// flush hands the batch, with the run's intake and request counters as
	// they stand and the feed's cursor it completes, to the committer.
	flush := func() error {
		batch.Observed = r.observed()
		observed := observedKey(batch.Observed)
		if r.opts.Feed {
			r.feed.done(seqs...)
			seqs = seqs[:0]
			if c := r.feed.cursor(); c > lastCursor {
				batch.Cursor = &load.FeedCursor{Shard: r.opts.Shard.String(), Value: c}
				lastCursor = c
			}
		}
		if batch.Len() == 0 && len(batch.Proposals) == 0 && len(batch.Jobs) == 0 && batch.Cursor == nil && observed == lastObserved {
			return nil
		}
		select {
		case c.batches <- pending{batch: batch, reserved: reserved}:
		case err := <-c.failed:
			r.opts.Budget.Release(reserved)
			return err
		}
		lastObserved = observed
		batch, messages, reserved = new(load.Batch), 0, 0
		return nil
	}
	finish := func(err error) (load.Counts, error) {
		close(c.batches)
		<-c.done
		if err == nil {
			select {
			case err = <-c.failed:
			default:
			}
		}
		return c.committed, err
	}
	ticker := time.NewTicker(r.opts.FlushInterval)
	defer ticker.Stop()
	for {
		select {
		case res, ok := <-results:
			if !ok {
				return finish(flush())
			}
			if res.seq != 0 && r.opts.Feed {
				seqs = append(seqs, res.seq)
			}
			if res.proposal != nil || res.job != nil {
				if res.proposal != nil {
					batch.Proposals = append(batch.Proposals, *res.proposal)
				} else {
					batch.Jobs = append(batch.Jobs, *res.job)
				}
				if len(batch.Proposals)+len(batch.Jobs) >= 10*r.opts.BatchSize {
					if err := flush(); err != nil {
						return finish(err)
					}
				}
				continue
			}
			r.mu.Lock()
			if res.interview != nil {
				batch.Interviews = append(batch.Interviews, *res.interview)
				messages += len(res.interview.Messages)
				reserved += res.reserved
				if res.interview.Status == load.StatusAvailable {
					r.received.Available++
				} else {
					r.received.NoInterview++
				}
			} else {
				batch.Failures = append(batch.Failures, *res.failure)
				r.received.AddOutcomes(load.Counts{Failed: 1, FailedByCode: map[string]int64{res.failure.Code: 1}})
			}
			r.mu.Unlock()
			if batch.Len() >= r.opts.BatchSize || messages >= r.opts.BatchMessages || r.budgetFilled(reserved) {
				if err := flush(); err != nil {
					return finish(err)
				}
			}
		case <-ticker.C:
			if err := flush(); err != nil {
				return finish(err)
			}
		case err := <-c.failed:
			return finish(err)
		}
	}
}

// observedKey holds the counters a run observes (rather than sums), to
// tell whether they moved since the last batch.
func observedKey(c load.Counts) [8]int64 {
	return [8]int64{c.IDsRead, c.IDsDuplicate, c.IDsSkipped, c.IDsOtherShard, c.Requests, c.Retries, c.RateLimited, c.EventsRead}
}

// budgetFilled reports whether a batch holding reserved bytes of the budget
// is to be committed now, to free them.
func (r *Run) budgetFilled(reserved int64) bool {
	return r.opts.Budget != nil && reserved >= r.opts.Budget.size/2
}

// pending is a batch handed to the committer, with what its transcripts
// hold of the budget.
type pending struct {
	batch    *load.Batch
	reserved int64
}

// committer is the goroutine that commits batches in order.
type committer struct {
	batches   chan pending // one batch may wait while another is written
	failed    chan error   // the first write error; later batches are dropped
	done      chan struct{}
	committed load.Counts // read after done
}

func (r *Run) startCommitter(ctx context.Context) *committer {
	c := &committer{batches: make(chan pending, 1), failed: make(chan error, 1), done: make(chan struct{})}
	go func() {
		defer close(c.done)
		broken := false
		for p := range c.batches {
			if broken {
				r.opts.Budget.Release(p.reserved)
				continue // rolled back by the failure: rerun the export to fetch them again
			}
			counts, err := r.out.Write(ctx, p.batch)
			r.opts.Budget.Release(p.reserved)
			if err != nil {
				broken = true
				c.failed <- err
				continue
			}
			c.committed.AddOutcomes(counts)
		}
	}()
	return c
}
