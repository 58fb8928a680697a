package e2e

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/interview-export/interview-export/internal/fakeapi"
)

// lifecycleOf reads the candidates' data counts of a --summary-file.
func lifecycleOf(t *testing.T, path string) map[string]int64 {
	t.Helper()
	raw, err := os.ReadFile(path)
	require.NoError(t, err)
	var s struct {
		Counts map[string]any `json:"counts"`
	}
	require.NoError(t, json.Unmarshal(raw, &s))
	out := map[string]int64{}
	for _, k := range []string{"rechecked", "removed_upstream", "removed_retention", "skipped_erased", "ids_skipped"} {
		v, ok := s.Counts[k].(float64)
		require.True(t, ok, "the summary counts %s", k)
		out[k] = int64(v)
	}
	return out
}

// A candidate who deletes their account upstream leaves the warehouse at
// the next re-check, even on nightly --updates runs that the feed gives
// nothing new: the summary, export_runs, the metrics and report count it.
func TestUpstreamDeletionReachesTheWarehouse(t *testing.T) {
	t.Parallel()
	cfg := baseConfig()
	cfg.Jobs, cfg.ProposalsPerJob = 2, 100
	e := setup(t, cfg)
	summary, textfile := filepath.Join(e.dir, "summary.json"), filepath.Join(e.dir, "metrics.prom")
	args := updatesArgs("--summary-file", summary, "--metrics-textfile", textfile)
	r := e.run("", args...)
	require.Contains(t, []int{0, 1}, r.code, r.stderr)
	stored := e.count(`SELECT count(*) FROM interviews WHERE status = 'available'`)
	require.Positive(t, stored)
	gone := e.text(`SELECT proposal_id FROM interviews WHERE status = 'available' AND message_count > 0 ORDER BY proposal_id LIMIT 1`)
	e.fake.Delete(gone, time.Now())

	// The next night: nothing new in the feed, nothing overdue yet.
	r = e.run("", args...)
	require.Contains(t, []int{0, 1}, r.code, r.stderr)
	assert.Equal(t, int64(0), lifecycleOf(t, summary)["rechecked"])
	assert.Positive(t, e.count(fmt.Sprintf(`SELECT message_count FROM interviews WHERE proposal_id = '%s'`, gone)))

	// 31 days later (the fetches made older in the database): every stored
	// transcript is overdue and re-checked; the deleted one is removed.
	e.exec(`UPDATE interviews SET fetched_at = fetched_at - interval '31 days'`)
	before := e.fake.Stats().InterviewRequests
	r = e.run("", args...)
	require.Contains(t, []int{0, 1}, r.code, r.stderr)
	got := lifecycleOf(t, summary)
	assert.Equal(t, int64(stored), got["rechecked"])
	assert.Equal(t, int64(1), got["removed_upstream"])
	assert.Equal(t, int64(stored), e.fake.Stats().InterviewRequests-before, "the re-checks go through the API")
	var status, reason string
	var messages int
	e.queryRow(`SELECT status, content_removed, (SELECT count(*) FROM interview_messages m WHERE m.proposal_id = i.proposal_id)
		FROM interviews i WHERE proposal_id = $1`, []any{gone}, &status, &reason, &messages)
	assert.Equal(t, []any{"no_interview", "deleted_upstream", 0}, []any{status, reason, messages})
	assert.Equal(t, 1, e.count(`SELECT removed_upstream FROM export_runs ORDER BY id DESC LIMIT 1`))
	assert.Equal(t, stored, e.count(`SELECT rechecked FROM export_runs ORDER BY id DESC LIMIT 1`))
	prom, err := os.ReadFile(textfile)
	require.NoError(t, err)
	assert.Contains(t, string(prom), `interview_export_lifecycle{action="removed_upstream",shard="0/1"} 1`)
	assert.Contains(t, string(prom), fmt.Sprintf(`interview_export_lifecycle{action="rechecked",shard="0/1"} %d`, stored))
	r = e.run("", "report")
	require.Equal(t, 0, r.code, r.stderr)
	assert.Contains(t, r.stdout, "content removed: 1 deleted upstream, 0 erased, 0 past retention")
	assert.Contains(t, r.stdout, fmt.Sprintf("%d stored transcripts re-checked, 1 removed as deleted upstream", stored))

	// --recheck-stored-after 0 turns it off.
	e.exec(`UPDATE interviews SET fetched_at = fetched_at - interval '31 days'`)
	r = e.run("", append(args, "--recheck-stored-after", "0")...)
	require.Contains(t, []int{0, 1}, r.code, r.stderr)
	assert.Zero(t, lifecycleOf(t, summary)["rechecked"])
}

