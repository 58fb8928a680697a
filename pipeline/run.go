// Package pipeline wires one export run: proposal IDs from a Source, through
// the workers that fetch them with package extract and normalize them with
// package transform, to a BatchWriter (package load's Writer, or its
// JSONLines for a dry run).
//
// The stages are goroutines of one errgroup joined by bounded channels:
//
//	source ─▶ shard, dedupe ─▶ [skip withheld, fresh] ─ids─▶ N fetch workers ─results─▶ batcher ─▶ committer
//
// intake.go holds the first two stages, fetch.go the workers, commit.go the
// last two. A per-ID failure is a result like any other and never stops the
// run. A fatal error (the token rejected, the database gone) cancels every
// stage; what the batcher already holds is still committed. When the run's
// context ends (a signal), the run drains: no new ID is taken, requests in
// flight get until Options.DrainTimeout to finish, and every outcome
// received is committed before Execute returns.
//
// It owns the stages and the order of outcomes; it opens nothing (its
// caller, package export, gives it the source, the client and the writer),
// runs no SQL of its own and names no flag.
package pipeline

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/interview-export/interview-export/extract"
	"github.com/interview-export/interview-export/internal/setting"
	"github.com/interview-export/interview-export/load"
)

// Source yields proposal IDs. IDs calls yield for each one until the source
// is exhausted, yield returns an error, or ctx ends.
type Source interface {
	IDs(ctx context.Context, yield func(extract.Input) error) error
	// Describe names the source for logs and export_runs, e.g. "ids-file:ids.txt".
	Describe() string
}

// Counted is a Source that knows how many IDs it holds (lines of a file,
// rows of a query), for progress with an end.
type Counted interface {
	Total() int64
}

// BatchWriter commits a batch of outcomes and returns its outcomes and what
// they changed; load.Writer and load.JSONLines are two.
type BatchWriter interface {
	Write(ctx context.Context, b *load.Batch) (load.Counts, error)
}

// Fetcher fetches one proposal's interview; extract.Client is one.
type Fetcher interface {
	Interview(ctx context.Context, proposalID string) (extract.Answer, error)
	Stats() extract.Stats
}

// Defaults of Options, also the command line's.
const (
	DefaultBatchSize    = 500
	DefaultDrainTimeout = 15 * time.Second
)

// Options tune a run.
type Options struct {
	// Concurrency is the number of fetch workers. Default extract.DefaultConcurrency.
	Concurrency int
	// BatchSize is the most proposals per committed batch. Default DefaultBatchSize.
	BatchSize int
	// BatchMessages flushes a batch early once it holds that many messages. Default 20000.
	BatchMessages int
	// FlushInterval commits a partial batch after this long, so a slow run
	// still makes steady progress. Default 2s.
	FlushInterval time.Duration
	// Logger receives progress and problems. Default: discard.
	Logger *slog.Logger
	// Shard keeps only the IDs of one shard; the zero value keeps all.
	Shard Shard
	// Recorded, when set, tells what is stored of each ID: a withheld one
	// (erased, or past retention) is never fetched, and with RefreshAfter
	// one whose outcome was recorded less than RefreshAfter ago is skipped
	// too (--refresh-after); both are counted as skipped. RefreshLimit, when
	// positive, also skips the stale ones (recorded longer ago) beyond that
	// many in the run (--refresh-limit), so a periodic re-check is spread
	// over runs.
	Recorded     Recorded
	RefreshAfter time.Duration
	RefreshLimit int64
	// Feed, for a source that reads the change feed, stores the feed's
	// cursor with the batches, in Shard's name.
	Feed bool
	// DrainTimeout is how long requests in flight may still finish once ctx
	// ends. Default DefaultDrainTimeout.
	DrainTimeout time.Duration
	// Budget, when set, is the budget the Fetcher reserves transcript bodies
	// from (extract.Config.BodyBudget): the run releases each reservation
	// once the transcript's batch is committed, and commits a batch early
	// once it holds half the budget.
	Budget *Budget
}

// Recorded tells what is stored of each of ids (an ID absent from the map:
// nothing); load.Store is one.
type Recorded interface {
	Recorded(ctx context.Context, ids []string) (map[string]load.Record, error)
}

