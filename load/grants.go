package load

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"
)

// exportTables are the tables an export reads and writes.
var exportTables = []string{"interviews", "interview_messages", "export_runs", "export_failures", "failure_ledger",
	"proposals", "jobs", "feed_cursors", "pace_board", "erasures", "recheck_state"}

// MissingGrants lists what the connected role lacks to export: a privilege
// on a table ("INSERT on interviews"), TEMPORARY on the database (each batch
// is staged in temporary tables) and, when the schema is not there yet,
// CREATE on the schema (to apply the migrations). Empty when nothing is
// missing.
func (s *Store) MissingGrants(ctx context.Context) ([]string, error) {
	rows, err := s.pool.Query(ctx, `
		SELECT p.privilege || ' on ' || t.name
		FROM unnest($1::text[]) AS t (name)
		CROSS JOIN unnest(ARRAY['SELECT', 'INSERT', 'UPDATE', 'DELETE']) AS p (privilege)
		WHERE to_regclass(t.name) IS NOT NULL AND NOT has_table_privilege(to_regclass(t.name), p.privilege)
		UNION ALL
		SELECT 'TEMPORARY on database ' || current_database() WHERE NOT has_database_privilege(current_database(), 'TEMPORARY')
		UNION ALL
		SELECT 'CREATE on schema ' || current_schema()
		WHERE to_regclass('interviews') IS NULL AND NOT has_schema_privilege(current_schema(), 'CREATE')`, exportTables)
	if err != nil {
		return nil, markUnavailable(fmt.Errorf("check grants: %w", err))
	}
	missing, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return nil, markUnavailable(fmt.Errorf("check grants: %w", err))
	}
	return missing, nil
}
