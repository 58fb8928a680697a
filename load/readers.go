package load

import (
	"context"
	"fmt"
	"strings"

	"github.com/jackc/pgx/v5"
)

// ReaderKind is what a reader role may see (docs/privacy.md): scores and
// statuses, or transcripts as well.
type ReaderKind string

// The reader kinds of grants --kind and check --reader-kind.
const (
	// ReadsScores sees the score views, proposals, jobs and the columns of
	// interviews that hold no content: no summary, no extra, no messages.
	ReadsScores ReaderKind = "scores"
	// ReadsTranscripts also reads interviews whole and interview_messages.
	ReadsTranscripts ReaderKind = "transcripts"
)

// ParseReaderKind reads scores or transcripts.
func ParseReaderKind(s string) (ReaderKind, error) {
	switch k := ReaderKind(strings.TrimSpace(s)); k {
	case ReadsScores, ReadsTranscripts:
		return k, nil
	}
	return "", fmt.Errorf("reader kind %q: want scores or transcripts", s)
}

// scoreTables are what every reader reads whole; scoreColumns the columns of
// interviews a scores reader reads. The other columns of interviews (summary,
// extra, content_digest) and interview_messages hold, or derive from, what
// candidates said.
var (
	scoreTables  = []string{"interview_scores", "job_scores", "proposals", "jobs"}
	scoreColumns = []string{"proposal_id", "status", "interview_id", "score", "message_count", "fetched_at", "changed_at",
		"run_id", "last_message_at", "content_removed", "content_removed_at", "score_scale"}
	contentColumns = []string{"summary", "extra", "content_digest"}
	// readerTables are the tables a reader may be checked on; writing any is
	// more than a reader's kind allows.
	readerTables = append(append([]string{}, exportTables...), "interview_scores", "job_scores")
)

// ReaderGrants returns the SQL that makes role a reader of kind, on the
// tables of schema: one statement per line, each ending in a semicolon.
func ReaderGrants(role string, kind ReaderKind, schema string) []string {
	r, s := pgx.Identifier{role}.Sanitize(), pgx.Identifier{schema}.Sanitize()
	q := func(names []string) string {
		out := make([]string, len(names))
		for i, n := range names {
			out[i] = s + "." + pgx.Identifier{n}.Sanitize()
		}
		return strings.Join(out, ", ")
	}
	stmts := []string{
		fmt.Sprintf("GRANT USAGE ON SCHEMA %s TO %s;", s, r),
		fmt.Sprintf("GRANT SELECT ON %s TO %s;", q(scoreTables), r),
	}
	if kind == ReadsTranscripts {
		return append(stmts, fmt.Sprintf("GRANT SELECT ON %s TO %s;", q([]string{"interviews", "interview_messages"}), r))
	}
	return append(stmts,
		fmt.Sprintf("REVOKE SELECT ON %s FROM %s;", q([]string{"interviews", "interview_messages"}), r),
		fmt.Sprintf("GRANT SELECT (%s) ON %s.interviews TO %s;", strings.Join(scoreColumns, ", "), s, r))
}

// ReaderCheck is what role may do, against what its kind allows.
type ReaderCheck struct {
	// Excess lists what the role may do beyond its kind ("INSERT on
	// interviews", "SELECT on interviews.summary"); Missing what its kind
	// needs and it lacks.
	Excess, Missing []string
}

// CheckReader compares role's privileges on the export's tables with what
// a reader of kind needs and may have.
func (s *Store) CheckReader(ctx context.Context, role string, kind ReaderKind) (ReaderCheck, error) {
	var exists bool
	if err := s.pool.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = $1)`, role).Scan(&exists); err != nil {
		return ReaderCheck{}, markUnavailable(fmt.Errorf("check reader %s: %w", role, err))
	}
	if !exists {
		return ReaderCheck{}, fmt.Errorf("role %q does not exist (CREATE ROLE it, then run the SQL of interview-export grants)", role)
	}
	transcripts := kind == ReadsTranscripts
	rows, err := s.pool.Query(ctx, `
		SELECT 'excess', p.privilege || ' on ' || t.name
		FROM unnest($2::text[]) AS t (name)
		CROSS JOIN unnest(ARRAY['INSERT', 'UPDATE', 'DELETE', 'TRUNCATE', 'REFERENCES', 'TRIGGER']) AS p (privilege)
		WHERE to_regclass(t.name) IS NOT NULL AND has_table_privilege($1, to_regclass(t.name), p.privilege)
		UNION ALL
		-- The erasures' reasons are the operators' words about people.
		SELECT 'excess', 'SELECT on ' || t.name
		FROM unnest($3::text[]) AS t (name)
		WHERE to_regclass(t.name) IS NOT NULL AND has_table_privilege($1, to_regclass(t.name), 'SELECT')
		UNION ALL
		SELECT 'excess', 'SELECT on interview_messages'
		WHERE NOT $5 AND has_table_privilege($1, 'interview_messages', 'SELECT')
		UNION ALL
		SELECT 'excess', 'SELECT on interviews.' || c.name
		FROM unnest($4::text[]) AS c (name)
		WHERE NOT $5 AND has_column_privilege($1, 'interviews', c.name, 'SELECT')
		UNION ALL
		SELECT 'missing', 'SELECT on ' || t.name
		FROM unnest($6::text[]) AS t (name)
		WHERE to_regclass(t.name) IS NOT NULL AND NOT has_table_privilege($1, to_regclass(t.name), 'SELECT')
		UNION ALL
		SELECT 'missing', 'SELECT on interviews.' || c.name
		FROM unnest($7::text[]) AS c (name)
		WHERE NOT has_column_privilege($1, 'interviews', c.name, 'SELECT')
		ORDER BY 1, 2`,
		role, readerTables, []string{"erasures"}, contentColumns, transcripts, readerNeeds(kind), readerColumns(kind))
	if err != nil {
		return ReaderCheck{}, markUnavailable(fmt.Errorf("check reader %s: %w", role, err))
	}
	var rc ReaderCheck
	var what, detail string
	_, err = pgx.ForEachRow(rows, []any{&what, &detail}, func() error {
		if what == "excess" {
			rc.Excess = append(rc.Excess, detail)
		} else {
			rc.Missing = append(rc.Missing, detail)
		}
		return nil
	})
	if err != nil {
		return ReaderCheck{}, markUnavailable(fmt.Errorf("check reader %s: %w", role, err))
	}
	return rc, nil
}

func readerNeeds(kind ReaderKind) []string {
	if kind == ReadsTranscripts {
		return append(append([]string{}, scoreTables...), "interview_messages")
	}
	return scoreTables
}

func readerColumns(kind ReaderKind) []string {
	if kind == ReadsTranscripts {
		return append(append([]string{}, scoreColumns...), contentColumns[:2]...)
	}
	return scoreColumns
}
