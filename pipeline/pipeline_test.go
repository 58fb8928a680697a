package pipeline_test

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/interview-export/interview-export/extract"
	"github.com/interview-export/interview-export/load"
	"github.com/interview-export/interview-export/pipeline"
)

// sliceSource yields its lines through the real ID scanner.
type sliceSource []string

func (s sliceSource) IDs(ctx context.Context, yield func(extract.Input) error) error {
	src, err := extract.OpenFileSource("-", strings.NewReader(strings.Join(s, "\n")))
	if err != nil {
		return err
	}
	return src.IDs(ctx, yield)
}

func (s sliceSource) Describe() string { return "test" }

// fetcher answers by the ID's prefix: "ok-", "none-", "fail-", "bad-",
// "auth-" (a 401), "slow-" (waits for the context: abandoned counts them)
// and "late-" (answers once release is closed, whatever happens).
type fetcher struct {
	calls     atomic.Int64
	abandoned atomic.Int64
	release   chan struct{}
	// at, when set, runs once, when the call numbered atCall arrives.
	at     func()
	atCall int64
}

func (f *fetcher) Interview(ctx context.Context, id string) (extract.Answer, error) {
	if n := f.calls.Add(1); f.at != nil && n == f.atCall {
		f.at()
	}
	now := time.Now()
	switch {
	case strings.HasPrefix(id, "ok-"):
		return extract.Answer{ProposalID: id, Attempts: 1, ReceivedAt: now,
			Body: []byte(`{"interview":{"interviewId":"i","score":1,"messages":[{"id":"m","role":"r","content":"c","sentAt":"2026-01-01T00:00:00Z"}]}}`)}, nil
	case strings.HasPrefix(id, "none-"):
		return extract.Answer{ProposalID: id, NoInterview: true, Attempts: 1, ReceivedAt: now}, nil
	case strings.HasPrefix(id, "bad-"):
		return extract.Answer{ProposalID: id, Attempts: 1, ReceivedAt: now, Body: []byte(`{"interview":{}}`)}, nil
	case strings.HasPrefix(id, "auth-"):
		return extract.Answer{}, fmt.Errorf("%w: test", extract.ErrUnauthorized)
	case strings.HasPrefix(id, "slow-"):
		<-ctx.Done()
		f.abandoned.Add(1)
		return extract.Answer{}, ctx.Err()
	case strings.HasPrefix(id, "late-"):
		<-f.release
		return extract.Answer{ProposalID: id, NoInterview: true, Attempts: 1, ReceivedAt: now}, nil
	}
	return extract.Answer{}, &extract.FetchError{ProposalID: id, Reason: extract.ReasonForbidden, HTTPStatus: 403, Attempts: 1}
}

func (f *fetcher) Stats() extract.Stats { return extract.Stats{Requests: f.calls.Load()} }

// recorder is a BatchWriter keeping every outcome; failAt makes the n-th
// write fail.
type recorder struct {
	mu       sync.Mutex
	outcomes map[string]string
	batches  int
	counts   load.Counts // the run's counters observed with the last batch
	failAt   int
}

func (w *recorder) Write(_ context.Context, b *load.Batch) (load.Counts, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.batches++
	if w.batches == w.failAt {
		return load.Counts{}, errors.New("database gone")
	}
	if w.outcomes == nil {
		w.outcomes = map[string]string{}
	}
	var st load.Counts
	for _, iv := range b.Interviews {
		if _, dup := w.outcomes[iv.ProposalID]; dup {
			panic("proposal written twice: " + iv.ProposalID)
		}
		w.outcomes[iv.ProposalID] = string(iv.Status)
		if iv.Status == load.StatusAvailable {
			st.Available++
		} else {
			st.NoInterview++
		}
	}
	for _, f := range b.Failures {
		w.outcomes[f.ProposalID] = f.Code
		st.AddOutcomes(load.Counts{Failed: 1, FailedByCode: map[string]int64{f.Code: 1}})
	}
	w.counts = b.Observed
	return st, nil
}

func ids(prefix string, n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("%s%04d", prefix, i)
	}
	return out
}

