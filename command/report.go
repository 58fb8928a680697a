package command

import (
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/interview-export/interview-export/load"
)

const (
	flagFormat = "format"
	flagRuns   = "runs"
	flagLimit  = "limit"
	flagBy     = "by"
)

func formatFlag() cli.Flag {
	return &cli.StringFlag{Name: flagFormat, Value: "text", Usage: "text (for people) or json (for machines); report and runs also take csv, report html (one self-contained page)",
		EnvVars: []string{envName(flagFormat)}}
}

func reportFlags() []cli.Flag {
	return append(commonFlags(), formatFlag(),
		&cli.IntFlag{Name: flagRuns, Value: 5, Usage: "how many recent runs to list (with --format html: to chart)", EnvVars: []string{envName(flagRuns)}},
		&cli.StringFlag{Name: flagBy, Usage: "one row per job or per hiring status, with counts and score statistics: job or status", EnvVars: []string{envName(flagBy)}})
}

func runsFlags() []cli.Flag {
	return append(commonFlags(), formatFlag(),
		&cli.IntFlag{Name: flagLimit, Value: 20, Usage: "how many recent runs to list", EnvVars: []string{envName(flagLimit)}})
}

// checkFormat refuses a --format that is not one of formats.
func checkFormat(c *cli.Context, formats ...string) error {
	if f := c.String(flagFormat); !slices.Contains(formats, f) {
		return usageError{fmt.Errorf("--format %q: want %s", f, strings.Join(formats, ", "))}
	}
	return nil
}

// openForReading connects to an already migrated database.
func openForReading(c *cli.Context, e *env) (*load.Store, error) {
	if c.Args().Len() > 0 {
		return nil, usageError{fmt.Errorf("unexpected argument %q", c.Args().First())}
	}
	store, err := connect(c.Context, e.databaseURL(c), 2)
	if err != nil {
		return nil, err
	}
	cur, _, err := store.SchemaVersion(c.Context)
	if err == nil && cur == 0 {
		err = errors.New("this database holds no export yet (no schema): run 'interview-export export' first")
	}
	if err != nil {
		store.Close()
		return nil, usageError{err}
	}
	return store, nil
}

func runReport(c *cli.Context, e *env) error {
	if n := c.Int(flagRuns); n < 1 || n > 1000 {
		return usageError{fmt.Errorf("--runs %d: want 1 to 1000", n)}
	}
	if err := checkFormat(c, "text", "json", "csv", "html"); err != nil {
		return err
	}
	by, format := c.String(flagBy), c.String(flagFormat)
	switch {
	case by != "" && by != "job" && by != "status":
		return usageError{fmt.Errorf("--by %q: want job or status", by)}
	case format == "csv" && by == "":
		return usageError{errors.New("--format csv writes one row per job or status: add --by job or --by status")}
	}
	store, err := openForReading(c, e)
	if err != nil {
		return err
	}
	defer store.Close()
	if format == "html" {
		return writeHTMLReport(c.Context, e.stdout, store, c.Int(flagRuns), time.Now())
	}
	if by != "" {
		groups, err := store.ScoresBy(c.Context, by)
		if err != nil {
			return err
		}
		return writeGroups(e.stdout, format, by, groups)
	}
	r, err := store.Report(c.Context, c.Int(flagRuns))
	if err != nil {
		return err
	}
	if format == "json" {
		return writeJSON(e.stdout, r)
	}
	writeReport(e.stdout, r, time.Now())
	return nil
}

// writeGroups writes report --by as a table, JSON or CSV.
func writeGroups(w io.Writer, format, by string, groups []load.GroupScores) error {
	switch format {
	case "json":
		return writeJSON(w, groups)
	case "csv":
		cw := csv.NewWriter(w)
		cw.Write([]string{by, "label", "proposals", "interviews", "avg_score", "median_score", "p90_score", "min_score", "max_score"})
		for _, g := range groups {
			cw.Write([]string{g.Key, g.Label, fmt.Sprint(g.Proposals), fmt.Sprint(g.Interviews), csvNum(g.AvgScore),
				csvNum(g.MedianScore), csvNum(g.P90Score), csvNum(g.MinScore), csvNum(g.MaxScore)})
		}
		cw.Flush()
		return cw.Error()
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintf(tw, "%s\t\tPROPOSALS\tINTERVIEWS\tAVG SCORE\tMEDIAN\tP90\tMIN\tMAX\t\n", strings.ToUpper(by))
	for _, g := range groups {
		label := ""
		if g.Label != g.Key {
			label = truncate(g.Label, 40)
		}
		fmt.Fprintf(tw, "%s\t%s\t%d\t%d\t%s\t%s\t%s\t%s\t%s\t\n", g.Key, label, g.Proposals, g.Interviews,
			dash(g.AvgScore), dash(g.MedianScore), dash(g.P90Score), dash(g.MinScore), dash(g.MaxScore))
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

func runRuns(c *cli.Context, e *env) error {
	if n := c.Int(flagLimit); n < 1 || n > 100000 {
		return usageError{fmt.Errorf("--limit %d: want 1 to 100000", n)}
	}
	if err := checkFormat(c, "text", "json", "csv"); err != nil {
		return err
	}
	store, err := openForReading(c, e)
	if err != nil {
		return err
	}
	defer store.Close()
	runs, err := store.Runs(c.Context, c.Int(flagLimit))
	if err != nil {
		return err
	}
	switch c.String(flagFormat) {
	case "json":
		return writeJSON(e.stdout, runs)
	case "csv":
		return writeRunsCSV(e.stdout, runs)
	}
	writeRuns(e.stdout, runs, time.Now())
	return nil
}

// writeRunsCSV writes the run history as CSV, one row per run.
func writeRunsCSV(w io.Writer, runs []load.Run) error {
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

func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// writeReport renders the report for a terminal.
func writeReport(w io.Writer, r load.Report, now time.Time) {
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
	fmt.Fprintf(w, "\nScores of available interviews (%d scored, %d without a score)\n", sc.Scored, sc.Unscored)
	if sc.Scored > 0 {
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
		fmt.Fprintf(tw, "  STATUS\tINTERVIEWS\tSCORED\tAVG SCORE\t\n")
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

	fmt.Fprintln(w)
	writeRuns(w, r.Runs, now)

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

// writeRuns renders the run history as a table.
func writeRuns(w io.Writer, runs []load.Run, now time.Time) {
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
			r.Status, exit, r.Shard, took(r.Duration(now)), r.IDsRead, r.Skipped, r.Available, r.NoInterview, r.Failed, r.Changed, r.Requests, r.RateLimited)
	}
	tw.Flush()
}

func took(d time.Duration) string {
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