// erase removes content in one go, records every ID, and no later run
// fetches an erased proposal again, from any source, until --undo.
func TestErasureSticks(t *testing.T) {
	t.Parallel()
	e := setup(t, baseConfig())
	all := e.fake.ProposalIDs()[:60]
	ids := e.idsFile("ids.txt", all)
	r := e.run("", exportArgs(ids)...)
	require.Contains(t, []int{0, 1}, r.code, r.stderr)
	var erased []string
	for _, id := range all {
		if e.fake.KindOf(id) == fakeapi.KindAvailable {
			if _, ok := e.fake.Expected(id); ok && len(erased) < 3 {
				erased = append(erased, id)
			}
		}
	}
	require.Len(t, erased, 3)

	r = e.run("", "erase", erased[0])
	assert.Equal(t, 2, r.code, "a reason is required")
	assert.Contains(t, r.stderr, "--reason")
	r = e.run("", "erase", "--reason", "ticket 1", "bad id")
	assert.Equal(t, 2, r.code)
	assert.Contains(t, r.stderr, "nothing was erased")
	r = e.run("", "erase", "--reason", "ticket 1", "--dry-run", erased[0], erased[1], "never-seen-1")
	require.Equal(t, 0, r.code, r.stderr)
	assert.Contains(t, r.stdout, "would erase 3 proposal(s): 2 interview(s) emptied")
	assert.Contains(t, r.stdout, "1 not stored yet")
	assert.Zero(t, e.count(`SELECT count(*) FROM erasures`), "a dry run erases nothing")

	r = e.run("", "erase", "--reason", "ticket 1", erased[0], erased[1], "never-seen-1")
	require.Equal(t, 0, r.code, r.stderr)
	assert.Contains(t, r.stdout, "erased 3 proposal(s): 2 interview(s) emptied")
	list := e.idsFile("erase.txt", []string{erased[1], erased[2]})
	r = e.run("", "erase", "--reason", "ticket 2", "--ids-file", list)
	require.Equal(t, 0, r.code, r.stderr)
	assert.Contains(t, r.stdout, "erased 1 proposal(s): 1 interview(s) emptied")
	assert.Contains(t, r.stdout, "1 erased before", "erasing twice is harmless")
	assert.Zero(t, e.count(fmt.Sprintf(`SELECT count(*) FROM interview_messages WHERE proposal_id IN ('%s')`, strings.Join(erased, "','"))))
	assert.Zero(t, e.count(fmt.Sprintf(`SELECT count(*) FROM interviews WHERE proposal_id IN ('%s')
		AND (score IS NOT NULL OR summary IS NOT NULL OR extra IS NOT NULL)`, strings.Join(erased, "','"))))
	assert.Equal(t, "ticket 1", e.text(`SELECT reason FROM erasures WHERE proposal_id = 'never-seen-1'`))

	// Every later run, from any source, leaves them alone and counts them skipped.
	requested := func() int {
		n := 0
		for _, id := range append(erased, "never-seen-1") {
			n += e.fake.Requested(id)
		}
		return n
	}
	before := requested()
	summary := filepath.Join(e.dir, "summary.json")
	r = e.run("", exportArgs(e.idsFile("again.txt", append(all, "never-seen-1")), "--summary-file", summary)...)
	require.Contains(t, []int{0, 1}, r.code, r.stderr)
	got := lifecycleOf(t, summary)
	assert.Equal(t, int64(4), got["skipped_erased"])
	assert.Equal(t, int64(4), got["ids_skipped"])
	r = e.run("", "export", "--all-jobs", "--rate", "0", "--progress-interval", "0")
	require.Contains(t, []int{0, 1}, r.code, r.stderr)
	r = e.run("", updatesArgs()...)
	require.Contains(t, []int{0, 1}, r.code, r.stderr)
	r = e.run("", "feed", "reset", "--to", "beginning")
	require.Equal(t, 0, r.code, r.stderr)
	r = e.run("", updatesArgs()...)
	require.Contains(t, []int{0, 1}, r.code, r.stderr)
	assert.Equal(t, before, requested(), "no source fetches an erased proposal")
	assert.Zero(t, e.count(fmt.Sprintf(`SELECT count(*) FROM interview_messages WHERE proposal_id IN ('%s')`, strings.Join(erased, "','"))))

	r = e.run("", "erase", "--undo", erased[0])
	require.Equal(t, 0, r.code, r.stderr)
	assert.Contains(t, r.stdout, "lifted 1 erasure(s)")
	r = e.run("", exportArgs(e.idsFile("one.txt", []string{erased[0]}))...)
	require.Contains(t, []int{0, 1}, r.code, r.stderr)
	assert.Positive(t, e.count(fmt.Sprintf(`SELECT count(*) FROM interview_messages WHERE proposal_id = '%s'`, erased[0])), "fetched again once lifted")
}

