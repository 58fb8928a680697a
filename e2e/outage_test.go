package e2e

import (
	"bytes"
	"context"
	"io"
	"net"
	"net/url"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// dbProxy stands between the exporter and PostgreSQL, so that a test can
// cut the database off (every connection closed, new ones refused) and
// bring it back, as a restart or a failover would.
type dbProxy struct {
	ln     net.Listener
	target string
	mu     sync.Mutex
	down   bool
	conns  []net.Conn
}

func startDBProxy(t *testing.T, databaseURL string) (*dbProxy, string) {
	t.Helper()
	u, err := url.Parse(databaseURL)
	require.NoError(t, err)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	p := &dbProxy{ln: ln, target: u.Host}
	t.Cleanup(func() { ln.Close(); p.cut() })
	go p.serve()
	u.Host = ln.Addr().String()
	return p, u.String()
}

func (p *dbProxy) serve() {
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return
		}
		p.mu.Lock()
		down := p.down
		p.mu.Unlock()
		if down {
			c.Close() // the server is gone
			continue
		}
		s, err := net.Dial("tcp", p.target)
		if err != nil {
			c.Close()
			continue
		}
		p.mu.Lock()
		p.conns = append(p.conns, c, s)
		p.mu.Unlock()
		go func() { io.Copy(s, c); s.Close() }()
		go func() { io.Copy(c, s); c.Close() }()
	}
}

// cut closes every connection and refuses new ones until restore.
func (p *dbProxy) cut() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.down = true
	for _, c := range p.conns {
		c.Close()
	}
	p.conns = nil
}

func (p *dbProxy) restore() {
	p.mu.Lock()
	p.down = false
	p.mu.Unlock()
}

// A database that goes away mid-run and comes back within --outage-timeout
// costs nothing: the batch is written again on a new connection and every
// proposal lands. One that stays away ends the run with 75, committed work
// kept, and the rerun finishes it.
func TestDatabaseOutageMidRun(t *testing.T) {
	t.Parallel()
	cfg := baseConfig()
	cfg.Latency = 5 * time.Millisecond
	e := setup(t, cfg)
	proxy, proxied := startDBProxy(t, e.db)
	ids := e.fake.ProposalIDs()
	file := e.idsFile("ids.txt", ids)
	runThroughProxy := func(outage time.Duration, extra ...string) result {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		cmd := e.command(ctx, exportArgs(file, append([]string{"--concurrency", "2", "--batch-size", "20"}, extra...)...)...)
		cmd.Env = append(cmd.Env, "DATABASE_URL="+proxied)
		var errOut bytes.Buffer
		cmd.Stderr = &errOut
		require.NoError(t, cmd.Start())
		waitForRows(t, e.db, 40)
		proxy.cut()
		time.Sleep(outage) // the outage itself: its length is the scenario
		proxy.restore()
		_ = cmd.Wait()
		return result{code: cmd.ProcessState.ExitCode(), stderr: errOut.String()}
	}

	r := runThroughProxy(3*time.Second, "--outage-timeout", "20s")
	assert.Contains(t, []int{0, 1}, r.code, r.stderr)
	assert.Contains(t, r.stderr, "the database cannot be reached")
	want := expected(e.fake, ids)
	got := e.snapshot()
	assert.Equal(t, want.Interviews, got.Interviews, "every proposal landed despite the outage")

	e.exec(`TRUNCATE interviews, interview_messages, failure_ledger`)
	r = runThroughProxy(6*time.Second, "--outage-timeout", "2s")
	assert.Equal(t, 75, r.code, r.stderr)
	assert.Contains(t, r.stderr, "run again once the database answers")
	kept := e.count(`SELECT count(*) FROM interviews`)
	assert.GreaterOrEqual(t, kept, 40, "committed work is kept")
	r = e.run("", exportArgs(file)...)
	assert.Contains(t, []int{0, 1}, r.code, r.stderr)
	assert.Equal(t, want.Interviews, e.snapshot().Interviews, "the rerun finished it")
}
