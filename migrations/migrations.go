// Package migrations holds the database schema of interview-export as numbered,
// forward-only SQL files (001_name.sql, 002_name.sql, ...), embedded in the binary.
//
// The files are applied by package load with jackc/tern's migrator, one
// transaction per file, serialized across processes by a PostgreSQL advisory lock.
// Never edit a file that has been released: add the next number instead.
package migrations

import "embed"

// FS holds every migration file, at its root.
//
//go:embed *.sql
var FS embed.FS
