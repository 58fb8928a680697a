// Package report renders what package load reads of the warehouse (the
// report, the run history, the scores by job or status) for people and
// machines: a terminal's text, JSON, CSV, and one self-contained HTML page.
// It reads through load's queries and writes to an io.Writer; it knows no
// flag and runs no query of its own.
package report

import (
	"context"
	_ "embed"
	"fmt"
	"html/template"
	"io"
	"slices"
	"time"

	"github.com/interview-export/interview-export/load"
)

//go:embed report.html.tmpl
var reportHTML string

var reportTemplate = template.Must(template.New("report").Funcs(template.FuncMap{
	"score": func(f *float64) string {
		if f == nil {
			return "–"
		}
		return num(*f)
	},
}).Parse(reportHTML))

// bar is one bar of a chart, in the chart's own coordinates.
type bar struct {
	X, Y, W, H float64
	Label      string // under the bar, or beside it
	Value      string // above the bar, or after it
	Title      string // the tooltip, for a mouse
	Class      string
}

// chart is one inline SVG chart.
type chart struct {
	Title         string
	Width, Height float64
	Bars          []bar
	Empty         string // said instead of the chart when there is nothing to show
}

// htmlReport is what the page shows.
type htmlReport struct {
	Generated string
	Overall   chart
	Scale     string
	Jobs      []chart
	ByStatus  chart
	Runs      chart
	Scored    int64
	Unscored  int64
	// On10 and UnknownScale are, of Scored, the scores on 0–10 (drawn
	// times ten) and those whose scale is unknown (not drawn).
	On10, UnknownScale int64
	// Lifecycle is what happened to candidates' data (docs/privacy.md).
	Lifecycle   load.Lifecycle
	Outcomes    []load.OutcomeCount
	StatusTable []load.GroupScores
}

// Store is what the HTML page reads: load.Store is one.
type Store interface {
	Report(ctx context.Context, runs int) (load.Report, error)
	ScoresBy(ctx context.Context, by string) ([]load.GroupScores, error)
	JobHistograms(ctx context.Context, lo, hi float64, n int) ([]load.JobHistogram, error)
}

// HTML writes one self-contained page (inline SVG, no script, no
// file from elsewhere): the score distribution overall and per job, the
// average score by hiring status, and the last runs with their failures.
func HTML(ctx context.Context, w io.Writer, store Store, runs int, now time.Time) error {
	r, err := store.Report(ctx, runs)
	if err != nil {
		return err
	}
	byStatus, err := store.ScoresBy(ctx, "status")
	if err != nil {
		return err
	}
	page := htmlReport{Generated: now.UTC().Format("2006-01-02 15:04 UTC"), Scored: r.Scores.Scored, Unscored: r.Scores.Unscored,
		On10: r.Scores.On10, UnknownScale: r.Scores.UnknownScale, Outcomes: r.Outcomes, StatusTable: byStatus}
	page.Overall = histogram("All scored interviews of a known scale, on 0–100", r.Scores.Buckets, 640, 220)
	if b := r.Scores.Buckets; len(b) > 0 {
		page.Scale = fmt.Sprintf("%s to %s", num(b[0].Lo), num(b[len(b)-1].Hi))
		jobs, err := store.JobHistograms(ctx, b[0].Lo, b[len(b)-1].Hi, 12)
		if err != nil {
			return err
		}
		for _, j := range jobs {
			buckets := slices.Clone(b)
			for i := range buckets {
				buckets[i].Count = j.Counts[i]
			}
			page.Jobs = append(page.Jobs, histogram(truncate(j.Title, 36), buckets, 300, 140))
		}
	}
	page.ByStatus = statusBars(byStatus)
	page.Runs = runBars(r.Runs)
	page.Lifecycle = r.Lifecycle
	return reportTemplate.Execute(w, page)
}

// histogram draws buckets as vertical bars.
func histogram(title string, buckets []load.Bucket, width, height float64) chart {
	c := chart{Title: title, Width: width, Height: height}
	var most int64
	for _, b := range buckets {
		most = max(most, b.Count)
	}
	if most == 0 {
		c.Empty = "no scored interview yet"
		return c
	}
	const top, bottom = 18, 22
	slot := width / float64(len(buckets))
	for _, b := range buckets {
		h := (height - top - bottom) * float64(b.Count) / float64(most)
		x := slot * float64(len(c.Bars))
		c.Bars = append(c.Bars, bar{X: x + 2, Y: height - bottom - h, W: slot - 4, H: h, Label: num(b.Lo),
			Value: fmt.Sprint(b.Count), Title: fmt.Sprintf("[%s, %s): %d interviews", num(b.Lo), num(b.Hi), b.Count)})
	}
	return c
}

// statusBars draws the average score of each hiring status as horizontal
// bars, scaled to the highest average.
func statusBars(groups []load.GroupScores) chart {
	c := chart{Title: "Average score by hiring status", Width: 640}
	var best float64
	for _, g := range groups {
		if g.AvgScore != nil {
			best = max(best, *g.AvgScore)
		}
	}
	if best <= 0 {
		c.Empty, c.Height = "no status with a scored interview yet (statuses come from --updates, --job or --all-jobs)", 40
		return c
	}
	const left, right, row = 130, 120, 26
	for i, g := range groups {
		if g.AvgScore == nil {
			continue
		}
		w := (c.Width - left - right) * *g.AvgScore / best
		c.Bars = append(c.Bars, bar{X: left, Y: float64(len(c.Bars))*row + 4, W: w, H: row - 8, Label: g.Key,
			Value: fmt.Sprintf("%s (%d interviews)", num(*g.AvgScore), g.Interviews), Class: fmt.Sprintf("s%d", i%6),
			Title: fmt.Sprintf("%s: average %s over %d interviews", g.Key, num(*g.AvgScore), g.Interviews)})
	}
	c.Height = float64(len(c.Bars))*row + 8
	return c
}

// runBars draws the last runs, oldest first: each run's proposals stacked
// by outcome, its failures in red on top.
func runBars(runs []load.Run) chart {
	c := chart{Title: "Runs over time (oldest first): available, no interview, failed", Width: 640, Height: 220}
	if len(runs) == 0 {
		c.Empty, c.Height = "no run yet", 40
		return c
	}
	var most int64
	for _, r := range runs {
		most = max(most, r.Available+r.NoInterview+r.Failed)
	}
	const top, bottom = 18, 34
	slot := min(c.Width/float64(len(runs)), 90)
	for i := range runs {
		r := runs[len(runs)-1-i]
		x, y := slot*float64(i)+3, c.Height-bottom
		label := fmt.Sprintf("#%d %s", r.ID, r.StartedAt.UTC().Format("01-02"))
		for _, part := range []struct {
			n     int64
			class string
		}{{r.Available, "available"}, {r.NoInterview, "none"}, {r.Failed, "failed"}} {
			h := 0.0
			if most > 0 {
				h = (c.Height - top - bottom) * float64(part.n) / float64(most)
			}
			y -= h
			c.Bars = append(c.Bars, bar{X: x, Y: y, W: slot - 6, H: h, Class: part.class,
				Title: fmt.Sprintf("run %d (%s, exit %s): %d %s", r.ID, r.Status, exitText(r.ExitStatus), part.n, part.class)})
		}
		c.Bars[len(c.Bars)-1].Label, c.Bars[len(c.Bars)-1].Value = label, fmt.Sprintf("%d failed", r.Failed)
	}
	return c
}

func exitText(code *int32) string {
	if code == nil {
		return "-"
	}
	return fmt.Sprint(*code)
}
