package e2e

import (
	"bytes"
	"context"
	"io"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/creack/pty"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// progressIDs are enough proposals for a run of about two seconds at --rate 100.
func progressIDs(e *env) []string {
	return e.fake.ProposalIDs()[:200]
}

// On a terminal, stderr shows a progress bar: done / total, rate, failures.
func TestProgressBarOnATerminal(t *testing.T) {
	t.Parallel()
	cfg := baseConfig()
	cfg.Latency = 5 * time.Millisecond
	e := setup(t, cfg)
	ids := e.idsFile("ids.txt", progressIDs(e))
	cmd := e.command(context.Background(), "export", "--ids-file", ids, "--rate", "100", "--concurrency", "4")
	ptmx, tty, err := pty.Open()
	require.NoError(t, err)
	defer ptmx.Close()
	require.NoError(t, pty.Setsize(ptmx, &pty.Winsize{Rows: 24, Cols: 160}))
	cmd.Stderr = tty
	require.NoError(t, cmd.Start())
	tty.Close()
	var screen bytes.Buffer
	copied := make(chan struct{})
	go func() {
		io.Copy(&screen, ptmx) // ends with EIO once the process exits
		close(copied)
	}()
	err = cmd.Wait()
	if err != nil {
		var ee *exec.ExitError
		require.ErrorAs(t, err, &ee)
	}
	<-copied
	out := screen.String()
	assert.Contains(t, []int{0, 1}, cmd.ProcessState.ExitCode(), out)
	assert.Contains(t, out, "exporting (")
	assert.Contains(t, out, "failed")
	assert.Contains(t, out, "/200", "done / total")
	assert.Contains(t, out, "IDs/s", "rate")
	assert.Contains(t, out, "export run 1", "the summary follows the bar")
	assert.NotContains(t, out, "msg=progress", "no progress log lines on a terminal")
}

// Without a terminal, a structured log line comes at a steady interval.
func TestProgressLogLinesWithoutATerminal(t *testing.T) {
	t.Parallel()
	cfg := baseConfig()
	cfg.Latency = 5 * time.Millisecond
	e := setup(t, cfg)
	ids := e.idsFile("ids.txt", progressIDs(e))
	r := e.run("", "export", "--ids-file", ids, "--rate", "100", "--concurrency", "4",
		"--progress-interval", "300ms", "--log-format", "json")
	require.Contains(t, []int{0, 1}, r.code, r.stderr)
	lines := strings.Count(r.stderr, `"msg":"progress"`)
	assert.GreaterOrEqual(t, lines, 3, "about one per 300ms over a 2s run:\n%s", r.stderr)
	assert.Contains(t, r.stderr, `"fetched":`)
	assert.Contains(t, r.stderr, `"per_second":`)
	assert.NotContains(t, r.stderr, "\r", "no bar drawing without a terminal")
}
