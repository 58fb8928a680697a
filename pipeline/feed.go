package pipeline

import (
	"sync"
)

// feedTracker knows how far the change feed's cursor may move: to the last
// event read, but never past an event whose proposal has no committed
// outcome. Events come in increasing order; each input that will produce a
// result holds its event (add) until the batch that carries the result is
// closed (done); the others only move the reading position (read).
type feedTracker struct {
	mu          sync.Mutex
	pending     []int64       // events held, in order (front may be done)
	holds       map[int64]int // results still owed per event
	readThrough int64
}

func newFeedTracker() *feedTracker { return &feedTracker{holds: map[int64]int{}} }

// read records that the feed was read through seq.
func (f *feedTracker) read(seq int64) {
	if seq == 0 {
		return
	}
	f.mu.Lock()
	f.readThrough = max(f.readThrough, seq)
	f.mu.Unlock()
}

// add holds seq until done is called for it.
func (f *feedTracker) add(seq int64) {
	if seq == 0 {
		return
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.readThrough = max(f.readThrough, seq)
	if f.holds[seq] == 0 && (len(f.pending) == 0 || f.pending[len(f.pending)-1] != seq) {
		f.pending = append(f.pending, seq)
	}
	f.holds[seq]++
}

// done releases one hold of each of seqs.
func (f *feedTracker) done(seqs ...int64) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, seq := range seqs {
		if seq == 0 {
			continue
		}
		if f.holds[seq]--; f.holds[seq] <= 0 {
			delete(f.holds, seq)
		}
	}
	for len(f.pending) > 0 && f.holds[f.pending[0]] == 0 {
		f.pending = f.pending[1:]
	}
}

// cursor is how far the cursor may move now: just before the first event
// still held, or the reading position.
func (f *feedTracker) cursor() int64 {
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.pending) > 0 {
		return f.pending[0] - 1
	}
	return f.readThrough
}