// erase --job erases every stored proposal of a job.
func TestEraseAJob(t *testing.T) {
	t.Parallel()
	e := setup(t, baseConfig())
	r := e.run("", updatesArgs()...)
	require.Contains(t, []int{0, 1}, r.code, r.stderr)
	job := e.text(`SELECT job_id FROM proposals ORDER BY job_id LIMIT 1`)
	n := e.count(fmt.Sprintf(`SELECT count(*) FROM proposals WHERE job_id = '%s'`, job))
	r = e.run("", "erase", "--reason", "job closed", "--job", job)
	require.Equal(t, 0, r.code, r.stderr)
	assert.Contains(t, r.stdout, fmt.Sprintf("erased %d proposal(s)", n))
	assert.Zero(t, e.count(fmt.Sprintf(`SELECT count(*) FROM interview_messages m JOIN proposals p USING (proposal_id) WHERE p.job_id = '%s'`, job)))
	r = e.run("", "erase", "--reason", "x", "--job", "no-such-job")
	assert.Equal(t, 2, r.code)
	assert.Contains(t, r.stderr, "no proposal is stored for job no-such-job")
}

// Retention removes old content and keeps the score, its job and status in
// the score views; those proposals are never fetched again.
func TestRetention(t *testing.T) {
	t.Parallel()
	e := setup(t, baseConfig())
	r := e.run("", updatesArgs()...)
	require.Contains(t, []int{0, 1}, r.code, r.stderr)
	// A third of the transcripts ended two years ago.
	e.exec(`UPDATE interviews SET last_message_at = now() - interval '2 years'
		WHERE status = 'available' AND message_count > 0 AND abs(hashtext(proposal_id)) % 3 = 0`)
	old := e.count(`SELECT count(*) FROM interviews WHERE last_message_at < now() - interval '1 year'`)
	require.Positive(t, old)
	scores := e.count(`SELECT count(score) FROM interview_scores`)

	r = e.run("", "retention", "--retain", "12h")
	assert.Equal(t, 2, r.code)
	assert.Contains(t, r.stderr, "shorter than a day")
	r = e.run("", "retention", "--retain", "18mo", "--dry-run")
	require.Equal(t, 0, r.code, r.stderr)
	assert.Contains(t, r.stdout, fmt.Sprintf("would remove the content of %d interview(s)", old))
	r = e.run("", "retention", "--retain", "18mo")
	require.Equal(t, 0, r.code, r.stderr)
	assert.Contains(t, r.stdout, fmt.Sprintf("removed the content of %d interview(s)", old))
	assert.Zero(t, e.count(`SELECT count(*) FROM interview_messages m JOIN interviews i USING (proposal_id) WHERE i.content_removed = 'retention'`))
	assert.Zero(t, e.count(`SELECT count(*) FROM interviews WHERE content_removed = 'retention' AND summary IS NOT NULL`))
	assert.Equal(t, scores, e.count(`SELECT count(score) FROM interview_scores`), "the scores stay counted")
	assert.Equal(t, old, e.count(`SELECT count(*) FROM interview_scores WHERE content_removed = 'retention' AND interview_status = 'available'`),
		"read as removed, not as no interview")

	// Never fetched again; --retain on export counts its own removals.
	e.exec(`UPDATE interviews SET last_message_at = now() - interval '2 years' WHERE content_removed IS NULL AND status = 'available'
		AND message_count > 0 AND abs(hashtext(proposal_id)) % 3 = 1`)
	more := e.count(`SELECT count(*) FROM interviews WHERE content_removed IS NULL AND last_message_at < now() - interval '1 year'`)
	summary := filepath.Join(e.dir, "summary.json")
	ids := e.idsFile("ids.txt", e.fake.ProposalIDs())
	r = e.run("", exportArgs(ids, "--retain", "400d", "--summary-file", summary)...)
	require.Contains(t, []int{0, 1}, r.code, r.stderr)
	got := lifecycleOf(t, summary)
	assert.Equal(t, int64(more), got["removed_retention"])
	assert.Equal(t, int64(old+more), got["skipped_erased"], "past retention: never fetched again")
	assert.Equal(t, more, e.count(`SELECT removed_retention FROM export_runs ORDER BY id DESC LIMIT 1`))
	assert.Zero(t, e.count(`SELECT count(*) FROM interview_messages m JOIN interviews i USING (proposal_id) WHERE i.content_removed = 'retention'`))
	r = e.run("", exportArgs(ids, "--retain", "3h")...)
	assert.Equal(t, 2, r.code, "a --retain under a day is refused")
}

