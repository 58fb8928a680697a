package pipeline

import (
	"context"

	"golang.org/x/sync/semaphore"
)

// DefaultPendingBytes is the default Budget: what waits to be written, from
// the moment a transcript's body is read until its batch is committed.
// With it and --max-response-bytes' 32 MiB default, 12 transcripts of 29 MB
// each exported at --concurrency 8 peaked under 512 MiB (make bench).
const DefaultPendingBytes = 96 << 20

// Budget bounds the bytes of transcripts held at once: a worker reserves
// a body's size before reading it (extract.Config.BodyBudget) and the run
// releases it once the transcript's batch is committed. A body larger than
// the whole budget waits until it can hold all of it, then goes alone.
type Budget struct {
	sem  *semaphore.Weighted
	size int64
}

// NewBudget returns a budget of size bytes.
func NewBudget(size int64) *Budget {
	return &Budget{sem: semaphore.NewWeighted(size), size: size}
}

// Acquire reserves n bytes (at most the whole budget) and returns how many
// it reserved, once they are free or ctx ends.
func (b *Budget) Acquire(ctx context.Context, n int64) (int64, error) {
	n = min(max(n, 1), b.size)
	if err := b.sem.Acquire(ctx, n); err != nil {
		return 0, err
	}
	return n, nil
}

// Release hands n reserved bytes back.
func (b *Budget) Release(n int64) {
	if b != nil && n > 0 {
		b.sem.Release(n)
	}
}
