package e2e

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/interview-export/interview-export/internal/fakeapi"
)

// With --log-format json every line on stderr is one JSON object; the last
// one says how the run ended, with every counter as a number.
func TestJSONLogsAllTheWay(t *testing.T) {
	t.Parallel()
	cfg := baseConfig()
	cfg.ForbiddenShare = 0
	e := setup(t, cfg)
	ids := e.idsFile("ids.txt", append(e.fake.ProposalIDs()[:50], "forbidden-1"))
	r := e.run("", exportArgs(ids, "--log-format", "json", "--progress-interval", "50ms")...)
	require.Equal(t, 1, r.code, r.stderr)
	var last map[string]any
	sc := bufio.NewScanner(strings.NewReader(r.stderr))
	lines := 0
	for sc.Scan() {
		lines++
		var rec map[string]any
		require.NoError(t, json.Unmarshal(sc.Bytes(), &rec), "line %d is not JSON: %s", lines, sc.Text())
		if rec["msg"] == "export started" || rec["msg"] == "export finished" || rec["msg"] == "progress" {
			assert.Equal(t, "0/1", rec["shard"], "%s", sc.Text())
			assert.NotNil(t, rec["run_id"], "%s", sc.Text())
		}
		if rec["msg"] == "progress" {
			assert.IsType(t, float64(0), rec["per_second"])
		}
		last = rec
	}
	require.NotNil(t, last)
	assert.Equal(t, "export finished", last["msg"])
	assert.Equal(t, float64(1), last["run_id"])
	assert.Equal(t, "partial", last["status"])
	assert.Equal(t, float64(1), last["exit_status"])
	assert.Equal(t, float64(1), last["failed"])
	assert.Equal(t, map[string]any{"forbidden": float64(1)}, last["failed_by_code"])
	assert.IsType(t, float64(0), last["requests"])
	assert.Contains(t, last["failures_query"], "export_failures WHERE run_id = 1")

	// A fatal error is a level=ERROR record too.
	cmd := e.command(context.Background(), exportArgs(ids, "--log-format", "json")...)
	cmd.Env = append(cmd.Env, "OT_API_TOKEN=ot_pat_wrong_token")
	out, _ := cmd.CombinedOutput()
	assert.Equal(t, 2, cmd.ProcessState.ExitCode())
	lastLine := strings.TrimSpace(string(out))
	lastLine = lastLine[strings.LastIndexByte(lastLine, '\n')+1:]
	var rec map[string]any
	require.NoError(t, json.Unmarshal([]byte(lastLine), &rec), string(out))
	assert.Equal(t, "ERROR", rec["level"])
	assert.Equal(t, float64(2), rec["exit_status"])
}

// --summary-file: the same summary as a JSON document, also on failure and interruption.
func TestSummaryFile(t *testing.T) {
	t.Parallel()
	cfg := baseConfig()
	cfg.Latency = 10 * time.Millisecond
	e := setup(t, cfg)
	path := filepath.Join(e.dir, "summary.json")
	read := func() map[string]any {
		raw, err := os.ReadFile(path)
		require.NoError(t, err)
		var s map[string]any
		require.NoError(t, json.Unmarshal(raw, &s))
		return s
	}
	r := e.run("", exportArgs(e.idsFile("ids.txt", e.fake.ProposalIDs()[:20]), "--summary-file", path)...)
	require.Contains(t, []int{0, 1}, r.code, r.stderr)
	s := read()
	assert.Equal(t, float64(1), s["run_id"])
	assert.Equal(t, float64(r.code), s["exit_status"])
	counts := s["counts"].(map[string]any)
	assert.Equal(t, float64(20), counts["ids_read"])

	cmd := e.command(context.Background(), exportArgs(e.idsFile("all.txt", e.fake.ProposalIDs()), "--summary-file", path, "--concurrency", "2")...)
	require.NoError(t, cmd.Start())
	e.fake.Await(t, "40 requests", func(st fakeapi.Stats) bool { return st.InterviewRequests >= 40 })
	require.NoError(t, cmd.Process.Signal(syscall.SIGTERM))
	_ = cmd.Wait()
	s = read()
	assert.Equal(t, "interrupted", s["status"])
	assert.Equal(t, float64(143), s["exit_status"])
	assert.Contains(t, s["error"], "interrupted by SIGTERM")

	// A run that ends before it starts still leaves its summary.
	refused := e.command(context.Background(), exportArgs(e.idsFile("one.txt", []string{"p-1"}), "--summary-file", path)...)
	refused.Env = append(refused.Env, "OT_API_TOKEN=ot_pat_wrong_token")
	_ = refused.Run()
	assert.Equal(t, 2, refused.ProcessState.ExitCode())
	s = read()
	assert.Equal(t, "failed", s["status"])
	assert.Equal(t, float64(2), s["exit_status"])
	assert.Contains(t, s["error"], "rejected the token")
}

