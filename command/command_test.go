package command_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.yaml.in/yaml/v3"

	"github.com/interview-export/interview-export/command"
	"github.com/interview-export/interview-export/exit"
	"github.com/interview-export/interview-export/internal/fakeapi"
	"github.com/interview-export/interview-export/internal/pgtest"
)

const token = "ot_pat_COMMAND_TEST_SECRET"

type out struct {
	code           int
	stdout, stderr string
}

// run runs the CLI in-process. Tests of this package do not run in
// parallel: urfave/cli v2 shares one global help flag between apps and
// writes to it on every run, so overlapping runs race (harmless, but the
// race detector is right to object).
func run(ctx context.Context, stdin string, args ...string) out {
	var stdout, stderr bytes.Buffer
	code := command.Run(ctx, append([]string{"interview-export"}, args...), strings.NewReader(stdin), &stdout, &stderr)
	return out{code, stdout.String(), stderr.String()}
}

func fakeServer(t *testing.T, cfg fakeapi.Config) (*fakeapi.Server, string) {
	t.Helper()
	cfg.Token = token
	return fakeapi.Start(t, cfg)
}

func writeFile(t *testing.T, name, content string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	require.NoError(t, os.WriteFile(path, []byte(content), 0o600))
	return path
}

// startedConcurrency runs a dry-run export and returns the concurrency it
// logged, to observe which setting won.
func startedConcurrency(t *testing.T, args ...string) int {
	t.Helper()
	r := run(context.Background(), "available-1\n", append([]string{"export", "--dry-run", "--ids-file", "-", "--log-format", "json"}, args...)...)
	require.Equal(t, 0, r.code, r.stderr)
	sc := bufio.NewScanner(strings.NewReader(r.stderr))
	for sc.Scan() {
		var line struct {
			Msg         string `json:"msg"`
			Concurrency int    `json:"concurrency"`
		}
		if json.Unmarshal(sc.Bytes(), &line) == nil && line.Msg == "export started" {
			return line.Concurrency
		}
	}
	require.FailNow(t, "no 'export started' line", r.stderr)
	return 0
}

// Precedence: flag > environment > config file > default. Not parallel: it sets the environment.
func TestSettingsPrecedence(t *testing.T) {
	_, url := fakeServer(t, fakeapi.Config{})
	t.Setenv("OT_API_URL", url)
	t.Setenv("OT_API_TOKEN", token)
	config := writeFile(t, "config.yaml", "concurrency: 3\nrate: 0\n")

	assert.Equal(t, 8, startedConcurrency(t), "default")
	assert.Equal(t, 3, startedConcurrency(t, "--config", config), "file over default")
	t.Setenv("INTERVIEW_EXPORT_CONCURRENCY", "5")
	assert.Equal(t, 5, startedConcurrency(t, "--config", config), "environment over file")
	assert.Equal(t, 7, startedConcurrency(t, "--config", config, "--concurrency", "7"), "flag over environment")
}

