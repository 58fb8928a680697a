// Package exporter wires one export run: proposal IDs from a Source, through
// the workers that fetch them with package extract and normalize them with
// package transform, to a BatchWriter (package load's Writer, or the JSON
// lines of --dry-run).
//
// The stages are goroutines of one errgroup joined by bounded channels:
//
//	source ─▶ shard, dedupe ─▶ [skip fresh] ─ids─▶ N fetch workers ─results─▶ loader ─▶ writer
//
// A per-ID failure is a result like any other and never stops the run. A
// fatal error (the token rejected, the database gone) cancels every stage;
// the loader still commits what it already holds. When the run's context
// ends (a signal), the run drains: no new ID is taken, requests in flight
// get until Options.DrainTimeout to finish, and every outcome received is
// committed before Execute returns.
package exporter

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"log/slog"
	"sync/atomic"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/interview-export/interview-export/extract"
	"github.com/interview-export/interview-export/load"
	"github.com/interview-export/interview-export/transform"
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

// BatchWriter commits a batch of outcomes; load.Writer is one.
type BatchWriter interface {
	Write(ctx context.Context, b *load.Batch) (load.WriteStats, error)
}

// Fetcher fetches one proposal's interview; extract.Client is one.
type Fetcher interface {
	Interview(ctx context.Context, proposalID string) (extract.Answer, error)
	Stats() extract.Stats
}

// Options tune a run.
type Options struct {
	// Concurrency is the number of fetch workers. Default 8.
	Concurrency int
	// BatchSize is the most proposals per committed batch. Default 500.
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
	// Fresh, when set, names the IDs recorded recently enough to skip
	// (--refresh-after); they are counted as skipped, never fetched.
	Fresh Freshness
	// DrainTimeout is how long requests in flight may still finish once ctx
	// ends. Default 15s.
	DrainTimeout time.Duration
}

// Freshness tells which of ids were fetched recently enough to be skipped.
type Freshness interface {
	Fresh(ctx context.Context, ids []string) (map[string]bool, error)
}