// --max-failed: at or under it the run exits 0 (and is still 'partial').
func TestMaxFailed(t *testing.T) {
	t.Parallel()
	cfg := baseConfig()
	cfg.ForbiddenShare = 0
	e := setup(t, cfg)
	ids := e.idsFile("ids.txt", append(e.fake.ProposalIDs()[:98], "forbidden-1", "forbidden-2"))
	require.Equal(t, 0, e.run("", "migrate").code)
	for flag, code := range map[string]int{"0": 1, "1": 1, "2": 0, "5": 0, "1%": 1, "2%": 0} {
		e.exec(`DELETE FROM failure_ledger`) // each run meets the 403s as new failures
		r := e.run("", exportArgs(ids, "--max-failed", flag)...)
		assert.Equal(t, code, r.code, "--max-failed %s: %s", flag, r.stderr)
		assert.Equal(t, "partial", e.snapshot().RunStatus)
	}
	// Known failures (the same 403s again) count toward neither exit 1 nor --max-failed.
	r := e.run("", exportArgs(ids, "--max-failed", "0")...)
	assert.Equal(t, 0, r.code, r.stderr)
	assert.Equal(t, "partial", e.snapshot().RunStatus, "the run still failed some")
	r = e.run("", exportArgs(ids, "--max-failed", "lots")...)
	assert.Equal(t, 2, r.code)
	assert.Contains(t, r.stderr, "a share such as 1%")
}

// Metrics: the textfile after every run, and a push grouped by job and shard.
func TestMetricsTextfileAndPushgateway(t *testing.T) {
	t.Parallel()
	var mu sync.Mutex
	pushed := map[string]string{}
	gateway := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		mu.Lock()
		pushed[r.Method+" "+r.URL.Path] = string(body)
		mu.Unlock()
		w.WriteHeader(http.StatusOK)
	}))
	t.Cleanup(gateway.Close)
	cfg := baseConfig()
	cfg.ForbiddenShare = 0
	e := setup(t, cfg)
	path := filepath.Join(e.dir, "interview_export.prom")
	ok := e.idsFile("ok.txt", e.fake.ProposalIDs()[:20])
	r := e.run("", exportArgs(ok, "--metrics-textfile", path, "--pushgateway-url", gateway.URL, "--shard", "0/1", "--max-failed", "5")...)
	require.Equal(t, 0, r.code, r.stderr)
	raw, err := os.ReadFile(path)
	require.NoError(t, err)
	text := string(raw)
	for _, series := range []string{"interview_export_last_success_timestamp_seconds", "interview_export_last_run_timestamp_seconds",
		"interview_export_duration_seconds", `interview_export_proposals{outcome="available",shard="0/1"}`,
		"interview_export_requests", "interview_export_retries", "interview_export_rate_limited",
		"interview_export_messages_written", "interview_export_failures"} {
		assert.Contains(t, text, series)
	}
	// Without --rate a run starts at 4/s and doubles each calm second: these
	// 20 requests end before the pace is unlimited (64/s), and the pace
	// they ended at is published.
	assert.Less(t, metricValue(t, text, "interview_export_request_rate"), 64.0)
	success := metricValue(t, text, "interview_export_last_success_timestamp_seconds")
	assert.InDelta(t, float64(time.Now().Unix()), success, 60)

	// A failed run keeps the previous success.
	r = e.run("", exportArgs(e.idsFile("bad.txt", []string{"forbidden-1"}), "--metrics-textfile", path, "--pushgateway-url", gateway.URL)...)
	require.Equal(t, 1, r.code, r.stderr)
	raw, err = os.ReadFile(path)
	require.NoError(t, err)
	assert.Equal(t, success, metricValue(t, string(raw), "interview_export_last_success_timestamp_seconds"))
	assert.Contains(t, string(raw), `interview_export_failures{code="forbidden",shard="0/1"} 1`)

	// A run that ends before it starts (a refused token, an unreachable
	// database, the shard's lock held) still writes its metrics, with its
	// exit status and the last success carried over.
	refused := e.command(context.Background(), exportArgs(ok, "--metrics-textfile", path, "--pushgateway-url", gateway.URL)...)
	refused.Env = append(refused.Env, "OT_API_TOKEN=ot_pat_wrong_token")
	_ = refused.Run()
	assert.Equal(t, 2, refused.ProcessState.ExitCode())
	raw, err = os.ReadFile(path)
	require.NoError(t, err)
	assert.Equal(t, 2.0, metricValue(t, string(raw), "interview_export_exit_status"))
	assert.Equal(t, success, metricValue(t, string(raw), "interview_export_last_success_timestamp_seconds"), "from export_runs")
	r = e.run("", exportArgs(ok, "--metrics-textfile", path, "--database-url", "postgres://x@127.0.0.1:1/db?connect_timeout=2")...)
	require.Equal(t, 75, r.code, r.stderr)
	raw, err = os.ReadFile(path)
	require.NoError(t, err)
	assert.Equal(t, 75.0, metricValue(t, string(raw), "interview_export_exit_status"))
	assert.Equal(t, success, metricValue(t, string(raw), "interview_export_last_success_timestamp_seconds"), "from the previous textfile")

	mu.Lock()
	defer mu.Unlock()
	body, ok2 := pushed["PUT /metrics/job/interview_export/shard@base64/MC8x"] // shard 0/1, base64 as it holds a /
	require.True(t, ok2, "pushed to %v", keys(pushed))
	assert.NotEmpty(t, body)
}

