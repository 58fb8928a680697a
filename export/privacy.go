package export

import (
	"context"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"time"

	"github.com/interview-export/interview-export/extract"
	"github.com/interview-export/interview-export/load"
	"github.com/interview-export/interview-export/pipeline"
)

// DefaultRecheckStoredAfter is --recheck-stored-after's default: a
// transcript deleted upstream leaves the warehouse within about a month.
const DefaultRecheckStoredAfter = 30 * 24 * time.Hour

// followerRecheckEvery is how often a follower plans its re-checks.
// It applies retention as often.
const followerRecheckEvery = 10 * time.Minute

// Period is a retention period in calendar terms: 18mo, 400d, 2y, 6w. The
// zero Period is no retention.
type Period struct {
	Years, Months, Days int
}

// ParsePeriod reads a period written as a whole number and a unit: d
// (days), w (weeks), mo (months) or y (years); "" and "0" are none. A
// period shorter than a day is refused.
func ParsePeriod(s string) (Period, error) {
	s = strings.TrimSpace(s)
	if s == "" || s == "0" {
		return Period{}, nil
	}
	i := strings.IndexFunc(s, func(r rune) bool { return r < '0' || r > '9' })
	if i <= 0 {
		return Period{}, fmt.Errorf("%q is not a retention period such as 18mo, 400d, 52w or 2y", s)
	}
	n, err := strconv.Atoi(s[:i])
	if err != nil || n <= 0 {
		return Period{}, fmt.Errorf("%q is not a retention period such as 18mo, 400d, 52w or 2y", s)
	}
	switch s[i:] {
	case "d":
		return Period{Days: n}, nil
	case "w":
		return Period{Days: 7 * n}, nil
	case "mo":
		return Period{Months: n}, nil
	case "y":
		return Period{Years: n}, nil
	case "h", "m", "s", "ms":
		return Period{}, fmt.Errorf("a retention period of %q is shorter than a day: write it in days or more, such as 400d or 18mo", s)
	}
	return Period{}, fmt.Errorf("%q has an unknown unit: a retention period is written such as 18mo, 400d, 52w or 2y", s)
}

// IsZero reports whether p is no retention.
func (p Period) IsZero() bool { return p == Period{} }

// Cutoff is the moment before which content is past p, seen at now.
func (p Period) Cutoff(now time.Time) time.Time { return now.AddDate(-p.Years, -p.Months, -p.Days) }

func (p Period) String() string {
	switch {
	case p.IsZero():
		return "0"
	case p.Years != 0 && p.Months == 0 && p.Days == 0:
		return fmt.Sprintf("%dy", p.Years)
	case p.Years == 0 && p.Days == 0:
		return fmt.Sprintf("%dmo", p.Months)
	case p.Years == 0 && p.Months == 0:
		return fmt.Sprintf("%dd", p.Days)
	}
	return fmt.Sprintf("%dy%dmo%dd", p.Years, p.Months, p.Days)
}

// Set and Get make a Period a flag value.
func (p *Period) Set(s string) error {
	v, err := ParsePeriod(s)
	if err != nil {
		return err
	}
	*p = v
	return nil
}

// Get returns the period.
func (p *Period) Get() any { return *p }

// Privacy are the export's settings for candidates' data (docs/privacy.md).
type Privacy struct {
	// RecheckStoredAfter: every run that fetches also re-checks stored
	// transcripts last fetched longer ago, spread evenly; 0 turns it off.
	RecheckStoredAfter time.Duration
	// Retain, when set, removes the content of interviews whose last message
	// is older, before the run fetches anything.
	Retain Period
}

// withRechecks is a source followed by the stored transcripts due for a
// re-check (their IDs go through the same pipeline and pace as the rest).
type withRechecks struct {
	pipeline.Source
	ids []string
}

func (s withRechecks) IDs(ctx context.Context, yield func(extract.Input) error) error {
	if err := s.Source.IDs(ctx, yield); err != nil {
		return err
	}
	for _, id := range s.ids {
		if err := yield(extract.Input{ID: id, Where: "re-check of a stored transcript"}); err != nil {
			return err
		}
	}
	return nil
}

// countedWithRechecks is withRechecks of a source that knows its size.
type countedWithRechecks struct{ withRechecks }

func (s countedWithRechecks) Total() int64 {
	return s.Source.(pipeline.Counted).Total() + int64(len(s.ids))
}

// addRechecks plans the run's re-checks and appends them to its source; a
// dry run re-checks nothing.
func (x *exportRun) addRechecks(ctx context.Context, now time.Time) (int64, error) {
	window := x.o.Privacy.RecheckStoredAfter
	if window <= 0 || x.o.DryRun || x.store == nil {
		return 0, nil
	}
	// A follower plans its share once in a while, which earns the same
	// re-checks for less counting.
	if !x.rechecks.due(now, followerRecheckEvery) {
		return 0, nil
	}
	shard := x.o.Run.Shard
	plan, err := x.store.RecheckDue(ctx, load.RecheckPlan{Now: now, Window: window, Shard: shard.String(),
		Holds: shard.Holds, Shards: int(max(shard.Count, 1))})
	if err != nil {
		return 0, err
	}
	level := slog.LevelInfo
	if len(plan.IDs) == 0 {
		level = slog.LevelDebug
	}
	x.log.Log(ctx, level, "re-checking stored transcripts", "rechecks", len(plan.IDs), "stored", plan.Stored, "overdue", plan.Overdue,
		"recheck_stored_after", window.String())
	if len(plan.IDs) == 0 {
		return 0, nil
	}
	w := withRechecks{Source: x.src, ids: plan.IDs}
	if _, ok := x.src.(pipeline.Counted); ok {
		x.src = countedWithRechecks{w}
	} else {
		x.src = w
	}
	return int64(len(plan.IDs)), nil
}

// applyRetention removes the content past --retain before the run fetches:
// each removal is counted in the run's row. A dry run only counts.
func (x *exportRun) applyRetention(ctx context.Context, now time.Time) error {
	p := x.o.Privacy.Retain
	if p.IsZero() || x.store == nil {
		return nil
	}
	if !x.retention.due(now, followerRecheckEvery) {
		return nil
	}
	cutoff := p.Cutoff(now)
	n, err := x.store.RemoveExpired(ctx, cutoff, x.runID, x.o.DryRun)
	if err != nil {
		return err
	}
	verb := "removed"
	if x.o.DryRun {
		verb = "would remove"
	}
	x.log.Info(fmt.Sprintf("retention: %s the content of interviews whose last message is older than %s", verb, p),
		"interviews", n, "cutoff", cutoff.UTC().Format(time.RFC3339))
	return nil
}
