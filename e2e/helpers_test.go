// Package e2e runs the real interview-export binary against the fake API
// and a real PostgreSQL (one schema per test).
package e2e

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/interview-export/interview-export/internal/fakeapi"
	"github.com/interview-export/interview-export/internal/pgtest"
)

var binary string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "interview-export-e2e")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	binary = filepath.Join(dir, "interview-export")
	build := exec.Command("go", "build", "-o", binary, "..")
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "build interview-export:", err)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// token is distinctive so a leak is easy to find.
const token = "ot_pat_E2E_SECRET_TOKEN_7f3a9c"

type env struct {
	t    *testing.T
	fake *fakeapi.Server
	api  string
	db   string
	dir  string
}

// setup starts a fake API with cfg and makes an empty schema.
func setup(t *testing.T, cfg fakeapi.Config) *env {
	t.Helper()
	cfg.Token = token
	fake, api := fakeapi.Start(t, cfg)
	return &env{t: t, fake: fake, api: api, db: pgtest.Schema(t), dir: t.TempDir()}
}

type result struct {
	code           int
	stdout, stderr string
}

// command returns the binary's command with the test's environment.
func (e *env) command(ctx context.Context, args ...string) *exec.Cmd {
	cmd := exec.CommandContext(ctx, binary, args...)
	cmd.Env = append(os.Environ(),
		"DATABASE_URL="+e.db, "OT_API_URL="+e.api, "OT_API_TOKEN="+token)
	return cmd
}

// run runs the binary to its end.
func (e *env) run(stdin string, args ...string) result {
	e.t.Helper()
	return e.runWithin(5*time.Minute, stdin, args...)
}

// runWithin runs the binary to its end, killing it after d: its exit
// status is then -1, which fails the test's check of it. A bound on a hang
// (a run that waits for a pause it should not wait for), not a measurement.
func (e *env) runWithin(d time.Duration, stdin string, args ...string) result {
	e.t.Helper()
	cmd := e.command(within(e.t, d), args...)
	var out, errOut bytes.Buffer
	cmd.Stdin, cmd.Stdout, cmd.Stderr = strings.NewReader(stdin), &out, &errOut
	err := cmd.Run()
	code := 0
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		code = ee.ExitCode()
	} else {
		require.NoError(e.t, err, "run %v", args)
	}
	r := result{code: code, stdout: out.String(), stderr: errOut.String()}
	assert.NotContains(e.t, r.stdout+r.stderr, token, "the token appears in the output of %v", args)
	return r
}

// idsFile writes ids, one per line, and returns the file's path.
func (e *env) idsFile(name string, lines []string) string {
	e.t.Helper()
	path := filepath.Join(e.dir, name)
	require.NoError(e.t, os.WriteFile(path, []byte(strings.Join(lines, "\n")+"\n"), 0o644))
	return path
}

// fast are export flags for tests: no rate limit, quick retries.
var fast = []string{"--rate", "0", "--backoff-base", "5ms", "--backoff-max", "50ms", "--progress-interval", "0"}

func exportArgs(ids string, extra ...string) []string {
	return append(append([]string{"export", "--ids-file", ids}, fast...), extra...)
}

// snapshot is the content of the tables, bookkeeping columns left out.
type snapshot struct {
	Interviews map[string]string
	Messages   map[string][]string
	Failures   map[string]string // of the last run: proposal_id -> code/status
	RunStatus  string
}

func (e *env) snapshot() snapshot {
	e.t.Helper()
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, e.db)
	require.NoError(e.t, err)
	defer conn.Close(ctx)
	s := snapshot{Interviews: map[string]string{}, Messages: map[string][]string{}, Failures: map[string]string{}}
	rows, _ := conn.Query(ctx, `SELECT proposal_id, format('%s|%s|%s|%s|%s', status, coalesce(interview_id, '<null>'),
		coalesce(score::text, '<null>'), coalesce(summary, '<null>'), message_count) FROM interviews`)
	for rows.Next() {
		var id, v string
		require.NoError(e.t, rows.Scan(&id, &v))
		s.Interviews[id] = v
	}
	require.NoError(e.t, rows.Err())
	rows, _ = conn.Query(ctx, `SELECT proposal_id, message_id, position, role, content, sent_at FROM interview_messages ORDER BY proposal_id, position`)
	for rows.Next() {
		var pid, mid, role, content string
		var pos int32
		var sent time.Time
		require.NoError(e.t, rows.Scan(&pid, &mid, &pos, &role, &content, &sent))
		s.Messages[pid] = append(s.Messages[pid], fmt.Sprintf("%d|%s|%s|%q|%s", pos, mid, role, content, sent.UTC().Format(time.RFC3339Nano)))
	}
	require.NoError(e.t, rows.Err())
	var runID int64
	if err := conn.QueryRow(ctx, `SELECT id, status FROM export_runs ORDER BY id DESC LIMIT 1`).Scan(&runID, &s.RunStatus); err != nil && !errors.Is(err, pgx.ErrNoRows) {
		require.NoError(e.t, err)
	}
	rows, _ = conn.Query(ctx, `SELECT proposal_id, error_code, coalesce(http_status, 0) FROM export_failures WHERE run_id = $1`, runID)
	for rows.Next() {
		var id, code string
		var status int
		require.NoError(e.t, rows.Scan(&id, &code, &status))
		s.Failures[id] = fmt.Sprintf("%s/%d", code, status)
	}
	require.NoError(e.t, rows.Err())
	return s
}