// The two reader roles, made with the SQL grants prints: a scores reader
// reads scores and statuses and is refused the content (42501); a
// transcripts reader reads both; neither writes. check --reader verifies.
func TestReaderRoles(t *testing.T) {
	t.Parallel()
	e := setup(t, baseConfig())
	r := e.run("", updatesArgs()...)
	require.Contains(t, []int{0, 1}, r.code, r.stderr)
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, e.db)
	require.NoError(t, err)
	defer conn.Close(ctx)
	urls := map[string]string{}
	roles := map[string]string{}
	for _, kind := range []string{"scores", "transcripts"} {
		role := e.loginRole(kind[:1] + "_")
		roles[kind], urls[kind] = role.name, role.url
		r := e.run("", "grants", "--role", role.name, "--kind", kind, "--schema", role.schema)
		require.Equal(t, 0, r.code, r.stderr)
		_, err = conn.Exec(ctx, r.stdout)
		require.NoError(t, err, "the printed SQL runs:\n%s", r.stdout)
	}
	as := func(kind, sql string) error {
		c, err := pgx.Connect(ctx, urls[kind])
		require.NoError(t, err)
		defer c.Close(ctx)
		_, err = c.Exec(ctx, sql)
		return err
	}
	refused := func(kind, sql string) {
		t.Helper()
		var pgErr *pgconn.PgError
		err := as(kind, sql)
		if assert.True(t, errors.As(err, &pgErr), "%s: %s is refused (%v)", kind, sql, err) {
			assert.Equal(t, "42501", pgErr.Code, "%s: %s", kind, sql)
		}
	}
	works := func(kind, sql string) {
		t.Helper()
		assert.NoError(t, as(kind, sql), "%s: %s", kind, sql)
	}
	for _, kind := range []string{"scores", "transcripts"} {
		works(kind, `SELECT proposal_id, score, status, interview_id, message_count, content_removed FROM interviews`)
		works(kind, `SELECT * FROM interview_scores`)
		works(kind, `SELECT * FROM job_scores`)
		works(kind, `SELECT * FROM proposals JOIN jobs USING (job_id)`)
		refused(kind, `UPDATE interviews SET score = 1`)
		refused(kind, `DELETE FROM interview_messages`)
		refused(kind, `INSERT INTO erasures (proposal_id, reason, was_stored) VALUES ('x', 'y', false)`)
		refused(kind, `SELECT * FROM erasures`)
	}
	refused("scores", `SELECT summary FROM interviews`)
	refused("scores", `SELECT extra FROM interviews`)
	refused("scores", `SELECT * FROM interviews`)
	refused("scores", `SELECT content FROM interview_messages`)
	works("transcripts", `SELECT * FROM interviews`)
	works("transcripts", `SELECT content FROM interview_messages`)

	r = e.run("", "check", "--dry-run", "--ids-file", "-", "--reader", roles["scores"])
	assert.Contains(t, r.stdout, "PASS  reader")
	r = e.run("", "check", "--dry-run", "--ids-file", "-", "--reader", roles["transcripts"])
	assert.Equal(t, 2, r.code, r.stdout)
	assert.Contains(t, r.stdout, "more than a scores reader: SELECT on interview_messages")
	r = e.run("", "check", "--dry-run", "--ids-file", "-", "--reader", roles["transcripts"], "--reader-kind", "transcripts")
	assert.Contains(t, r.stdout, "PASS  reader")
	_, err = conn.Exec(ctx, `GRANT INSERT ON interviews TO `+pgx.Identifier{roles["transcripts"]}.Sanitize())
	require.NoError(t, err)
	r = e.run("", "check", "--dry-run", "--ids-file", "-", "--reader", roles["transcripts"], "--reader-kind", "transcripts")
	assert.Equal(t, 2, r.code, r.stdout)
	assert.Contains(t, r.stdout, "INSERT on interviews")
	r = e.run("", "check", "--dry-run", "--ids-file", "-", "--reader", "no_such_role_x")
	assert.Equal(t, 2, r.code, r.stdout)
	assert.Contains(t, r.stdout, `role "no_such_role_x" does not exist`)
}