func TestEveryIDReachesOneOutcome(t *testing.T) {
	t.Parallel()
	lines := append(append(append(ids("ok-", 300), ids("none-", 50)...), ids("fail-", 20)...), ids("bad-", 5)...)
	lines = append(lines, "ok-0000", "# comment", "", "has space", "ok-0001")
	w := &recorder{}
	f := &fetcher{}
	sum, err := pipeline.New(sliceSource(lines), f, w, pipeline.Options{Concurrency: 7, BatchSize: 16}).Execute(context.Background())
	require.NoError(t, err)

	assert.Len(t, w.outcomes, 376, "each distinct ID exactly once")
	assert.Equal(t, int64(375), f.calls.Load(), "duplicates and invalid IDs are never fetched")
	assert.Equal(t, "invalid_id", w.outcomes["has space"])
	assert.Equal(t, "invalid_response", w.outcomes["bad-0000"])
	assert.Equal(t, "forbidden", w.outcomes["fail-0000"])
	assert.Equal(t, "no_interview", w.outcomes["none-0049"])
	assert.Equal(t, "available", w.outcomes["ok-0299"])
	assert.Equal(t, int64(300), sum.Available)
	assert.Equal(t, int64(50), sum.NoInterview)
	assert.Equal(t, int64(26), sum.Failed)
	assert.Equal(t, map[string]int64{"invalid_id": 1, "invalid_response": 5, "forbidden": 20}, sum.FailedByCode)
	assert.Equal(t, int64(378), sum.IDsRead)
	assert.Equal(t, int64(2), sum.IDsDuplicate)
	assert.Equal(t, int64(378), w.counts.IDsRead, "counters reach the run's row")
	assert.Equal(t, int64(2), w.counts.IDsDuplicate)
	assert.Equal(t, int64(375), w.counts.Requests)
	assert.Greater(t, w.batches, 376/16, "batches of at most 16")
}

func TestUnauthorizedStopsTheRun(t *testing.T) {
	t.Parallel()
	lines := append(ids("ok-", 40), "auth-1")
	lines = append(lines, ids("ok-more-", 2000)...)
	w := &recorder{}
	f := &fetcher{}
	_, err := pipeline.New(sliceSource(lines), f, w, pipeline.Options{Concurrency: 2, BatchSize: 10}).Execute(context.Background())
	require.ErrorIs(t, err, extract.ErrUnauthorized)
	assert.Less(t, f.calls.Load(), int64(500), "the run stopped soon after the 401")
	for id, o := range w.outcomes {
		assert.Equal(t, "available", o, id)
	}
}

func TestWriteErrorStopsTheRun(t *testing.T) {
	t.Parallel()
	w := &recorder{failAt: 2}
	f := &fetcher{}
	_, err := pipeline.New(sliceSource(ids("ok-", 5000)), f, w, pipeline.Options{Concurrency: 4, BatchSize: 10}).Execute(context.Background())
	require.ErrorContains(t, err, "database gone")
	assert.Less(t, f.calls.Load(), int64(5000), "fetching stopped")
	assert.Len(t, w.outcomes, 10, "only the first batch was committed")
}

func TestCancelCommitsWhatWasReceived(t *testing.T) {
	t.Parallel()
	lines := append(ids("ok-", 100), ids("slow-", 4)...)
	w := &recorder{}
	ctx, cancel := context.WithCancel(context.Background())
	// The signal comes once the four slow requests are in flight: every ok-
	// answer has been received by then.
	f := &fetcher{at: cancel, atCall: 104}
	sum, err := pipeline.New(sliceSource(lines), f, w, pipeline.Options{Concurrency: 4, BatchSize: 1000,
		FlushInterval: time.Hour, DrainTimeout: 200 * time.Millisecond}).Execute(ctx)
	require.ErrorIs(t, err, context.Canceled)
	assert.Equal(t, int64(4), f.abandoned.Load(), "the requests that never answer are abandoned at the drain deadline")
	var got []string
	for id := range w.outcomes {
		got = append(got, id)
	}
	sort.Strings(got)
	assert.Equal(t, ids("ok-", 100), got, "every answer received is committed; the abandoned requests are not recorded")
	assert.Equal(t, int64(100), sum.Available)
}

func TestSignalDrainsRequestsInFlight(t *testing.T) {
	t.Parallel()
	w := &recorder{}
	ctx, cancel := context.WithCancel(context.Background())
	// Four requests in flight, then the signal, then their answers.
	f := &fetcher{release: make(chan struct{})}
	f.at, f.atCall = func() { cancel(); close(f.release) }, 4
	_, err := pipeline.New(sliceSource(ids("late-", 100)), f, w, pipeline.Options{Concurrency: 4, DrainTimeout: 5 * time.Second}).Execute(ctx)
	require.ErrorIs(t, err, context.Canceled)
	assert.Equal(t, int64(4), f.calls.Load(), "no new ID taken after the signal")
	assert.Len(t, w.outcomes, 4, "the requests in flight finished and were committed")
}