func (o *Options) defaults() {
	if o.Concurrency <= 0 {
		o.Concurrency = 8
	}
	if o.BatchSize <= 0 {
		o.BatchSize = 500
	}
	if o.BatchMessages <= 0 {
		o.BatchMessages = 20000
	}
	if o.FlushInterval <= 0 {
		o.FlushInterval = 2 * time.Second
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.DrainTimeout <= 0 {
		o.DrainTimeout = 15 * time.Second
	}
}

// Summary counts what a run did.
type Summary struct {
	IDsRead, Duplicates, Skipped                        int64
	Available, NoInterview                              int64
	Failed                                              int64
	FailedByCode                                        map[string]int64
	MessagesWritten, MessagesDeleted, InterviewsChanged int64
	Requests, Retries, RateLimited                      int64
	Duration                                            time.Duration
}

// Done is the number of proposals that reached an outcome or a failure.
func (s Summary) Done() int64 { return s.Available + s.NoInterview + s.Failed }

// PerSecond is the proposals per second of the run.
func (s Summary) PerSecond() float64 {
	if s.Duration <= 0 {
		return 0
	}
	return float64(s.Done()) / s.Duration.Seconds()
}

// Run is one export run. Make it with New and call Execute once.
type Run struct {
	src   Source
	fetch Fetcher
	out   BatchWriter
	opts  Options

	idsRead, duplicates, skipped atomic.Int64
	otherShard                   atomic.Int64
	received, failed             atomic.Int64 // outcomes that reached the loader
	done                         atomic.Int64 // outcomes committed
}

// New prepares a run.
func New(src Source, fetch Fetcher, out BatchWriter, opts Options) *Run {
	opts.defaults()
	return &Run{src: src, fetch: fetch, out: out, opts: opts}
}

// Progress is a snapshot of a running export: Read counts distinct IDs of
// this shard taken from the source, Skipped those --refresh-after skipped,
// Received the outcomes fetched (Failed of them failures) and Done those
// committed. Duplicates and OtherShard count the IDs the run passed over.
type Progress struct {
	Read, Skipped, Received, Failed, Done int64
	Duplicates, OtherShard                int64
}

// Handled is how many of the source's IDs the run is finished with: a
// progress bar over the source's total reaches it at the end.
func (p Progress) Handled() int64 { return p.Received + p.Skipped + p.Duplicates + p.OtherShard }

// Progress may be called from any goroutine while Execute runs.
func (r *Run) Progress() Progress {
	return Progress{Read: r.idsRead.Load() - r.duplicates.Load(), Skipped: r.skipped.Load(),
		Received: r.received.Load(), Failed: r.failed.Load(), Done: r.done.Load(),
		Duplicates: r.duplicates.Load(), OtherShard: r.otherShard.Load()}
}

// result is one proposal's outcome or failure.
type result struct {
	interview *load.Interview
	failure   *load.Failure
}

// Execute runs the export to the end of its source. It returns the summary
// of what was committed and the error that stopped the run early, if any:
// ctx's error when ctx ended (after draining), extract.ErrUnauthorized when
// the token was rejected, or a write error.
func (r *Run) Execute(ctx context.Context) (Summary, error) {
	start := time.Now()
	// run ends on a fatal error or when the drain deadline passes after a
	// signal; stop ends on either, or at once on the signal: it closes the
	// intake of new IDs while requests in flight finish under run.
	run, abort := context.WithCancelCause(context.WithoutCancel(ctx))
	defer abort(nil)
	stop, stopNow := context.WithCancelCause(run)
	defer stopNow(nil)
	defer context.AfterFunc(ctx, func() {
		stopNow(context.Cause(ctx))
		t := time.AfterFunc(r.opts.DrainTimeout, func() { abort(errDrainTimeout) })
		context.AfterFunc(run, func() { t.Stop() })
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
	candidates := make(chan string, r.opts.Concurrency*4)
	ids := make(chan string, r.opts.Concurrency*4)
	results := make(chan result, r.opts.Concurrency*4)
	// Workers hand over what they fetched for as long as the loader runs,
	// even once ctx has ended: an answer in hand is committed, not dropped.
	loaderDone := make(chan struct{})
	out := outbox{results: results, loaderDone: loaderDone}

	// Invalid IDs skip the workers: the source hands them straight to the
	// loader. errLoaderStopped is a consequence: the loader reports the cause.
	goFatal(func() error {
		defer close(candidates)
		return ignoreLoaderStopped(r.readSource(stop, candidates, out))
	})
	goFatal(func() error {
		defer close(ids)
		return r.skipFresh(stop, candidates, ids)
	})
	var workers errgroup.Group
	for range r.opts.Concurrency {
		workers.Go(func() error {
			err := r.work(stop, run, ids, out)
			if err != nil && !errors.Is(err, errLoaderStopped) {
				abort(err) // a 401 stops the other workers at once
			}
			return err
		})
	}
	goFatal(func() error {
		err := workers.Wait()
		close(results)
		return ignoreLoaderStopped(err)
	})
	var sum Summary
	goFatal(func() error {
		defer close(loaderDone)
		var err error
		sum, err = r.load(ctx, results)
		return err
	})
	err := g.Wait()
	sum.Duration = time.Since(start)
	if ctx.Err() != nil && (err == nil || errors.Is(err, context.Canceled) || errors.Is(err, errDrainTimeout)) {
		err = ctx.Err()
	}
	return sum, err
}

// errDrainTimeout ends the requests still in flight when the drain deadline passes.
var errDrainTimeout = errors.New("drain deadline passed")

// outbox is where the source and the workers put results.
type outbox struct {
	results    chan<- result
	loaderDone <-chan struct{}
}

// put delivers res unless the loader has stopped (on a write error).
func (o outbox) put(res result) error {
	select {
	case o.results <- res:
		return nil
	case <-o.loaderDone:
		return errLoaderStopped
	}
}

var errLoaderStopped = errors.New("the loader stopped")

func ignoreLoaderStopped(err error) error {
	if errors.Is(err, errLoaderStopped) {
		return nil
	}
	return err
}

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
	if err != nil && ctx.Err() == nil && !errors.Is(err, errLoaderStopped) {
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
			return fmt.Errorf("look up recent outcomes for --refresh-after: %w", err)
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

// idKey is a 128-bit digest of an ID: the run remembers every ID it has seen
// in 16 bytes, whatever the ID's length, with no practical risk of collision.
// Its first 8 bytes also place the ID in a shard.
func idKey(id string) [16]byte {
	sum := sha256.Sum256([]byte(id))
	return [16]byte(sum[:16])
}

// work fetches IDs until the intake stops (stop) and finishes the fetch in
// hand under run, which ends only on a fatal error or the drain deadline.
func (r *Run) work(stop, run context.Context, ids <-chan string, out outbox) error {
	for id := range ids {
		if stop.Err() != nil {
			return nil
		}
		ans, err := r.fetch.Interview(run, id)
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
		case run.Err() != nil:
			return nil // abandoned in flight: no outcome recorded; Execute reports why
		case errors.Is(err, extract.ErrUnauthorized):
			return err
		default:
			f := transform.Failure(id, err, 0)
			res.failure = &f
			var fe *extract.FetchError
			if errors.As(err, &fe) {
				r.opts.Logger.LogAttrs(run, slog.LevelDebug, "proposal failed", slog.String("proposal_id", id),
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

// load batches results and commits them. Collecting the next batch and
// committing the previous one overlap: a writer goroutine owns the
// BatchWriter and commits one batch at a time, in order, while this one
// keeps receiving. It drains results to the end even after ctx ends, and
// writes with a context that outlives ctx, so what was received is committed
// or rolled back, never lost half-way.
func (r *Run) load(ctx context.Context, results <-chan result) (Summary, error) {
	w := r.startWriter(context.WithoutCancel(ctx))
	batch := new(load.Batch)
	var messages int
	var last extract.Stats
	var lastRead, lastDup, lastSkipped int64
	// flush hands the batch, with the counters accumulated since the last
	// one, to the writer.
	flush := func() error {
		st := r.fetch.Stats()
		read, dup, skipped := r.idsRead.Load(), r.duplicates.Load(), r.skipped.Load()
		batch.Requests, batch.Retries, batch.RateLimited = st.Requests-last.Requests, st.Retries-last.Retries, st.RateLimited-last.RateLimited
		batch.IDsRead, batch.IDsDuplicate, batch.IDsSkipped = read-lastRead, dup-lastDup, skipped-lastSkipped
		if batch.Len() == 0 && batch.IDsRead == 0 && batch.Requests == 0 {
			return nil
		}
		select {
		case w.batches <- batch:
		case err := <-w.failed:
			return err
		}
		last, lastRead, lastDup, lastSkipped = st, read, dup, skipped
		batch, messages = new(load.Batch), 0
		return nil
	}
	finish := func(err error) (Summary, error) {
		close(w.batches)
		<-w.done
		if err == nil {
			select {
			case err = <-w.failed:
			default:
			}
		}
		st := r.fetch.Stats()
		w.sum.Requests, w.sum.Retries, w.sum.RateLimited = st.Requests, st.Retries, st.RateLimited
		w.sum.IDsRead, w.sum.Duplicates, w.sum.Skipped = r.idsRead.Load(), r.duplicates.Load(), r.skipped.Load()
		return w.sum, err
	}
	ticker := time.NewTicker(r.opts.FlushInterval)
	defer ticker.Stop()
	for {
		select {
		case res, ok := <-results:
			if !ok {
				return finish(flush())
			}
			r.received.Add(1)
			if res.interview != nil {
				batch.Interviews = append(batch.Interviews, *res.interview)
				messages += len(res.interview.Messages)
			} else {
				r.failed.Add(1)
				batch.Failures = append(batch.Failures, *res.failure)
			}
			if batch.Len() >= r.opts.BatchSize || messages >= r.opts.BatchMessages {
				if err := flush(); err != nil {
					return finish(err)
				}
			}
		case <-ticker.C:
			if err := flush(); err != nil {
				return finish(err)
			}
		case err := <-w.failed:
			return finish(err)
		}
	}
}

// batchWriter is the goroutine that commits batches in order.
type batchWriter struct {
	batches chan *load.Batch // one batch may wait while another is written
	failed  chan error       // the first write error; later batches are dropped
	done    chan struct{}
	sum     Summary // read after done
}

func (r *Run) startWriter(ctx context.Context) *batchWriter {
	w := &batchWriter{batches: make(chan *load.Batch, 1), failed: make(chan error, 1), done: make(chan struct{}),
		sum: Summary{FailedByCode: map[string]int64{}}}
	go func() {
		defer close(w.done)
		broken := false
		for b := range w.batches {
			if broken {
				continue // rolled back by the failure: rerun the export to fetch them again
			}
			ws, err := r.out.Write(ctx, b)
			if err != nil {
				broken = true
				w.failed <- err
				continue
			}
			w.sum.Available += int64(ws.Available)
			w.sum.NoInterview += int64(ws.NoInterview)
			w.sum.Failed += int64(ws.Failed)
			for _, f := range b.Failures {
				w.sum.FailedByCode[f.Code]++
			}
			w.sum.MessagesWritten += ws.MessagesWritten
			w.sum.MessagesDeleted += ws.MessagesDeleted
			w.sum.InterviewsChanged += ws.InterviewsChanged
			r.done.Add(int64(b.Len()))
		}
	}()
	return w
}