// Output paths are checked before any work; a Pushgateway that fails never
// changes the exit status nor shows its password.
func TestOutputPathsAndPushgatewayFailures(t *testing.T) {
	t.Parallel()
	e := setup(t, baseConfig())
	ids := e.idsFile("ids.txt", e.fake.ProposalIDs()[:5])
	r := e.run("", exportArgs(ids, "--summary-file", "/nonexistent/dir/summary.json")...)
	assert.Equal(t, 2, r.code, r.stderr)
	assert.Contains(t, r.stderr, "--summary-file /nonexistent/dir/summary.json: cannot write")
	assert.Zero(t, e.fake.Stats().Requests, "no work was done")

	failing := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.WriteHeader(http.StatusInternalServerError)
	}))
	t.Cleanup(failing.Close)
	u, err := url.Parse(failing.URL)
	require.NoError(t, err)
	u.User = url.UserPassword("ops", "pushSECRETpw")
	for _, format := range []string{"text", "json"} {
		r = e.run("", exportArgs(ids, "--pushgateway-url", u.String(), "--log-format", format)...)
		assert.Contains(t, []int{0, 1}, r.code, r.stderr)
		assert.Contains(t, r.stderr, "could not publish the metrics")
		assert.NotContains(t, r.stderr, "pushSECRETpw", "%s logs never show the password", format)
	}
}

func metricValue(t *testing.T, text, name string) float64 {
	t.Helper()
	for _, line := range strings.Split(text, "\n") {
		if strings.HasPrefix(line, name+"{") || strings.HasPrefix(line, name+" ") {
			fields := strings.Fields(line)
			var v float64
			_, err := fmt.Sscan(fields[len(fields)-1], &v)
			require.NoError(t, err)
			return v
		}
	}
	require.FailNow(t, "no such series", "%s in:\n%s", name, text)
	return 0
}

// The bash completion script, sourced by a real bash, completes commands
// and a command's flags by asking the binary.
func TestShellCompletion(t *testing.T) {
	t.Parallel()
	if _, err := exec.LookPath("bash"); err != nil {
		t.Fatalf("bash is needed: %v", err)
	}
	script := `source <(interview-export completion bash)
COMP_WORDS=(interview-export er); COMP_CWORD=1; _cli_bash_autocomplete; echo "commands: ${COMPREPLY[*]}"
COMP_WORDS=(interview-export erase --re); COMP_CWORD=2; _cli_bash_autocomplete; echo "flags: ${COMPREPLY[*]}"`
	cmd := exec.Command("bash", "-c", script)
	cmd.Env = append(os.Environ(), "PATH="+filepath.Dir(binary)+":"+os.Getenv("PATH"))
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, string(out))
	assert.Contains(t, string(out), "commands: erase\n")
	assert.Contains(t, string(out), "flags: --reason\n")
}

// --keep-runs prunes the old runs and their failures at the end of a run;
// 0 keeps them all.
func TestKeepRunsPrunesTheHistory(t *testing.T) {
	t.Parallel()
	e := setup(t, baseConfig())
	ids := e.idsFile("ids.txt", append(e.fake.ProposalIDs()[:30], "forbidden-1"))
	for range 3 {
		r := e.run("", exportArgs(ids)...)
		require.Contains(t, []int{0, 1}, r.code, r.stderr) // 1 the first time: forbidden-1 is new
	}
	e.exec(`UPDATE export_runs SET started_at = started_at - interval '100 days', finished_at = finished_at - interval '100 days'`)
	r := e.run("", exportArgs(ids, "--keep-runs", "0")...)
	require.Equal(t, 0, r.code, r.stderr)
	assert.Equal(t, 4, e.count(`SELECT count(*) FROM export_runs`), "0 keeps all")
	r = e.run("", exportArgs(ids)...)
	require.Equal(t, 0, r.code, r.stderr)
	assert.Contains(t, r.stderr, "pruned the run history")
	// The three old runs go with their failures; the open failure of the
	// ledger (forbidden-1, last failed by this run) stays.
	assert.Equal(t, 2, e.count(`SELECT count(*) FROM export_runs`))
	assert.Zero(t, e.count(`SELECT count(*) FROM export_failures f WHERE NOT EXISTS (SELECT 1 FROM export_runs r WHERE r.id = f.run_id)`))
	assert.Equal(t, 1, e.count(`SELECT count(*) FROM failure_ledger`))
}
