package extract

import (
	"fmt"
	"math"

	"golang.org/x/time/rate"
)

// Peer is what a gate tells the other shards of a run that share the API's
// quota (see Share and Peers).
type Peer struct {
	Rate    float64 // requests/s it paces at; +Inf while unlimited
	Probing bool    // probing above its share
	Limited int64   // 429s with Retry-After received so far
}

// Share is what this gate tells the other shards.
func (g *Gate) Share() Peer {
	g.mu.Lock()
	defer g.mu.Unlock()
	return Peer{Rate: g.Limit(), Probing: g.probing, Limited: g.limitedTotal}
}

// Peers is what the other shards sharing the quota told, keyed by shard,
// without those that ended: together the shards hold one pace.
//
//   - While one of them probes (for all: the next probe here waits as
//     if this one had probed), this gate starts no probe, and does not cut
//     for the 429s that probe draws (the prober hears of them here); while
//     this one probes, a 429 at another shard ends the probe as its own
//     would.
//   - When not probing, the pace moves halfway toward the shards' mean, so
//     that they finish together; the pace of a shard that ended is shared
//     among those that remain.
func (g *Gate) Peers(peers map[string]Peer) {
	g.mu.Lock()
	defer g.mu.Unlock()
	now := g.now()
	probing, limited := false, int64(0)
	for _, p := range peers {
		probing, limited = probing || p.Probing, limited+p.Limited
	}
	if probing && !g.peerProbing {
		// Another shard probes for all: the next probe here waits as if
		// this one had, so that the shards together probe as one would.
		g.probeWait = min(2*g.probeWait, probeWaitMax)
		g.scheduleProbe(now)
	}
	refused := limited > g.peerLimited
	prev := g.peerRates
	g.peerProbing, g.peerLimited, g.peerRates = probing, limited, peers
	if g.probing && refused && !g.announced {
		g.probeFailed(now, fmt.Sprintf("another shard was refused while this one probed at %.3g/s", g.Limit()))
		g.lastCut = now
		g.scheduleProbe(now)
		return
	}
	cur := g.lim.Limit()
	if !g.learned || g.announced || g.probing || probing || cur == rate.Inf || now.Before(g.pausedUntil) {
		return
	}
	freed, sum := 0.0, float64(cur)
	for k, p := range prev {
		if _, ok := peers[k]; !ok && !math.IsInf(p.Rate, 1) {
			freed += p.Rate
		}
	}
	for _, p := range peers {
		if math.IsInf(p.Rate, 1) {
			return // a shard still starting: nothing to share yet
		}
		sum += p.Rate
	}
	n := float64(len(peers) + 1)
	target := float64(cur) + freed/n
	target += (sum/n - float64(cur)) / 2
	if math.Abs(target-float64(cur)) < 0.01*float64(cur) {
		return
	}
	g.quota = rate.Limit(target) / holdLearned
	why := "sharing the quota with another shard"
	if len(peers) > 1 {
		why = fmt.Sprintf("sharing the quota with %d other shards", len(peers))
	}
	if freed > 0 {
		why = fmt.Sprintf("taking a share of the %.3g/s of shards that ended", freed)
	}
	g.set(now, rate.Limit(target), why)
}