func TestUsageErrorsExit2(t *testing.T) {
	t.Setenv("OT_API_TOKEN", token)
	t.Setenv("DATABASE_URL", "")
	ids := writeFile(t, "ids.txt", "p-1\n")
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"unknown flag", []string{"export", "--nope"}, "flag provided but not defined"},
		{"mistyped flag", []string{"export", "--concurency", "4"}, "did you mean --concurrency?"},
		{"token flag", []string{"export", "--token", "abc"}, "set OT_API_TOKEN or pass --token-file FILE"},
		{"unknown command", []string{"exprot"}, "exprot"},
		{"no command", []string{}, "no command given"},
		{"no source", []string{"export", "--dry-run"}, "--ids-file"},
		{"bad concurrency", []string{"export", "--dry-run", "--ids-file", ids, "--concurrency", "1001"}, "--concurrency 1001: want 1 to 1000"},
		{"negative batch size", []string{"export", "--dry-run", "--ids-file", ids, "--batch-size", "-1"}, "--batch-size -1: want 1 to 100000"},
		{"backoff max under base", []string{"export", "--dry-run", "--ids-file", ids, "--backoff-base", "2s", "--backoff-max", "1s"}, "--backoff-max 1s: want at least BackoffBase"},
		{"bad lock timeout", []string{"export", "--dry-run", "--ids-file", ids, "--lock-timeout", "-1s"}, "--lock-timeout -1s: want a positive duration"},
		{"bad rate", []string{"export", "--dry-run", "--ids-file", ids, "--rate", "-1"}, "--rate"},
		{"bad duration", []string{"export", "--dry-run", "--ids-file", ids, "--request-timeout", "soon"}, "request-timeout"},
		{"no database", []string{"export", "--ids-file", ids}, "DATABASE_URL"},
		{"missing ids file", []string{"export", "--dry-run", "--ids-file", "/nonexistent/ids.txt"}, "open IDs file"},
		{"ids file is a directory", []string{"export", "--dry-run", "--ids-file", t.TempDir()}, "is a directory"},
		{"stray argument", []string{"export", "--dry-run", "--ids-file", ids, "p-2"}, "unexpected argument"},
		{"summary file is a directory", []string{"export", "--dry-run", "--ids-file", ids, "--summary-file", t.TempDir()}, "is a directory: name a file in it"},
		{"metrics textfile is a directory", []string{"export", "--dry-run", "--ids-file", ids, "--metrics-textfile", t.TempDir()}, "--metrics-textfile"},
		{"bad log level", []string{"export", "--dry-run", "--ids-file", ids, "--log-level", "loud"}, "--log-level"},
		{"missing token file", []string{"export", "--dry-run", "--ids-file", ids, "--token-file", "/nonexistent"}, "--token-file"},
		{"unknown config key", []string{"export", "--dry-run", "--ids-file", ids, "--config", writeFile(t, "c.yaml", "concurency: 4\n")}, "unknown key(s) concurency"},
		{"token in config", []string{"export", "--dry-run", "--ids-file", ids, "--config", writeFile(t, "c.yaml", "token: abc\n")}, "token-file"},
		{"config wrong type", []string{"export", "--dry-run", "--ids-file", ids, "--config", writeFile(t, "c.yaml", "rate: fast\n")}, `rate: "fast" is not a number`},
		{"config bad duration", []string{"export", "--dry-run", "--ids-file", ids, "--config", writeFile(t, "c.yaml", "request-timeout: soon\n")}, `request-timeout: "soon" is not a duration`},
		{"config not yaml", []string{"export", "--dry-run", "--ids-file", ids, "--config", writeFile(t, "c.yaml", "{{{\n")}, "not valid YAML"},
		{"missing config", []string{"export", "--dry-run", "--ids-file", ids, "--config", "/nonexistent.yaml"}, "--config"},
		{"bad api url", []string{"export", "--dry-run", "--ids-file", ids, "--api-url", "ftp://x"}, "API base URL"},
		{"migrate without database", []string{"migrate"}, "DATABASE_URL"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := run(context.Background(), "", tt.args...)
			assert.Equal(t, 2, r.code, "stderr: %s", r.stderr)
			assert.Contains(t, r.stderr, tt.want)
			assert.NotContains(t, r.stderr, token)
			assert.NotContains(t, r.stderr, "secretpw", "database password never echoed")
			assert.NotContains(t, r.stderr, "goroutine", "no stack traces")
		})
	}
}

func TestNoTokenExit2(t *testing.T) {
	t.Setenv("OT_API_TOKEN", "")
	r := run(context.Background(), "p-1\n", "export", "--dry-run", "--ids-file", "-")
	assert.Equal(t, 2, r.code)
	assert.Contains(t, r.stderr, "OT_API_TOKEN")
}

func TestTokenFile(t *testing.T) {
	_, url := fakeServer(t, fakeapi.Config{})
	t.Setenv("OT_API_TOKEN", "")
	tf := writeFile(t, "token", token+"\n")
	r := run(context.Background(), "notfound-1\n", "export", "--dry-run", "--ids-file", "-", "--api-url", url, "--token-file", tf)
	assert.Equal(t, 0, r.code, r.stderr)
	assert.Contains(t, r.stdout, `"status":"no_interview"`)
}

func TestVersionAndHelp(t *testing.T) {
	r := run(context.Background(), "", "version")
	assert.Equal(t, 0, r.code)
	assert.Regexp(t, `^interview-export dev \(commit \S+, built \S+, go1\.\S+ \S+/\S+\)\n$`, r.stdout, "version, commit, build date, Go")
	v := run(context.Background(), "", "--version")
	assert.Equal(t, 0, v.code)
	assert.Equal(t, r.stdout, v.stdout, "version and --version print the same")
	r = run(context.Background(), "", "export", "--help")
	assert.Equal(t, 0, r.code)
	assert.Contains(t, r.stdout, "first one set wins: flags, then environment variables, then the YAML file")
	assert.Contains(t, r.stdout, "$OT_API_URL")
}

