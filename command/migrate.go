package command

import (
	"fmt"

	"github.com/urfave/cli/v2"

	"github.com/interview-export/interview-export/exit"
	"github.com/interview-export/interview-export/export"
	"github.com/interview-export/interview-export/internal/logging"
)

func runMigrate(c *cli.Context, e *env) error {
	if c.Args().Len() > 0 {
		return exit.UsageError{Err: fmt.Errorf("unexpected argument %q", c.Args().First())}
	}
	lo, err := logOptions(c)
	if err != nil {
		return exit.UsageError{Err: err}
	}
	log, _ := logging.New(e.stderr, lo)
	store, err := export.Connect(c.Context, e.databaseURL(c), 2)
	if err != nil {
		return err
	}
	defer store.Close()
	n, err := store.Migrate(c.Context)
	if err != nil {
		return err
	}
	cur, _, err := store.SchemaVersion(c.Context)
	if err != nil {
		return err
	}
	log.Info("migrations applied", "applied", n, "schema_version", cur)
	fmt.Fprintf(e.stdout, "applied %d migration(s); schema version %d\n", n, cur)
	return nil
}
