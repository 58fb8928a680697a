package export

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"

	"github.com/interview-export/interview-export/exit"
	"github.com/interview-export/interview-export/load"
)

// Connect opens the database of every command, or says what to check.
func Connect(ctx context.Context, url string, maxConns int32) (*load.Store, error) {
	if url == "" {
		return nil, exit.UsageError{Err: errors.New("no database: set DATABASE_URL (or the libpq PG* variables) or pass --database-url")}
	}
	store, err := load.Open(ctx, url, maxConns)
	if err != nil {
		// pgconn's errors can span lines (one per address tried): one line here.
		msg := strings.Join(strings.Fields(err.Error()), " ")
		if load.Unavailable(err) {
			return nil, fmt.Errorf("%w: %s (is PostgreSQL running and reachable? it may be restarting: try again later)", load.ErrUnavailable, msg)
		}
		return nil, exit.UsageError{Err: fmt.Errorf("%s (check DATABASE_URL: the host, the database name, the user and its password)", msg)}
	}
	return store, nil
}

// openStore connects, then applies the pending migrations or, with
// noMigrate, checks that there are none.
func openStore(ctx context.Context, url string, noMigrate bool, log *slog.Logger) (*load.Store, error) {
	store, err := Connect(ctx, url, 4)
	if err != nil {
		return nil, err
	}
	if noMigrate {
		if err := schemaCurrent(ctx, store, "run 'interview-export migrate' or drop --no-migrate"); err != nil {
			store.Close()
			return nil, err
		}
		return store, nil
	}
	n, err := store.Migrate(ctx)
	if err != nil {
		store.Close()
		return nil, exit.UsageError{Err: err}
	}
	if n > 0 {
		log.Info("applied migrations", "count", n)
	}
	return store, nil
}

// ConnectCurrent opens a database whose schema this binary's migrations
// have reached, without migrating it: the commands that change candidates'
// data (erase, retention) never migrate.
func ConnectCurrent(ctx context.Context, url string) (*load.Store, error) {
	store, err := Connect(ctx, url, 2)
	if err != nil {
		return nil, err
	}
	if err := schemaCurrent(ctx, store, "run 'interview-export migrate' first"); err != nil {
		store.Close()
		return nil, err
	}
	return store, nil
}

// schemaCurrent is a usage error, saying fix, unless the schema is at the
// binary's version.
func schemaCurrent(ctx context.Context, store *load.Store, fix string) error {
	cur, latest, err := store.SchemaVersion(ctx)
	if err == nil && cur != latest {
		err = fmt.Errorf("the database schema is at version %d but this binary needs %d: %s", cur, latest, fix)
	}
	if err != nil {
		return exit.UsageError{Err: err}
	}
	return nil
}
