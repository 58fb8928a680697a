package command

import (
	"fmt"

	"github.com/urfave/cli/v2"
)

func runMigrate(c *cli.Context, e *env) error {
	if c.Args().Len() > 0 {
		return usageError{fmt.Errorf("unexpected argument %q", c.Args().First())}
	}
	log, _, err := newLogger(c, e.stderr)
	if err != nil {
		return err
	}
	store, err := connect(c.Context, e.databaseURL(c), 2)
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
