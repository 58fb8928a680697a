package extract

import "context"

type queueKey struct{}

// WithQueue returns ctx carrying queue: a request made with the result waits
// (for the breaker, the pace or a retry's backoff) only until queue
// ends, while a request already sent runs until ctx ends. A run stopping on
// a signal ends queue at once and ctx after its drain deadline, so requests
// not yet sent are given up at once, and ones in flight may still answer.
// A request given up that way returns queue's error.
func WithQueue(ctx, queue context.Context) context.Context {
	return context.WithValue(ctx, queueKey{}, queue)
}

// queueOf returns the context that bounds waits before a request leaves:
// the one given to WithQueue, or ctx itself. Either way it also ends with
// ctx. Call done when the request is over.
func queueOf(ctx context.Context) (queue context.Context, done func()) {
	q, ok := ctx.Value(queueKey{}).(context.Context)
	if !ok {
		return ctx, func() {}
	}
	merged, cancel := context.WithCancelCause(q)
	stop := context.AfterFunc(ctx, func() { cancel(context.Cause(ctx)) })
	return merged, func() {
		stop()
		cancel(nil)
	}
}