// A database that cannot be reached is "try again later" (75); one that
// refuses what the configuration says is a person's to fix (2).
//
// Not parallel, as no test that runs the CLI is: urfave/cli writes its
// package-level help command while it runs.
func TestDatabaseOutageExits75(t *testing.T) {
	ids := writeFile(t, "ids.txt", "p-1\n")
	tokenFile := writeFile(t, "token", token)
	r := run(context.Background(), "", "export", "--ids-file", ids, "--token-file", tokenFile, "--database-url", "postgres://nobody:secretpw@127.0.0.1:1/db?connect_timeout=2")
	assert.Equal(t, exit.Unavailable, r.code, r.stderr)
	assert.Contains(t, r.stderr, "try again later")
	assert.NotContains(t, r.stderr, "secretpw")
	r = run(context.Background(), "", "migrate", "--database-url", "postgres://nobody@127.0.0.1:1/db?connect_timeout=2")
	assert.Equal(t, exit.Unavailable, r.code, r.stderr)

	u, err := url.Parse(pgtest.Schema(t))
	require.NoError(t, err)
	u.Path = "/no_such_database_here"
	r = run(context.Background(), "", "export", "--ids-file", ids, "--token-file", tokenFile, "--database-url", u.String())
	assert.Equal(t, exit.Usage, r.code, r.stderr)
	assert.Contains(t, r.stderr, "check DATABASE_URL")
}

func TestSignalInterruptsAndCommits(t *testing.T) {
	cfg := fakeapi.DefaultConfig()
	cfg.Latency = 5 * time.Millisecond
	fake, url := fakeServer(t, cfg)
	db := pgtest.Schema(t)
	t.Setenv("OT_API_TOKEN", token)
	ids := writeFile(t, "ids.txt", strings.Join(fake.ProposalIDs(), "\n"))

	ctx, cancel := context.WithCancelCause(context.Background())
	go func() {
		<-fake.Reached(200)
		cancel(exit.SignalError{Signal: syscall.SIGTERM})
	}()
	r := run(ctx, "", "export", "--ids-file", ids, "--api-url", url, "--database-url", db, "--rate", "0",
		"--concurrency", "4", "--batch-size", "1000", "--progress-interval", "0")
	assert.Equal(t, 143, r.code, r.stderr)
	assert.Contains(t, r.stderr, "interrupted")

	pool := pgtest.Pool(t, db)
	var status string
	var available, noInterview, failed int
	require.NoError(t, pool.QueryRow(context.Background(),
		`SELECT status, available, no_interview, failed FROM export_runs`).Scan(&status, &available, &noInterview, &failed))
	assert.Equal(t, "interrupted", status, r.stderr)
	var rows int
	require.NoError(t, pool.QueryRow(context.Background(), `SELECT count(*) FROM interviews`).Scan(&rows))
	assert.Positive(t, rows, "outcomes received before the signal are committed (batch size 1000 was never reached)\n%s", r.stderr)
	assert.Equal(t, available+noInterview, rows)
	assert.Less(t, rows, len(fake.ProposalIDs()))
}

// config.example.yaml lists every key with its default: loading it changes nothing.
func TestConfigExampleIsCompleteAndValid(t *testing.T) {
	raw, err := os.ReadFile("../config.example.yaml")
	require.NoError(t, err)
	_, url := fakeServer(t, fakeapi.Config{})
	t.Setenv("OT_API_TOKEN", token)
	r := run(context.Background(), "notfound-1\n", "export", "--config", "../config.example.yaml",
		"--api-url", url, "--dry-run", "--ids-file", "-", "--rate", "0")
	require.Equal(t, 0, r.code, "the example loads: %s", r.stderr)
	r = run(context.Background(), "", "export", "--help")
	require.Equal(t, 0, r.code, r.stderr)
	for _, line := range strings.Split(r.stdout, "\n") {
		line = strings.TrimSpace(line)
		if !strings.HasPrefix(line, "--") || strings.HasPrefix(line, "--help") || strings.HasPrefix(line, "--config") {
			continue
		}
		name := strings.Fields(strings.TrimPrefix(line, "--"))[0]
		assert.True(t, strings.Contains(string(raw), "\n"+name+":"), "config.example.yaml lists %s", name)
	}
}

