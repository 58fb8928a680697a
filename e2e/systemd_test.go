package e2e

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// need is a tool the test cannot do without: in CI its absence fails the
// test, elsewhere it skips it with the reason.
func need(t *testing.T, ok bool, why string) {
	t.Helper()
	if ok {
		return
	}
	if os.Getenv("CI") != "" {
		t.Fatal(why)
	}
	t.Skip(why)
}

// The systemd units pass systemd-analyze verify without a warning.
func TestSystemdUnitsVerify(t *testing.T) {
	t.Parallel()
	_, err := exec.LookPath("systemd-analyze")
	need(t, err == nil, "systemd-analyze is needed (apt-get install systemd)")
	dir := t.TempDir()
	var units []string
	for _, name := range []string{"interview-export.service", "interview-export.timer", "interview-export-follower.service"} {
		raw, err := os.ReadFile(filepath.Join("..", "deploy", "systemd", name))
		require.NoError(t, err)
		// The binary where the unit expects it, for verify to find.
		unit := filepath.Join(dir, name)
		require.NoError(t, os.WriteFile(unit, []byte(strings.ReplaceAll(string(raw), "/usr/local/bin/interview-export", binary)), 0o644))
		units = append(units, unit)
	}
	out, err := exec.Command("systemd-analyze", append([]string{"verify"}, units...)...).CombinedOutput()
	require.NoError(t, err, string(out))
	assert.Empty(t, strings.TrimSpace(string(out)), "systemd-analyze verify warns")
}

// The nightly unit's textfile reaches node_exporter's textfile directory,
// readable by another user (Debian's node_exporter runs as prometheus),
// though the run writes it to a DynamicUser's private state directory: the
// unit's ExecStopPost line is run as the unit would run it.
func TestSystemdTextfileIsReadableByNodeExporter(t *testing.T) {
	t.Parallel()
	need(t, os.Geteuid() == 0, "reading the textfile as another user needs root")
	_, err := exec.LookPath("runuser")
	need(t, err == nil, "runuser is needed (util-linux)")
	e := setup(t, baseConfig())
	// /var/lib/private/interview-export: a directory only its owner enters.
	private, err := os.MkdirTemp("", "private-")
	require.NoError(t, err)
	t.Cleanup(func() { os.RemoveAll(private) })
	require.NoError(t, os.Chmod(private, 0o700))
	state := filepath.Join(private, "interview-export")
	require.NoError(t, os.Mkdir(state, 0o755))
	textfiles, err := os.MkdirTemp("", "node-exporter-")
	require.NoError(t, err)
	t.Cleanup(func() { os.RemoveAll(textfiles) })
	require.NoError(t, os.Chmod(textfiles, 0o755))

	r := e.run("", exportArgs(e.idsFile("ids.txt", e.fake.ProposalIDs()[:10]), "--metrics-textfile", filepath.Join(state, "interview_export.prom"))...)
	require.Contains(t, []int{0, 1}, r.code, r.stderr)
	raw, err := os.ReadFile("../deploy/systemd/interview-export.service")
	require.NoError(t, err)
	var post string
	for _, line := range strings.Split(string(raw), "\n") {
		if rest, ok := strings.CutPrefix(line, "ExecStopPost=+"); ok {
			post = rest
		}
	}
	require.NotEmpty(t, post, "the unit publishes the textfile with ExecStopPost=+")
	post = strings.ReplaceAll(strings.ReplaceAll(post, "$$", "$"), "/var/lib/prometheus/node-exporter", textfiles)
	args := strings.SplitN(post, " ", 3) // /bin/sh -c '…'
	require.Len(t, args, 3)
	cmd := exec.Command(args[0], args[1], strings.Trim(args[2], "'"))
	cmd.Env = append(os.Environ(), "STATE_DIRECTORY="+state)
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, string(out))

	published := filepath.Join(textfiles, "interview_export.prom")
	read, err := exec.Command("runuser", "-u", "nobody", "--", "cat", published).CombinedOutput()
	require.NoError(t, err, "nobody reads the published textfile: %s", read)
	assert.Contains(t, string(read), "interview_export_exit_status")
	_, err = exec.Command("runuser", "-u", "nobody", "--", "cat", filepath.Join(state, "interview_export.prom")).CombinedOutput()
	assert.Error(t, err, "the state directory itself is private, as the DynamicUser's is")
	entries, err := os.ReadDir(textfiles)
	require.NoError(t, err)
	assert.Len(t, entries, 1, "no temporary file left beside it")
}
