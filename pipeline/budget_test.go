package pipeline_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/interview-export/interview-export/extract"
	"github.com/interview-export/interview-export/pipeline"
)

// budgetFetcher reserves each body from the budget before answering, as
// extract.Client does with Config.BodyBudget.
type budgetFetcher struct {
	fetcher
	budget *pipeline.Budget
	body   int64
}

func (f *budgetFetcher) Interview(ctx context.Context, id string) (extract.Answer, error) {
	n, err := f.budget.Acquire(ctx, f.body)
	if err != nil {
		return extract.Answer{}, err
	}
	a, err := f.fetcher.Interview(ctx, id)
	a.Reserved = n
	return a, err
}

// A budget of three bodies serves 40 transcripts: each reservation is given
// back once its batch is committed (or the fourth would wait for ever), and
// a batch is committed as soon as it holds half the budget, although the
// batch size and the flush interval alone would keep all 40 in one.
func TestBudgetBoundsWhatWaitsToBeWritten(t *testing.T) {
	t.Parallel()
	budget := pipeline.NewBudget(1000)
	f := &budgetFetcher{budget: budget, body: 300}
	w := &recorder{}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	opts := pipeline.Options{Concurrency: 8, BatchSize: 500, FlushInterval: time.Hour, Budget: budget}
	sum, err := pipeline.New(sliceSource(ids("ok-", 40)), f, w, opts).Execute(ctx)
	require.NoError(t, err)
	assert.Equal(t, int64(40), sum.Available)
	assert.GreaterOrEqual(t, w.batches, 20, "a batch of two bodies (600 bytes) holds half the budget: committed")
	n, err := budget.Acquire(ctx, 1000)
	require.NoError(t, err, "every reservation was given back")
	assert.Equal(t, int64(1000), n)
}