// Nothing a candidate said reaches a log line (debug included), an error,
// export_failures.message, the summary file or a metric, through every
// kind of failure, even when the API's error answers quote the transcript.
func TestNoContentLeaks(t *testing.T) {
	t.Parallel()
	cfg := baseConfig()
	cfg.Jobs, cfg.ProposalsPerJob = 2, 100
	cfg.EchoContent = true
	// Faults on the first three attempts only: the data set, tried once,
	// fails every transient way; the special IDs, tried five times, give
	// their own answers.
	cfg.Faults = fakeapi.Faults{ServerError: 0.05, HTML502: 0.05, Truncate: 0.05, Drop: 0.03, Stall: 0.02, StallFor: 3 * time.Second, OnlyFirst: 3}
	e := setup(t, cfg)
	special := []string{"forbidden-1", "badrequest-1", "html404-1", "invalid-1", "always500-1", "huge-1", "notfound-1"}
	ids := append(e.fake.ProposalIDs(), special...)
	dir := e.dir
	summary, textfile := filepath.Join(dir, "summary.json"), filepath.Join(dir, "metrics.prom")
	debug := []string{"--log-level", "debug", "--log-format", "json", "--request-timeout", "1s", "--max-response-bytes", "200000",
		"--summary-file", summary, "--metrics-textfile", textfile}
	r := e.run("", exportArgs(e.idsFile("ids.txt", e.fake.ProposalIDs()), append(debug, "--max-attempts", "1")...)...)
	require.Contains(t, []int{0, 1}, r.code, r.stderr)
	firstSummary, err := os.ReadFile(summary)
	require.NoError(t, err)
	r1 := e.run("", exportArgs(e.idsFile("special.txt", special), append(debug, "--max-attempts", "5")...)...)
	require.Contains(t, []int{0, 1}, r1.code, r1.stderr)
	r.stderr += r1.stderr
	r.stdout += r1.stdout
	// Every failure kind happened.
	codes := map[string]bool{}
	rows := e.count(`SELECT count(DISTINCT error_code) FROM export_failures`)
	kinds := []string{"forbidden", "bad_request", "not_found_without_envelope", "invalid_response", "server_error",
		"response_too_large", "network_error", "timeout", "truncated_body"}
	for _, c := range kinds {
		if e.count(fmt.Sprintf(`SELECT count(*) FROM export_failures WHERE error_code = '%s'`, c)) > 0 {
			codes[c] = true
		}
	}
	assert.Len(t, codes, len(kinds), "failure kinds met: %v of %d: %s", codes, rows,
		e.text(`SELECT string_agg(DISTINCT error_code || ' ' || proposal_id, ', ') FROM export_failures`))
	var failures strings.Builder
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, e.db)
	require.NoError(t, err)
	defer conn.Close(ctx)
	msgs, err := conn.Query(ctx, `SELECT message FROM export_failures`)
	require.NoError(t, err)
	texts, err := pgx.CollectRows(msgs, pgx.RowTo[string])
	require.NoError(t, err)
	failures.WriteString(strings.Join(texts, "\n"))
	sum, err := os.ReadFile(summary)
	require.NoError(t, err)
	prom, err := os.ReadFile(textfile)
	require.NoError(t, err)
	r2 := e.run("", "report", "--format", "json")
	require.Equal(t, 0, r2.code, r2.stderr)
	r3 := e.run("", "runs")
	places := map[string]string{"stderr (debug log)": r.stderr, "stdout": r.stdout, "export_failures.message": failures.String(),
		"summary file": string(firstSummary) + string(sum), "metrics": string(prom), "report": r2.stdout + r2.stderr, "runs": r3.stdout}
	checked := 0
	for _, id := range ids {
		tr := e.fake.Transcript(id)
		var words []string
		if tr.Summary != nil && len(*tr.Summary) >= 30 {
			words = append(words, (*tr.Summary)[:30])
		}
		for _, m := range tr.Messages {
			if len(m.Content) >= 30 {
				words = append(words, m.Content[:30])
			}
		}
		for _, w := range words {
			checked++
			for where, text := range places {
				if strings.Contains(text, w) {
					assert.Fail(t, "content leaked", "a transcript's words appear in the %s (proposal %s)", where, id)
				}
			}
		}
	}
	t.Logf("%d distinctive passages checked in %d places; %d failures recorded", checked, len(places), len(texts))
	require.Positive(t, checked)
	assert.Contains(t, failures.String(), "This proposal is on another account's job", "the envelope's error is quoted")
}
