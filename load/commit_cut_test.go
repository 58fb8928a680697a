package load_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/interview-export/interview-export/internal/pgtest"
	"github.com/interview-export/interview-export/load"
)

// cutProxy relays TCP connections to a PostgreSQL server. Armed, it
// forwards the next message that holds a COMMIT to the server, lets the
// server commit it, and then cuts the connection before the answer comes
// back: the client cannot tell whether its transaction was committed.
type cutProxy struct {
	ln     net.Listener
	target string
	armed  atomic.Bool
	cuts   atomic.Int64
	wg     sync.WaitGroup
}

func startCutProxy(t *testing.T, target string) *cutProxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	p := &cutProxy{ln: ln, target: target}
	p.wg.Go(func() {
		for {
			client, err := ln.Accept()
			if err != nil {
				return
			}
			p.wg.Go(func() { p.relay(client) })
		}
	})
	t.Cleanup(func() { ln.Close(); p.wg.Wait() })
	return p
}

func (p *cutProxy) relay(client net.Conn) {
	server, err := net.Dial("tcp", p.target)
	if err != nil {
		client.Close()
		return
	}
	var once sync.Once
	cut := func() { once.Do(func() { client.Close(); server.Close() }) }
	defer cut()
	go func() { // the server's answers, as they come, until the cut
		io.Copy(client, server)
		cut()
	}()
	buf := make([]byte, 64<<10)
	for {
		n, err := client.Read(buf)
		if n > 0 {
			commit := bytes.Contains(bytes.ToLower(buf[:n]), []byte("commit"))
			if commit && p.armed.CompareAndSwap(true, false) {
				// The client's side goes first, so that no answer reaches
				// it; then the COMMIT goes to the server, which commits it
				// before it sees its side close.
				client.Close()
				server.Write(buf[:n])
				time.Sleep(300 * time.Millisecond) // the server commits meanwhile
				p.cuts.Add(1)
				return
			}
			if _, werr := server.Write(buf[:n]); werr != nil {
				return
			}
		}
		if err != nil {
			return
		}
	}
}

// A batch whose COMMIT reached the server but whose answer was cut is tried
// again on a new connection and recognized: its failures and its counts are
// stored once.
func TestABatchRetriedAfterALostCommitCountsOnce(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	url := pgtest.Schema(t)
	cfg, err := pgx.ParseConfig(url)
	require.NoError(t, err)
	proxy := startCutProxy(t, fmt.Sprintf("%s:%d", cfg.Host, cfg.Port))
	proxied, err := pgx.ParseConfig(url)
	require.NoError(t, err)
	host, port, _ := net.SplitHostPort(proxy.ln.Addr().String())
	proxiedURL := fmt.Sprintf("postgres://%s@%s:%s/%s?sslmode=disable&search_path=%s", proxied.User, host, port, proxied.Database,
		proxied.RuntimeParams["search_path"])

	direct, err := load.Open(ctx, url, 2)
	require.NoError(t, err)
	defer direct.Close()
	_, err = direct.Migrate(ctx)
	require.NoError(t, err)
	store, err := load.Open(ctx, proxiedURL, 4)
	require.NoError(t, err)
	defer store.Close()
	runID, err := store.StartRun(ctx, load.RunStart{Shard: "0/1", Source: "test"})
	require.NoError(t, err)
	w, err := store.NewWriter(ctx, runID, load.WriterOptions{OutageTimeout: 20 * time.Second})
	require.NoError(t, err)
	defer w.Close()

	batch := func(from int) *load.Batch {
		b := &load.Batch{Observed: load.Counts{IDsRead: int64(from + 4)}}
		for i := from; i < from+2; i++ {
			b.Interviews = append(b.Interviews, available(fmt.Sprintf("A%d", i), new("5"), msg("m", 0, "candidate", "words", t0)))
			b.Failures = append(b.Failures, load.Failure{ProposalID: fmt.Sprintf("F%d", i), HTTPStatus: 403, Code: load.CodeForbidden, Message: "forbidden", Attempts: 1})
		}
		return b
	}
	_, err = w.Write(ctx, batch(0))
	require.NoError(t, err)
	proxy.armed.Store(true)
	st, err := w.Write(ctx, batch(10))
	require.NoError(t, err, "the batch is tried again on a new connection")
	assert.Equal(t, int64(1), proxy.cuts.Load(), "the COMMIT's answer was cut")
	assert.Equal(t, int64(2), st.Available)
	_, err = w.Write(ctx, batch(20))
	require.NoError(t, err)

	db := pgtest.Pool(t, url)
	var available, failed, failures, batches int64
	require.NoError(t, db.QueryRow(ctx, `SELECT available, failed, batches, (SELECT count(*) FROM export_failures WHERE run_id = $1)
		FROM export_runs WHERE id = $1`, runID).Scan(&available, &failed, &batches, &failures))
	t.Logf("after 3 batches of 2 interviews and 2 failures, the second one's COMMIT cut: available %d, failed %d, export_failures rows %d, batches %d",
		available, failed, failures, batches)
	assert.Equal(t, []int64{6, 6, 6, 3}, []int64{available, failed, failures, batches}, "each batch counted once")
}
