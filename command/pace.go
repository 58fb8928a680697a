package command

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"github.com/interview-export/interview-export/extract"
	"github.com/interview-export/interview-export/load"
)

// Shards of one run share the API's quota: each tells the others its pace
// through the database once a second, and hears theirs (see
// extract.Gate.Peers).
const (
	paceEvery  = time.Second
	paceWithin = 3 * time.Second // a shard not heard from for this long has ended
)

// sharePace shares the pace of a sharded run that writes to the database
// with the other shards (see the function sharePace), until the returned
// func is called.
func (x *exportRun) sharePace(ctx context.Context) (stop func()) {
	if x.o.run.Shard.Count < 2 || x.store == nil || x.o.dryRun {
		return func() {}
	}
	return sharePace(ctx, x.store, x.client, x.o.run.Shard.String(), x.log)
}

// sharePace tells the other shards this one's pace and hands theirs to the
// client, every paceEvery until stop is called; stop then deletes this
// shard's row, so that the others share what it held. A database that does
// not answer only leaves the pace as each shard finds it alone.
func sharePace(ctx context.Context, store *load.Store, client *extract.Client, shard string, log *slog.Logger) (stop func()) {
	ctx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	wg.Go(func() {
		tick := time.NewTicker(paceEvery)
		defer tick.Stop()
		warned := false
		for {
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
			}
			own := client.Pace()
			qctx, qcancel := context.WithTimeout(ctx, paceEvery)
			peers, err := store.SharePace(qctx, shard, load.Pace{Rate: own.Rate, Probing: own.Probing, Limited: own.Limited}, paceWithin)
			qcancel()
			if err != nil {
				if !warned && ctx.Err() == nil {
					log.Warn("cannot share the pace with the other shards; each finds its share alone until the database answers",
						"error", err.Error())
					warned = true
				}
				continue
			}
			warned = false
			told := make(map[string]extract.Peer, len(peers))
			for k, p := range peers {
				told[k] = extract.Peer{Rate: p.Rate, Probing: p.Probing, Limited: p.Limited}
			}
			client.PeerPaces(told)
		}
	})
	return func() {
		cancel()
		wg.Wait()
		lctx, lcancel := context.WithTimeout(context.Background(), time.Second)
		defer lcancel()
		if err := store.LeavePace(lctx, shard); err != nil {
			log.Debug("could not delete the shard's pace row; the others will see it go stale", "error", err.Error())
		}
	}
}
