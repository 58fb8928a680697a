package exporter_test

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

	"github.com/interview-export/interview-export/exporter"
	"github.com/interview-export/interview-export/extract"
	"github.com/interview-export/interview-export/load"
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
// "auth-" (a 401) and "slow-" (waits for the context).
type fetcher struct {
	calls atomic.Int64
}

func (f *fetcher) Interview(ctx context.Context, id string) (extract.Answer, error) {
	f.calls.Add(1)
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
		return extract.Answer{}, ctx.Err()
	}
	return extract.Answer{}, &extract.FetchError{ProposalID: id, Code: extract.CodeForbidden, HTTPStatus: 403, Attempts: 1}
}

func (f *fetcher) Stats() extract.Stats { return extract.Stats{Requests: f.calls.Load()} }

// recorder is a BatchWriter keeping every outcome; failAt makes the n-th
// write fail.
type recorder struct {
	mu       sync.Mutex
	outcomes map[string]string
	batches  int
	counts   load.Batch
	failAt   int
}

func (w *recorder) Write(_ context.Context, b *load.Batch) (load.WriteStats, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.batches++
	if w.batches == w.failAt {
		return load.WriteStats{}, errors.New("database gone")
	}
	if w.outcomes == nil {
		w.outcomes = map[string]string{}
	}
	var st load.WriteStats
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
		st.Failed++
	}
	w.counts.IDsRead += b.IDsRead
	w.counts.IDsDuplicate += b.IDsDuplicate
	w.counts.Requests += b.Requests
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
	sum, err := exporter.New(sliceSource(lines), f, w, exporter.Options{Concurrency: 7, BatchSize: 16}).Execute(context.Background())
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
	assert.Equal(t, int64(2), sum.Duplicates)
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
	_, err := exporter.New(sliceSource(lines), f, w, exporter.Options{Concurrency: 2, BatchSize: 10}).Execute(context.Background())
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
	_, err := exporter.New(sliceSource(ids("ok-", 5000)), f, w, exporter.Options{Concurrency: 4, BatchSize: 10}).Execute(context.Background())
	require.ErrorContains(t, err, "database gone")
	assert.Less(t, f.calls.Load(), int64(5000), "fetching stopped")
	assert.Len(t, w.outcomes, 10, "only the first batch was committed")
}

func TestCancelCommitsWhatWasReceived(t *testing.T) {
	t.Parallel()
	lines := append(ids("ok-", 100), ids("slow-", 4)...)
	w := &recorder{}
	f := &fetcher{}
	ctx, cancel := context.WithCancel(context.Background())
	go func() {
		for f.calls.Load() < 104 {
			time.Sleep(time.Millisecond)
		}
		time.Sleep(20 * time.Millisecond)
		cancel()
	}()
	sum, err := exporter.New(sliceSource(lines), f, w, exporter.Options{Concurrency: 4, BatchSize: 1000, FlushInterval: time.Hour}).Execute(ctx)
	require.ErrorIs(t, err, context.Canceled)
	var got []string
	for id := range w.outcomes {
		got = append(got, id)
	}
	sort.Strings(got)
	assert.Equal(t, ids("ok-", 100), got, "every answer received is committed; the abandoned requests are not recorded")
	assert.Equal(t, int64(100), sum.Available)
}