// MaxBatchSize is the most proposals per batch Options accepts.
const MaxBatchSize = 100000

func (o *Options) defaults() {
	o.Concurrency = setting.Or(o.Concurrency, extract.DefaultConcurrency)
	o.BatchSize = setting.Or(o.BatchSize, DefaultBatchSize)
	o.BatchMessages = setting.Or(o.BatchMessages, 20000)
	o.FlushInterval = setting.Or(o.FlushInterval, 2*time.Second)
	o.DrainTimeout = setting.Or(o.DrainTimeout, DefaultDrainTimeout)
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
}

// Validate checks the options a run would use: each zero setting stands
// for its default, and the rest must be in range. A setting out of range is
// a *setting.Error.
func (o Options) Validate() error {
	o.defaults()
	return setting.Check(
		setting.Rule{OK: o.Concurrency >= 1 && o.Concurrency <= extract.MaxConcurrency, Name: "Concurrency", Value: o.Concurrency,
			Want: fmt.Sprintf("1 to %d", extract.MaxConcurrency)},
		setting.Rule{OK: o.BatchSize >= 1 && o.BatchSize <= MaxBatchSize, Name: "BatchSize", Value: o.BatchSize, Want: fmt.Sprintf("1 to %d", MaxBatchSize)},
		setting.Rule{OK: o.BatchMessages >= 1, Name: "BatchMessages", Value: o.BatchMessages, Want: "1 or more"},
		setting.Positive("FlushInterval", o.FlushInterval),
		setting.Positive("DrainTimeout", o.DrainTimeout),
		setting.Rule{OK: o.RefreshAfter >= 0, Name: "RefreshAfter", Value: o.RefreshAfter, Want: "0 (fetch all) or a positive duration such as 20h"},
		setting.Rule{OK: o.RefreshLimit >= 0, Name: "RefreshLimit", Value: o.RefreshLimit, Want: "0 (no limit) or more"},
		setting.Rule{OK: o.RefreshLimit == 0 || o.RefreshAfter > 0, Name: "RefreshLimit", Value: o.RefreshLimit,
			Want: "0 without RefreshAfter: it bounds RefreshAfter's refetches"},
	)
}

// Run is one export run. Make it with New and call Execute once.
type Run struct {
	src   Source
	fetch Fetcher
	out   BatchWriter
	opts  Options

	idsRead, duplicates, skipped, otherShard atomic.Int64
	withheld                                 atomic.Int64
	inFlight                                 atomic.Int64

	mu       sync.Mutex
	received load.Counts      // outcomes that reached the batcher
	events   map[string]int64 // feed events read, by type
	extra    map[string]bool  // fields the schema does not name, met by the run

	feed *feedTracker
}

// New prepares a run.
func New(src Source, fetch Fetcher, out BatchWriter, opts Options) *Run {
	opts.defaults()
	return &Run{src: src, fetch: fetch, out: out, opts: opts, events: map[string]int64{}, extra: map[string]bool{}, feed: newFeedTracker()}
}

// observed returns the run's intake and request counters now.
func (r *Run) observed() load.Counts {
	st := r.fetch.Stats()
	c := load.Counts{IDsRead: r.idsRead.Load(), IDsDuplicate: r.duplicates.Load(), IDsSkipped: r.skipped.Load(), SkippedErased: r.withheld.Load(),
		IDsOtherShard: r.otherShard.Load(), Requests: st.Requests, Retries: st.Retries, RateLimited: st.RateLimited,
		RequestRate: st.RatePerSecond, RateReason: st.RateReason}
	r.mu.Lock()
	if len(r.events) > 0 {
		c.EventsByType = maps.Clone(r.events)
		for _, n := range r.events {
			c.EventsRead += n
		}
	}
	r.mu.Unlock()
	return c
}

// Progress returns the run's counts so far: the intake and requests as they
// stand, and the outcomes received (each committed with the batch that holds
// it). It may be called from any goroutine while Execute runs.
func (r *Run) Progress() load.Counts {
	r.mu.Lock()
	c := r.received.Clone()
	r.mu.Unlock()
	c.Observe(r.observed())
	return c
}

// InFlight is the number of proposals being fetched now.
func (r *Run) InFlight() int64 { return r.inFlight.Load() }

