package report

import (
	"fmt"
	"io"
	"math"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/interview-export/interview-export/load"
)

// Text renders the report for a terminal.
func Text(w io.Writer, r load.Report, now time.Time) {
	fmt.Fprintln(w, "Interviews")
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	if len(r.Outcomes) == 0 {
		fmt.Fprintln(w, "  none recorded yet")
	}
	for _, o := range r.Outcomes {
		fmt.Fprintf(tw, "  %s\t%d proposals\t%d messages\t\n", o.Status, o.Proposals, o.Messages)
	}
	tw.Flush()

	sc := r.Scores
	fmt.Fprintf(w, "\nScores of available interviews on 0–100 (%d scored: %d on 0–100, %d on 0–10 shown ×10, %d of unknown scale left out; %d without a score)\n",
		sc.Scored, sc.On100, sc.On10, sc.UnknownScale, sc.Unscored)
	if len(sc.Buckets) > 0 {
		var most int64
		for _, b := range sc.Buckets {
			most = max(most, b.Count)
		}
		for i, b := range sc.Buckets {
			closing := ")"
			if i == len(sc.Buckets)-1 {
				closing = "]"
			}
			width := int(math.Round(40 * float64(b.Count) / float64(most)))
			if b.Count > 0 && width == 0 {
				width = 1
			}
			fmt.Fprintf(w, "  [%6s, %6s%s  %-40s %d\n", num(b.Lo), num(b.Hi), closing, strings.Repeat("█", width), b.Count)
		}
		fmt.Fprintf(w, "  min %s  avg %s  max %s\n", num(*sc.Min), num(*sc.Avg), num(*sc.Max))
	}

	if len(r.ScoresByStatus) > 0 {
		fmt.Fprintln(w, "\nScores by proposal status (hiring outcome)")
		tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
		fmt.Fprintf(tw, "  STATUS\tINTERVIEWS\tSCORED\tAVG SCORE (0–100)\t\n")
		for _, s := range r.ScoresByStatus {
			avg := "-"
			if s.AvgScore != nil {
				avg = num(*s.AvgScore)
			}
			fmt.Fprintf(tw, "  %s\t%d\t%d\t%s\t\n", s.Status, s.Interviews, s.Scored, avg)
		}
		tw.Flush()
	}

	m := r.Messages
	fmt.Fprintf(w, "\nMessages per available interview (%d interviews)\n", m.Interviews)
	if m.Interviews > 0 {
		fmt.Fprintf(w, "  min %d  median %s  p90 %s  max %d  avg %s\n", m.Min, num(m.Median), num(m.P90), m.Max, num(m.Avg))
	}

	l := r.Lifecycle
	fmt.Fprintf(w, "\nCandidates' data (docs/privacy.md)\n")
	fmt.Fprintf(w, "  content removed: %d deleted upstream, %d erased, %d past retention; %d IDs erased in all\n",
		l.Removed[load.RemovedUpstream], l.Removed[load.RemovedErased], l.Removed[load.RemovedRetention], l.Erasures)
	fmt.Fprintf(w, "  in the %d runs below: %d stored transcripts re-checked, %d removed as deleted upstream, %d past retention, %d IDs skipped as erased or past retention\n",
		len(r.Runs), l.Rechecked, l.RemovedUpstream, l.RemovedRetention, l.SkippedErased)
	if l.OldestFetch != nil {
		fmt.Fprintf(w, "  the stored transcript fetched longest ago was fetched at %s UTC\n", l.OldestFetch.UTC().Format("2006-01-02 15:04:05"))
	}

	fmt.Fprintln(w)
	Runs(w, r.Runs, now)

	if len(r.Runs) > 0 {
		fmt.Fprintf(w, "\nFailures of run %d by cause\n", r.Runs[0].ID)
		if len(r.LastRunFailures) == 0 {
			fmt.Fprintln(w, "  none")
		}
		tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
		for _, f := range r.LastRunFailures {
			cause := f.Code
			if f.HTTPStatus != nil {
				cause = fmt.Sprintf("%s (HTTP %d)", f.Code, *f.HTTPStatus)
			}
			known := ""
			if f.Known > 0 {
				known = fmt.Sprintf(" (%d known)", f.Known)
			}
			fmt.Fprintf(tw, "  %s\t%d%s\te.g. %s\n", cause, f.Count, known, truncate(f.Example, 80))
		}
		tw.Flush()
	}
}

// Runs renders the run history as a table.
func Runs(w io.Writer, runs []load.Run, now time.Time) {
	fmt.Fprintln(w, "Runs (newest first)")
	if len(runs) == 0 {
		fmt.Fprintln(w, "  none yet")
		return
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "  ID\tSTARTED (UTC)\tSTATUS\tEXIT\tSHARD\tTOOK\tREAD\tSKIPPED\tAVAILABLE\tNO INTERVIEW\tFAILED\tCHANGED\tREQUESTS\t429s\t")
	for _, r := range runs {
		exit := "-" // still running, or killed
		if r.ExitStatus != nil {
			exit = fmt.Sprint(*r.ExitStatus)
		}
		fmt.Fprintf(tw, "  %d\t%s\t%s\t%s\t%s\t%s\t%d\t%d\t%d\t%d\t%d\t%d\t%d\t%d\t\n", r.ID, r.StartedAt.UTC().Format("2006-01-02 15:04:05"),
			r.Status, exit, r.Shard, Took(r.Duration(now)), r.IDsRead, r.Skipped, r.Available, r.NoInterview, r.Failed, r.Changed, r.Requests, r.RateLimited)
	}
	tw.Flush()
}

// Took is a duration as the tables print it.
func Took(d time.Duration) string {
	if d < 10*time.Second {
		return d.Round(10 * time.Millisecond).String()
	}
	return d.Round(time.Second).String()
}

// num prints a number with at most one decimal.
func num(f float64) string {
	if f == math.Trunc(f) {
		return fmt.Sprintf("%.0f", f)
	}
	return fmt.Sprintf("%.1f", f)
}

func truncate(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n-1]) + "…"
}