func TestShardsCoverEveryIDOnce(t *testing.T) {
	t.Parallel()
	all := ids("ok-", 1000)
	seen := map[string]int{}
	for i := range uint64(3) {
		w := &recorder{}
		_, err := pipeline.New(sliceSource(all), &fetcher{}, w, pipeline.Options{Shard: pipeline.Shard{Index: i, Count: 3}}).Execute(context.Background())
		require.NoError(t, err)
		assert.InDelta(t, 333, len(w.outcomes), 60, "shard %d holds about a third", i)
		for id := range w.outcomes {
			seen[id]++
			assert.True(t, pipeline.Shard{Index: i, Count: 3}.Holds(id))
		}
	}
	assert.Len(t, seen, 1000)
	for id, n := range seen {
		assert.Equal(t, 1, n, id)
	}
}

func TestParseShard(t *testing.T) {
	t.Parallel()
	s, err := pipeline.ParseShard("2/5")
	require.NoError(t, err)
	assert.Equal(t, pipeline.Shard{Index: 2, Count: 5}, s)
	assert.Equal(t, "2/5", s.String())
	s, err = pipeline.ParseShard("")
	require.NoError(t, err)
	assert.Equal(t, "0/1", s.String())
	for _, bad := range []string{"5/5", "1", "a/b", "0/0", "-1/3", "1/2/3"} {
		_, err := pipeline.ParseShard(bad)
		assert.Error(t, err, bad)
	}
}

// recorded answers what is stored of IDs.
type recorded map[string]load.Record

func (f recorded) Recorded(_ context.Context, ids []string) (map[string]load.Record, error) {
	out := map[string]load.Record{}
	for _, id := range ids {
		if r, ok := f[id]; ok {
			out[id] = r
		}
	}
	return out, nil
}

// recordedAt is what is stored of IDs recorded at the given times.
func recordedAt(at map[string]time.Time) recorded {
	out := recorded{}
	for id, t := range at {
		out[id] = load.Record{FetchedAt: t}
	}
	return out
}

func TestRefreshAfterSkipsFreshIDs(t *testing.T) {
	t.Parallel()
	at := map[string]time.Time{}
	for _, id := range ids("ok-", 700)[:600] {
		at[id] = time.Now().Add(-time.Hour)
	}
	fresh := recordedAt(at)
	w := &recorder{}
	f := &fetcher{}
	sum, err := pipeline.New(sliceSource(ids("ok-", 700)), f, w, pipeline.Options{Recorded: fresh, RefreshAfter: 20 * time.Hour}).Execute(context.Background())
	require.NoError(t, err)
	assert.Equal(t, int64(100), f.calls.Load(), "only the stale and new IDs are fetched")
	assert.Equal(t, int64(600), sum.IDsSkipped)
	assert.Len(t, w.outcomes, 100)
	assert.Equal(t, int64(600), w.counts.IDsSkipped, "skipped IDs are counted in the run")
}

// --refresh-limit spreads a re-check: at most that many stale IDs are
// refetched in a run; new ones always are.
func TestRefreshLimitBoundsStaleRefetches(t *testing.T) {
	t.Parallel()
	at := map[string]time.Time{}
	for _, id := range ids("ok-", 700)[:600] {
		at[id] = time.Now().Add(-48 * time.Hour) // stale
	}
	f := &fetcher{}
	sum, err := pipeline.New(sliceSource(ids("ok-", 700)), f, &recorder{},
		pipeline.Options{Recorded: recordedAt(at), RefreshAfter: 20 * time.Hour, RefreshLimit: 250}).Execute(context.Background())
	require.NoError(t, err)
	assert.Equal(t, int64(100+250), f.calls.Load(), "the 100 new ones and 250 of the 600 stale ones")
	assert.Equal(t, int64(350), sum.IDsSkipped)
}

// A withheld ID (erased, or past retention) is never fetched, with or
// without --refresh-after, and is counted as skipped and as withheld.
func TestWithheldIDsAreNeverFetched(t *testing.T) {
	t.Parallel()
	all := ids("ok-", 300)
	stored := recorded{}
	for _, id := range all[:40] {
		stored[id] = load.Record{Withheld: true} // erased before it was ever stored
	}
	for _, id := range all[40:60] {
		stored[id] = load.Record{FetchedAt: time.Now().Add(-time.Hour), Withheld: true}
	}
	for _, opts := range []pipeline.Options{{Recorded: stored}, {Recorded: stored, RefreshAfter: time.Minute}} {
		f := &fetcher{}
		w := &recorder{}
		sum, err := pipeline.New(sliceSource(all), f, w, opts).Execute(context.Background())
		require.NoError(t, err)
		assert.Equal(t, int64(240), f.calls.Load(), "refresh after %s", opts.RefreshAfter)
		assert.Equal(t, int64(60), sum.IDsSkipped)
		assert.Equal(t, int64(60), sum.SkippedErased)
		assert.Len(t, w.outcomes, 240)
	}
}
