package command

import (
	"fmt"

	"github.com/urfave/cli/v2"

	"github.com/interview-export/interview-export/exit"
	"github.com/interview-export/interview-export/export"
	"github.com/interview-export/interview-export/load"
)

func checkFlags(a *exportArgs) []cli.Flag {
	return append(exportFlags(a), formatFlag(),
		&cli.StringFlag{Name: "reader", Usage: "also check that reader `ROLE` may do no more than its --reader-kind allows (docs/privacy.md)"},
		&cli.StringFlag{Name: "reader-kind", Value: string(load.ReadsScores), Usage: "with --reader: scores (scores and statuses, no transcript) or transcripts"})
}

// runCheck verifies a set-up without exporting (export.Check). It reads the
// same flags, environment and config file as export.
func runCheck(c *cli.Context, e *env, a *exportArgs) error {
	o, err := a.mapped(c, e)
	if err != nil {
		return exit.UsageError{Err: err}
	}
	if err := checkFormat(c, "text", "json"); err != nil {
		return err
	}
	r := export.CheckRequest{Options: o, Reader: c.String("reader"), JSON: c.String(flagFormat) == "json"}
	if r.Reader != "" {
		if r.ReaderKind, err = load.ParseReaderKind(c.String("reader-kind")); err != nil {
			return exit.UsageError{Err: fmt.Errorf("--reader-kind: %w", err)}
		}
	}
	r.Token, r.TokenWarning, r.TokenErr = readToken(a.tokenFile, e.getenv)
	if r.TokenErr == nil {
		e.secrets = append(e.secrets, r.Token, databasePassword(o.DatabaseURL))
	}
	return export.Check(c.Context, r, export.Env{Stdin: e.stdin, Stdout: e.stdout, Stderr: e.stderr, Secrets: e.secrets})
}
