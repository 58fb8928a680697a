package report

import (
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/interview-export/interview-export/load"
)

// Groups writes report --by as a table, JSON or CSV.
func Groups(w io.Writer, format, by string, groups []load.GroupScores) error {
	switch format {
	case "json":
		return JSON(w, groups)
	case "csv":
		cw := csv.NewWriter(w)
		cw.Write([]string{by, "label", "proposals", "interviews", "avg_score_100", "median_score_100", "p90_score_100", "min_score_100",
			"max_score_100", "scores_of_unknown_scale"})
		for _, g := range groups {
			cw.Write([]string{g.Key, g.Label, fmt.Sprint(g.Proposals), fmt.Sprint(g.Interviews), csvNum(g.AvgScore),
				csvNum(g.MedianScore), csvNum(g.P90Score), csvNum(g.MinScore), csvNum(g.MaxScore), fmt.Sprint(g.UnknownScale)})
		}
		cw.Flush()
		return cw.Error()
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintf(w, "scores on 0–100 (a 0–10 score times ten); a score of unknown scale is counted apart, never averaged in\n")
	fmt.Fprintf(tw, "%s\t\tPROPOSALS\tINTERVIEWS\tAVG SCORE\tMEDIAN\tP90\tMIN\tMAX\tUNKNOWN SCALE\t\n", strings.ToUpper(by))
	for _, g := range groups {
		label := ""
		if g.Label != g.Key {
			label = truncate(g.Label, 40)
		}
		fmt.Fprintf(tw, "%s\t%s\t%d\t%d\t%s\t%s\t%s\t%s\t%s\t%d\t\n", g.Key, label, g.Proposals, g.Interviews,
			dash(g.AvgScore), dash(g.MedianScore), dash(g.P90Score), dash(g.MinScore), dash(g.MaxScore), g.UnknownScale)
	}
	return tw.Flush()
}

// csvNum is a number for CSV: empty for none.
func csvNum(f *float64) string {
	if f == nil {
		return ""
	}
	return strconv.FormatFloat(*f, 'f', -1, 64)
}

// dash is a number for a table: - for none.
func dash(f *float64) string {
	if f == nil {
		return "-"
	}
	return num(*f)
}

// RunsCSV writes the run history as CSV, one row per run.
func RunsCSV(w io.Writer, runs []load.Run) error {
	cw := csv.NewWriter(w)
	cw.Write([]string{"id", "started_at", "finished_at", "status", "exit_status", "shard", "source", "ids_read", "ids_skipped",
		"available", "no_interview", "failed", "interviews_changed", "requests", "retries", "rate_limited", "error"})
	for _, r := range runs {
		finished, exit, errText := "", "", ""
		if r.FinishedAt != nil {
			finished = r.FinishedAt.UTC().Format(time.RFC3339)
		}
		if r.ExitStatus != nil {
			exit = fmt.Sprint(*r.ExitStatus)
		}
		if r.Error != nil {
			errText = *r.Error
		}
		cw.Write([]string{fmt.Sprint(r.ID), r.StartedAt.UTC().Format(time.RFC3339), finished, r.Status, exit, r.Shard, r.Source,
			fmt.Sprint(r.IDsRead), fmt.Sprint(r.Skipped), fmt.Sprint(r.Available), fmt.Sprint(r.NoInterview), fmt.Sprint(r.Failed),
			fmt.Sprint(r.Changed), fmt.Sprint(r.Requests), fmt.Sprint(r.Retries), fmt.Sprint(r.RateLimited), errText})
	}
	cw.Flush()
	return cw.Error()
}

// JSON writes v as indented JSON.
func JSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}
