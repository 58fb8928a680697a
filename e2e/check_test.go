package e2e

import (
	"encoding/json"
	"net/url"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// check verifies a set-up without exporting: 0 when all passes, 2 for what
// a person must fix, 75 for what may pass later.
func TestCheckExitStatuses(t *testing.T) {
	t.Parallel()
	e := setup(t, baseConfig())
	r := e.run("", "check", "--updates")
	assert.Equal(t, 0, r.code, r.stdout+r.stderr)
	for _, want := range []string{"PASS  database", "PASS  api", "PASS  token", "PASS  grants", "PASS  feed", "INFO  rate limit"} {
		assert.Contains(t, r.stdout, want)
	}
	assert.Zero(t, e.fake.Stats().InterviewRequests, "check fetches no transcript")

	r = e.run("", "check", "--format", "json")
	require.Equal(t, 0, r.code, r.stderr)
	var results []map[string]any
	require.NoError(t, json.Unmarshal([]byte(r.stdout), &results))
	assert.NotEmpty(t, results)

	bad := e.command(t.Context(), "check")
	bad.Env = append(bad.Env, "OT_API_TOKEN=ot_pat_wrong_token")
	out, _ := bad.Output()
	assert.Equal(t, 2, bad.ProcessState.ExitCode(), string(out))
	assert.Contains(t, string(out), "FAIL  token")

	down := e.command(t.Context(), "check")
	down.Env = append(down.Env, "OT_API_URL=http://127.0.0.1:1/api/public/v1")
	out, _ = down.Output()
	assert.Equal(t, 75, down.ProcessState.ExitCode(), string(out))

	down = e.command(t.Context(), "check")
	down.Env = append(down.Env, "DATABASE_URL=postgres://x@127.0.0.1:1/db?connect_timeout=2")
	out, _ = down.Output()
	assert.Equal(t, 75, down.ProcessState.ExitCode(), string(out))

	u, err := url.Parse(e.db)
	require.NoError(t, err)
	u.Path = "/no_such_database"
	wrong := e.command(t.Context(), "check")
	wrong.Env = append(wrong.Env, "DATABASE_URL="+u.String())
	out, _ = wrong.Output()
	assert.Equal(t, 2, wrong.ProcessState.ExitCode(), string(out))
	assert.Contains(t, string(out), "fix: check DATABASE_URL")
}
