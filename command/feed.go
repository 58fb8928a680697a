package command

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/interview-export/interview-export/exit"
	"github.com/interview-export/interview-export/extract"
	"github.com/interview-export/interview-export/load"
	"github.com/interview-export/interview-export/pipeline"
	"github.com/interview-export/interview-export/report"
)

const flagTo = "to"

func feedStatusFlags() []cli.Flag { return append(commonFlags(), formatFlag()) }

func feedResetFlags() []cli.Flag {
	return append(commonFlags(),
		&cli.StringFlag{Name: flagShard, Usage: "the shard `I/N` whose cursor to reset (0/1 without sharding)", Value: "0/1", EnvVars: []string{envName(flagShard)}},
		&cli.StringFlag{Name: flagTo, Usage: "beginning (the next run reads the whole feed again), latest (skip the history up to now) or an event `ID`"},
		&cli.StringFlag{Name: flagAPIURL, Value: DefaultAPIURL, Usage: "OpenTrain public API base `URL` (for --to latest)", EnvVars: []string{"OT_API_URL"}},
		&cli.PathFlag{Name: flagTokenFile, Usage: "read the API token from `FILE` (else from OT_API_TOKEN; for --to latest)", EnvVars: []string{envName(flagTokenFile)}},
	)
}

// feedCommand is "feed status" and "feed reset": the way to see each
// shard's place in the change feed, and out when the API refuses one.
func (e *env) feedCommand() *cli.Command {
	return &cli.Command{
		Name:  "feed",
		Usage: "the change feed's cursor of each shard: status, and reset when the API refuses one",
		Subcommands: []*cli.Command{
			e.command("status", "each shard's feed cursor, when it last moved, and the failures waiting for a retry", feedStatusFlags(), runFeedStatus),
			e.command("reset", "set a shard's feed cursor: --to beginning, latest or an event ID", feedResetFlags(), runFeedReset),
		},
	}
}

// shardStatus is one line of feed status.
type shardStatus struct {
	load.ShardCursor
	// Pending failures of the shard: due at the next run, and waiting for
	// their re-check time.
	FailuresDue     int `json:"failures_due"`
	FailuresWaiting int `json:"failures_waiting"`
}

func runFeedStatus(c *cli.Context, e *env) error {
	if err := checkFormat(c, "text", "json"); err != nil {
		return err
	}
	store, err := openForReading(c, e)
	if err != nil {
		return err
	}
	defer store.Close()
	cursors, err := store.FeedCursors(c.Context)
	if err != nil {
		return err
	}
	failures, err := store.OpenFailures(c.Context)
	if err != nil {
		return err
	}
	now := time.Now()
	status := make([]shardStatus, len(cursors))
	for i, cur := range cursors {
		status[i].ShardCursor = cur
		shard, err := pipeline.ParseShard(cur.Shard)
		if err != nil {
			continue
		}
		for _, f := range failures {
			switch {
			case !shard.Holds(f.ProposalID) || f.Code == load.CodeInvalidID:
			case f.RecheckAt == nil || !f.RecheckAt.After(now):
				status[i].FailuresDue++
			default:
				status[i].FailuresWaiting++
			}
		}
	}
	if c.String(flagFormat) == "json" {
		return report.JSON(e.stdout, status)
	}
	if len(status) == 0 {
		fmt.Fprintln(e.stdout, "no shard has read the change feed yet: the first export --updates reads the whole history")
		return nil
	}
	tw := tabwriter.NewWriter(e.stdout, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "SHARD\tCURSOR\tMOVED (UTC)\tAGO\tFAILURES DUE\tWAITING FOR RE-CHECK\t")
	for _, s := range status {
		fmt.Fprintf(tw, "%s\t%d\t%s\t%s\t%d\t%d\t\n", s.Shard, s.Cursor, s.UpdatedAt.UTC().Format("2006-01-02 15:04:05"),
			report.Took(now.Sub(s.UpdatedAt)), s.FailuresDue, s.FailuresWaiting)
	}
	return tw.Flush()
}

func runFeedReset(c *cli.Context, e *env) error {
	to := strings.TrimSpace(c.String(flagTo))
	shard, err := pipeline.ParseShard(c.String(flagShard))
	if err != nil {
		return exit.UsageError{Err: fmt.Errorf("--%w", err)}
	}
	var eventID int64
	switch to {
	case "beginning", "latest":
	case "":
		return exit.UsageError{Err: errors.New("--to is required: beginning, latest or an event ID")}
	default:
		if eventID, err = strconv.ParseInt(to, 10, 64); err != nil || eventID < 0 {
			return exit.UsageError{Err: fmt.Errorf("--to %q: want beginning, latest or an event ID (a number)", to)}
		}
	}
	store, err := openForReading(c, e)
	if err != nil {
		return err
	}
	defer store.Close()
	release, err := store.LockRun(c.Context, shard.String())
	if err != nil {
		return fmt.Errorf("shard %s: %w", shard, err)
	}
	defer release()
	var cursor *int64
	switch to {
	case "beginning":
		fmt.Fprintf(e.stdout, "shard %s: the feed cursor is removed; the next export --updates reads the whole feed again "+
			"(safe: fetching a transcript again changes nothing that did not change)\n", shard)
	case "latest":
		end, skipped, err := feedEnd(c, e, store, shard)
		if err != nil {
			return err
		}
		cursor = &end
		fmt.Fprintf(e.stdout, "shard %s: the feed cursor is now %d, the latest event: %d events of the history were skipped "+
			"and will not be exported (export them with --ids-file or --all-jobs if they matter)\n", shard, end, skipped)
	default:
		cursor = &eventID
		fmt.Fprintf(e.stdout, "shard %s: the feed cursor is now %d; the next export --updates reads the events after it\n", shard, eventID)
	}
	return store.ResetFeedCursor(c.Context, shard.String(), cursor)
}

// feedEnd reads the feed from the shard's cursor (the beginning when the API
// refuses it or there is none) to its end.
func feedEnd(c *cli.Context, e *env, store *load.Store, shard pipeline.Shard) (cursor, skipped int64, err error) {
	token, _, err := readToken(c.String(flagTokenFile), e.getenv)
	if err != nil {
		return 0, 0, exit.UsageError{Err: err}
	}
	e.secrets = append(e.secrets, token)
	client, err := extract.NewClient(extract.Config{BaseURL: c.String(flagAPIURL), Token: token, UserAgent: "interview-export/" + Version})
	if err != nil {
		return 0, 0, err
	}
	after, ok, err := store.FeedCursor(c.Context, shard.String())
	if err != nil {
		return 0, 0, err
	}
	cursor, skipped, err = client.FeedEnd(c.Context, after, !ok)
	var refused *extract.CursorRefusedError
	if errors.As(err, &refused) {
		cursor, skipped, err = client.FeedEnd(c.Context, 0, true)
	}
	return cursor, skipped, err
}