// The deploy examples only use flags that exist.
func TestDeployExamplesUseRealFlags(t *testing.T) {
	r := run(context.Background(), "", "export", "--help")
	require.Equal(t, 0, r.code)
	for _, file := range []string{"../deploy/kubernetes/cronjob.yaml", "../deploy/systemd/interview-export.service"} {
		raw, err := os.ReadFile(file)
		require.NoError(t, err)
		used := 0
		for _, line := range strings.Split(string(raw), "\n") {
			if strings.HasPrefix(strings.TrimSpace(line), "#") {
				continue // comments show kubectl and systemctl commands
			}
			for _, field := range strings.Fields(line) {
				field = strings.Trim(field, `"'`)
				if !strings.HasPrefix(field, "--") || len(field) < 3 {
					continue
				}
				name, _, _ := strings.Cut(field[2:], "=")
				used++
				assert.True(t, strings.Contains(r.stdout, "--"+name+" "), "%s uses --%s, which export does not take", file, name)
			}
		}
		assert.Positive(t, used, file)
	}
}

func TestTooShortTokenIsRefused(t *testing.T) {
	t.Setenv("OT_API_TOKEN", "x")
	r := run(context.Background(), "p-1\n", "export", "--dry-run", "--ids-file", "-")
	assert.Equal(t, 2, r.code)
	assert.Contains(t, r.stderr, "not a real token")
}

func TestTokenFileReadableByOthersIsWarnedAbout(t *testing.T) {
	_, url := fakeServer(t, fakeapi.Config{})
	t.Setenv("OT_API_TOKEN", "")
	tf := writeFile(t, "token", token+"\n")
	require.NoError(t, os.Chmod(tf, 0o644))
	r := run(context.Background(), "notfound-1\n", "export", "--dry-run", "--ids-file", "-", "--api-url", url, "--token-file", tf)
	assert.Equal(t, 0, r.code, r.stderr)
	assert.Contains(t, r.stderr, "readable by others")
	assert.Contains(t, r.stderr, "chmod 600")
	require.NoError(t, os.Chmod(tf, 0o600))
	r = run(context.Background(), "notfound-1\n", "export", "--dry-run", "--ids-file", "-", "--api-url", url, "--token-file", tf)
	assert.NotContains(t, r.stderr, "readable by others")
}

// Durations accept days from the flag, the environment and the YAML file.
func TestDurationsAcceptDays(t *testing.T) {
	_, url := fakeServer(t, fakeapi.Config{})
	t.Setenv("OT_API_TOKEN", token)
	args := []string{"export", "--dry-run", "--ids-file", "-", "--api-url", url, "--rate", "0"}
	r := run(context.Background(), "notfound-1\n", append(args, "--drain-timeout", "1d")...)
	assert.Equal(t, 0, r.code, r.stderr)
	r = run(context.Background(), "notfound-1\n", append(args, "--config", writeFile(t, "c.yaml", "drain-timeout: 2d\n"))...)
	assert.Equal(t, 0, r.code, r.stderr)
	r = run(context.Background(), "notfound-1\n", append(args, "--config", writeFile(t, "c.yaml", "drain-timeout: soon\n"))...)
	assert.Equal(t, 2, r.code)
	assert.Contains(t, r.stderr, "a duration such as 20h")
	t.Setenv("INTERVIEW_EXPORT_DRAIN_TIMEOUT", "1d")
	r = run(context.Background(), "notfound-1\n", args...)
	assert.Equal(t, 0, r.code, r.stderr)
}

// One config file drives every command: keys of other commands are
// accepted; a key no command knows is refused with the nearest one.
func TestOneConfigForEveryCommand(t *testing.T) {
	db := pgtest.Schema(t)
	t.Setenv("DATABASE_URL", db)
	r := run(context.Background(), "", "migrate", "--config", "../config.example.yaml")
	require.Equal(t, 0, r.code, r.stderr)
	r = run(context.Background(), "", "runs", "--config", "../config.example.yaml")
	assert.Equal(t, 0, r.code, r.stderr)
	r = run(context.Background(), "", "report", "--config", writeFile(t, "c.yaml", "concurrency: 4\nformat: json\nruns: 3\n"))
	assert.Equal(t, 0, r.code, r.stderr)
	assert.True(t, strings.HasPrefix(r.stdout, "{"), "format: json applied to report")
	r = run(context.Background(), "", "report", "--config", writeFile(t, "c.yaml", "concurency: 4\n"))
	assert.Equal(t, 2, r.code)
	assert.Contains(t, r.stderr, "concurency: did you mean concurrency?")
}