// expected is what the tables must hold for ids after a complete run
// against fake, plus the failures of that run.
func expected(fake *fakeapi.Server, ids []string) snapshot {
	s := snapshot{Interviews: map[string]string{}, Messages: map[string][]string{}, Failures: map[string]string{}}
	failures := map[fakeapi.Kind]string{
		fakeapi.KindForbidden:    "forbidden/403",
		fakeapi.KindBadRequest:   "bad_request/400",
		fakeapi.KindHTMLNotFound: "not_found_without_envelope/404",
		fakeapi.KindInvalid:      "invalid_response/200",
		fakeapi.KindAlways500:    "server_error/500",
	}
	for _, id := range ids {
		if f, ok := failures[fake.KindOf(id)]; ok {
			s.Failures[id] = f
			continue
		}
		tr, ok := fake.Expected(id)
		if !ok {
			s.Interviews[id] = "no_interview|<null>|<null>|<null>|0"
			continue
		}
		summary, score := "<null>", "<null>"
		if tr.Summary != nil {
			summary = *tr.Summary
		}
		if tr.Score != "" {
			score = tr.Score // the fake sends plain decimals, which numeric prints back as sent
		}
		s.Interviews[id] = fmt.Sprintf("available|%s|%s|%s|%d", tr.InterviewID, score, summary, len(tr.Messages))
		for i, m := range tr.Messages {
			s.Messages[id] = append(s.Messages[id], fmt.Sprintf("%d|%s|%s|%q|%s", i, m.ID, m.Role, m.Content, m.SentAt.UTC().Format(time.RFC3339Nano)))
		}
	}
	return s
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// eventually waits until cond holds, checking it every 20 ms: for a
// condition of the database or of another process, which cannot signal
// this one. A condition of the fake API waits on its Await instead. It
// fails the test after a minute: a hang, not a measurement.
func eventually(t testing.TB, cond func() bool, what string, args ...any) {
	t.Helper()
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	limit := time.NewTimer(time.Minute)
	defer limit.Stop()
	for !cond() {
		select {
		case <-tick.C:
		case <-limit.C:
			t.Fatalf("never saw "+what, args...)
		}
	}
}

// within is a context that ends after d: a command run under it that has
// not exited by then is killed, and its exit status (-1) fails the test's
// check of it. A bound on a hang, not a measurement.
func within(t testing.TB, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}

// loginRole is a role of its own for the test, named prefix and the test's
// schema, that may log in (dropped with what it owns at the end), and the
// URL that connects as it to the test's schema.
type loginRole struct {
	name, quoted, schema, url string
}

func (e *env) loginRole(prefix string) loginRole {
	e.t.Helper()
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, e.db)
	require.NoError(e.t, err)
	defer conn.Close(ctx)
	var r loginRole
	require.NoError(e.t, conn.QueryRow(ctx, `SELECT current_schema()`).Scan(&r.schema))
	r.name = prefix + strings.TrimPrefix(r.schema, "t_")
	r.name = r.name[:min(len(r.name), 60)]
	r.quoted = pgx.Identifier{r.name}.Sanitize()
	_, err = conn.Exec(ctx, `CREATE ROLE `+r.quoted+` LOGIN`)
	require.NoError(e.t, err)
	e.t.Cleanup(func() {
		c, err := pgx.Connect(context.Background(), e.db)
		if err == nil {
			c.Exec(context.Background(), `DROP OWNED BY `+r.quoted+`; DROP ROLE `+r.quoted)
			c.Close(context.Background())
		}
	})
	cfg, err := pgx.ParseConfig(e.db)
	require.NoError(e.t, err)
	r.url = pgtest.WithSearchPath(e.t, fmt.Sprintf("postgres://%s@%s:%d/%s?sslmode=disable", r.name, cfg.Host, cfg.Port, cfg.Database), r.schema)
	return r
}
