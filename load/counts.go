package load

import (
	"maps"
	"time"
)

// Counts are what a run did. It is the one shape of the run's numbers: the
// export_runs row (FinishRun returns it as stored), each batch's share of it
// (Writer.Write), the run's progress and the summary printed at the end.
type Counts struct {
	// The intake: IDs of this shard taken from the source (duplicates
	// included), those seen before in the run, those --refresh-after skipped.
	IDsRead, IDsDuplicate, IDsSkipped int64
	// IDsOtherShard counts the IDs the run passed over because another shard
	// holds them. It is not stored.
	IDsOtherShard int64
	// SkippedErased counts, of IDsSkipped, the IDs never fetched because they
	// were erased or their content is past retention.
	SkippedErased int64
	// Rechecked counts the stored transcripts the run took to re-check
	// (--recheck-stored-after); they are among IDsRead.
	Rechecked int64
	// The outcomes: each proposal that reached one, and failures by error code.
	Available, NoInterview, Failed int64
	FailedByCode                   map[string]int64
	// FailedKnown counts, of Failed, the known permanent failures found
	// failing the same way again: they count toward neither exit status 1
	// nor --max-failed.
	FailedKnown int64
	// What the outcomes changed in the tables.
	InterviewsChanged, MessagesWritten, MessagesDeleted int64
	// RemovedUpstream counts the stored transcripts whose content was
	// removed because the API no longer serves them (an enveloped 404);
	// RemovedRetention those --retain removed.
	RemovedUpstream, RemovedRetention int64
	// Withheld counts the answers left unwritten because their proposal was
	// erased, or its content removed by retention, while it was in flight.
	// They are among Available and NoInterview.
	Withheld int64
	// The API requests sent, the retries among them, and the 429s received.
	Requests, Retries, RateLimited int64
	// RequestRate is the rate the run's requests were paced at, at the end
	// (after what 429s and the API's headers taught it); 0 while unlimited.
	RequestRate float64
	// RateReason says why the rate last changed.
	RateReason string
	// The change feed's events read, and their count by type.
	EventsRead   int64
	EventsByType map[string]int64
	// Duration is how long the run took (zero in a batch's counts).
	Duration time.Duration
}

// FailedNew is the number of failures that are not known ones.
func (c Counts) FailedNew() int64 { return c.Failed - c.FailedKnown }

// Done is the number of proposals that reached an outcome or a failure.
func (c Counts) Done() int64 { return c.Available + c.NoInterview + c.Failed }

// PerSecond is the proposals per second over Duration.
func (c Counts) PerSecond() float64 {
	if c.Duration <= 0 {
		return 0
	}
	return float64(c.Done()) / c.Duration.Seconds()
}

// AddOutcomes adds o's outcomes and what they changed (not its intake or
// request counters, which a run observes rather than sums) to c.
func (c *Counts) AddOutcomes(o Counts) {
	c.Available += o.Available
	c.NoInterview += o.NoInterview
	c.Failed += o.Failed
	c.FailedKnown += o.FailedKnown
	if len(o.FailedByCode) > 0 {
		if c.FailedByCode == nil {
			c.FailedByCode = make(map[string]int64, len(o.FailedByCode))
		}
		for code, n := range o.FailedByCode {
			c.FailedByCode[code] += n
		}
	}
	c.InterviewsChanged += o.InterviewsChanged
	c.MessagesWritten += o.MessagesWritten
	c.MessagesDeleted += o.MessagesDeleted
	c.RemovedUpstream += o.RemovedUpstream
	c.RemovedRetention += o.RemovedRetention
	c.Withheld += o.Withheld
}

// Observe sets c's intake and request counters to o's.
func (c *Counts) Observe(o Counts) {
	c.IDsRead, c.IDsDuplicate, c.IDsSkipped, c.IDsOtherShard = o.IDsRead, o.IDsDuplicate, o.IDsSkipped, o.IDsOtherShard
	c.SkippedErased, c.Rechecked = o.SkippedErased, o.Rechecked
	c.Requests, c.Retries, c.RateLimited, c.RequestRate, c.RateReason = o.Requests, o.Retries, o.RateLimited, o.RequestRate, o.RateReason
	c.EventsRead, c.EventsByType = o.EventsRead, maps.Clone(o.EventsByType)
}

// After returns c with its intake counters (IDs read, duplicate, skipped,
// events, re-checks) added to base's: the totals of a run row that earlier
// cycles wrote to. Its outcomes and request counters are c's.
func (c Counts) After(base Counts) Counts {
	c.IDsRead += base.IDsRead
	c.IDsDuplicate += base.IDsDuplicate
	c.IDsSkipped += base.IDsSkipped
	c.SkippedErased += base.SkippedErased
	c.Rechecked += base.Rechecked
	c.EventsRead += base.EventsRead
	if len(base.EventsByType) > 0 {
		byType := maps.Clone(base.EventsByType)
		for k, n := range c.EventsByType {
			byType[k] += n
		}
		c.EventsByType = byType
	}
	return c
}

// Clone returns a copy of c that shares no map with it.
func (c Counts) Clone() Counts {
	c.FailedByCode = maps.Clone(c.FailedByCode)
	c.EventsByType = maps.Clone(c.EventsByType)
	return c
}

// outcomesOf counts what a batch holds before it is written.
func outcomesOf(b *Batch) Counts {
	var c Counts
	for i := range b.Interviews {
		if b.Interviews[i].Status == StatusAvailable {
			c.Available++
		} else {
			c.NoInterview++
		}
	}
	c.Failed = int64(len(b.Failures))
	for i := range b.Failures {
		if c.FailedByCode == nil {
			c.FailedByCode = map[string]int64{}
		}
		c.FailedByCode[b.Failures[i].Code]++
	}
	return c
}
