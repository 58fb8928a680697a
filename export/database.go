package command

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/interview-export/interview-export/load"
)

// libpqEnv are the libpq environment variables that name a database.
var libpqEnv = []string{"PGHOST", "PGHOSTADDR", "PGPORT", "PGDATABASE", "PGUSER", "PGSERVICE"}

// databaseURL is --database-url (or DATABASE_URL); without it, when the
// libpq PG* variables are set, as for psql, the URL that means "every
// setting from the environment".
func (e *env) databaseURL(c *cli.Context) string {
	if u := c.String(flagDatabaseURL); u != "" {
		return u
	}
	for _, name := range libpqEnv {
		if e.getenv(name) != "" {
			return "postgres://"
		}
	}
	return ""
}

// connect opens the database of every command, or says what to check.
func connect(ctx context.Context, url string, maxConns int32) (*load.Store, error) {
	if url == "" {
		return nil, usageError{errors.New("no database: set DATABASE_URL (or the libpq PG* variables) or pass --database-url")}
	}
	store, err := load.Open(ctx, url, maxConns)
	if err != nil {
		// pgconn's errors can span lines (one per address tried): one line here.
		msg := strings.Join(strings.Fields(err.Error()), " ")
		if load.Unavailable(err) {
			return nil, fmt.Errorf("%w: %s (is PostgreSQL running and reachable? it may be restarting: try again later)", load.ErrUnavailable, msg)
		}
		return nil, usageError{fmt.Errorf("%s (check DATABASE_URL: the host, the database name, the user and its password)", msg)}
	}
	return store, nil
}

// openStore connects, then applies the pending migrations or, with
// noMigrate, checks that there are none.
func openStore(ctx context.Context, url string, noMigrate bool, log *slog.Logger) (*load.Store, error) {
	store, err := connect(ctx, url, 4)
	if err != nil {
		return nil, err
	}
	if noMigrate {
		cur, latest, err := store.SchemaVersion(ctx)
		if err == nil && cur != latest {
			err = fmt.Errorf("the database schema is at version %d but this binary needs %d: run 'interview-export migrate' or drop --no-migrate", cur, latest)
		}
		if err != nil {
			store.Close()
			return nil, usageError{err}
		}
		return store, nil
	}
	n, err := store.Migrate(ctx)
	if err != nil {
		store.Close()
		return nil, usageError{err}
	}
	if n > 0 {
		log.Info("applied migrations", "count", n)
	}
	return store, nil
}
