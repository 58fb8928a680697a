package command

import (
	"context"
	"errors"
	"fmt"
	"log/slog"

	"github.com/interview-export/interview-export/load"
)

// connect opens the database of every command, or says what to check.
func connect(ctx context.Context, url string, maxConns int32) (*load.Store, error) {
	if url == "" {
		return nil, usageError{errors.New("no database: set DATABASE_URL or pass --database-url")}
	}
	store, err := load.Open(ctx, url, maxConns)
	if err != nil {
		return nil, usageError{fmt.Errorf("%w (is PostgreSQL running, and is DATABASE_URL right?)", err)}
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