// Handled is how many of the source's IDs a run with counts c is finished
// with: a progress bar over the source's total reaches it at the end.
func Handled(c load.Counts) int64 {
	return c.Done() + c.IDsSkipped + c.IDsDuplicate + c.IDsOtherShard
}

// result is one proposal's outcome or failure, or a fact to record; seq is
// its feed event (0 outside the feed).
type result struct {
	// reserved is what the interview holds of Options.Budget until its
	// batch is committed.
	reserved  int64
	interview *load.Interview
	failure   *load.Failure
	proposal  *load.Proposal
	job       *load.Job
	seq       int64
}

// Execute runs the export to the end of its source. It returns the counts of
// what was committed, with the intake and request counters at the end, and
// the error that stopped the run early, if any: ctx's error when ctx ended
// (after draining), extract.ErrUnauthorized when the token was rejected, or
// a write error.
func (r *Run) Execute(ctx context.Context) (load.Counts, error) {
	if err := r.opts.Validate(); err != nil {
		return load.Counts{}, err
	}
	start := time.Now()
	// inflight ends on a fatal error, or when the drain deadline passes after
	// a signal: requests in flight run under it. intake ends on either, or at
	// once on the signal: it closes the intake of new IDs.
	inflight, abort := context.WithCancelCause(context.WithoutCancel(ctx))
	defer abort(nil)
	intake, closeIntake := context.WithCancelCause(inflight)
	defer closeIntake(nil)
	defer context.AfterFunc(ctx, func() {
		closeIntake(context.Cause(ctx))
		t := time.AfterFunc(r.opts.DrainTimeout, func() { abort(errDrainTimeout) })
		context.AfterFunc(inflight, func() { t.Stop() })
	})()

	var g errgroup.Group
	goFatal := func(f func() error) {
		g.Go(func() error {
			err := f()
			if err != nil {
				abort(err)
			}
			return err
		})
	}
	candidates := make(chan fetchJob, r.opts.Concurrency*4)
	ids := make(chan fetchJob, r.opts.Concurrency*4)
	results := make(chan result, r.opts.Concurrency*4)
	// Workers hand over what they fetched for as long as the batcher runs,
	// even once ctx has ended: an answer in hand is committed, not dropped.
	batcherDone := make(chan struct{})
	out := outbox{results: results, batcherDone: batcherDone}

	// Invalid IDs skip the workers: the source hands them straight to the
	// batcher. errBatcherStopped is a consequence: the batcher reports the cause.
	goFatal(func() error {
		defer close(candidates)
		return ignoreBatcherStopped(r.readSource(intake, candidates, out))
	})
	goFatal(func() error {
		defer close(ids)
		return r.skip(intake, candidates, ids)
	})
	var workers errgroup.Group
	for range r.opts.Concurrency {
		workers.Go(func() error {
			err := r.fetchAll(ctx, intake, inflight, ids, out)
			if err != nil && !errors.Is(err, errBatcherStopped) {
				abort(err) // a 401 stops the other workers at once
			}
			return err
		})
	}
	goFatal(func() error {
		err := workers.Wait()
		close(results)
		return ignoreBatcherStopped(err)
	})
	var committed load.Counts
	goFatal(func() error {
		defer close(batcherDone)
		var err error
		committed, err = r.commitResults(ctx, results)
		return err
	})
	err := g.Wait()
	committed.Observe(r.observed())
	committed.Duration = time.Since(start)
	if ctx.Err() != nil && (err == nil || errors.Is(err, context.Canceled) || errors.Is(err, errDrainTimeout)) {
		err = ctx.Err()
	}
	return committed, err
}

// errDrainTimeout ends the requests still in flight when the drain deadline passes.
var errDrainTimeout = errors.New("drain deadline passed")

// outbox is where the source and the workers put results.
type outbox struct {
	results     chan<- result
	batcherDone <-chan struct{}
}

// put delivers res unless the batcher has stopped (on a write error).
func (o outbox) put(res result) error {
	select {
	case o.results <- res:
		return nil
	case <-o.batcherDone:
		return errBatcherStopped
	}
}

var errBatcherStopped = errors.New("the batcher stopped")

func ignoreBatcherStopped(err error) error {
	if errors.Is(err, errBatcherStopped) {
		return nil
	}
	return err
}