// With no DATABASE_URL, the libpq PG* variables alone are enough, as for psql.
func TestLibpqEnvironmentIsEnough(t *testing.T) {
	db := pgtest.Schema(t)
	cfg, err := pgx.ParseConfig(db)
	require.NoError(t, err)
	t.Setenv("DATABASE_URL", "")
	t.Setenv("PGHOST", cfg.Host)
	t.Setenv("PGPORT", fmt.Sprint(cfg.Port))
	t.Setenv("PGUSER", cfg.User)
	t.Setenv("PGDATABASE", cfg.Database)
	t.Setenv("PGOPTIONS", "-c search_path="+cfg.RuntimeParams["search_path"])
	r := run(context.Background(), "", "migrate")
	require.Equal(t, 0, r.code, r.stderr)
	var n int
	require.NoError(t, pgtest.Pool(t, db).QueryRow(context.Background(), `SELECT count(*) FROM interviews`).Scan(&n))
}

// With --log-format json, every line on stderr is one JSON object: flag,
// config and report errors included.
// Not parallel: see TestDatabaseOutageExits75.
func TestJSONErrorsAreJSON(t *testing.T) {
	for _, args := range [][]string{
		{"export", "--log-format", "json", "--nope"},
		{"export", "--log-format=json", "--concurrency", "many"},
		{"report", "--log-format", "json", "--format", "xml", "--database-url", "postgres://x@127.0.0.1:1/db"},
		{"export", "--log-format", "json", "--ids-file", "x", "--config", "/nonexistent.yaml"},
	} {
		r := run(context.Background(), "", args...)
		assert.Equal(t, exit.Usage, r.code, "%v: %s", args, r.stderr)
		for _, line := range strings.Split(strings.TrimSpace(r.stderr), "\n") {
			var rec map[string]any
			require.NoError(t, json.Unmarshal([]byte(line), &rec), "%v: not JSON: %s", args, line)
			assert.Equal(t, float64(exit.Usage), rec["exit_status"], "%v", args)
		}
	}
}

// completion prints each shell's script, bound to the program's name, and
// the man page is roff in section 1.
func TestCompletionAndManPage(t *testing.T) {
	ctx := context.Background()
	for shell, want := range map[string]string{"bash": "complete -o bashdefault -o default -o nospace -F _cli_bash_autocomplete $PROG",
		"zsh": "compdef _cli_zsh_autocomplete interview-export", "fish": "complete -c interview-export"} {
		r := run(ctx, "", "completion", shell)
		require.Equal(t, 0, r.code, r.stderr)
		assert.Contains(t, r.stdout, want, shell)
	}
	r := run(ctx, "", "completion", "tcsh")
	assert.Equal(t, 2, r.code)
	assert.Contains(t, r.stderr, "want bash, zsh or fish")
	r = run(ctx, "", "man")
	require.Equal(t, 0, r.code, r.stderr)
	assert.Contains(t, r.stdout, ".TH interview-export 1")
	assert.Contains(t, r.stdout, "erase")
	// What the scripts ask the binary is tested on the binary (urfave/cli
	// reads os.Args): e2e TestShellCompletion.
}

// The kustomization names the image every manifest uses, and its resources
// exist: a team points newName and newTag at its registry and nothing else.
func TestKustomizationNamesTheImage(t *testing.T) {
	raw, err := os.ReadFile("../deploy/kubernetes/kustomization.yaml")
	require.NoError(t, err)
	var k struct {
		Resources []string `yaml:"resources"`
		Images    []struct {
			Name    string `yaml:"name"`
			NewName string `yaml:"newName"`
			NewTag  string `yaml:"newTag"`
		} `yaml:"images"`
	}
	require.NoError(t, yaml.Unmarshal(raw, &k))
	require.Len(t, k.Images, 1)
	assert.Equal(t, "interview-export", k.Images[0].Name)
	assert.NotEmpty(t, k.Images[0].NewName)
	assert.NotEmpty(t, k.Images[0].NewTag)
	for _, file := range append(k.Resources, "follower.yaml") {
		manifest, err := os.ReadFile(filepath.Join("../deploy/kubernetes", file))
		require.NoError(t, err, "resource %s", file)
		images := 0
		for _, line := range strings.Split(string(manifest), "\n") {
			if rest, ok := strings.CutPrefix(strings.TrimSpace(line), "image: "); ok {
				images++
				assert.Equal(t, "interview-export", strings.Fields(rest)[0], "%s names the image the kustomization sets", file)
			}
		}
		assert.Positive(t, images, file)
	}
}
