package exporter

import (
	"fmt"
	"runtime"
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestSeenSetFindsEveryDuplicate(t *testing.T) {
	t.Parallel()
	s := newSeenSet()
	const n = 3*recentMax + 123 // several merges, and keys left in the map
	for i := range n {
		assert.False(t, s.add(idKey(fmt.Sprint("p-", i))), "first time %d", i)
	}
	for i := range n {
		if !s.add(idKey(fmt.Sprint("p-", i))) {
			t.Fatalf("p-%d was not found again", i)
		}
	}
	assert.False(t, s.add(idKey("p-new")))
	assert.Len(t, s.sorted, 3*recentMax)
	assert.Len(t, s.recent, 124)
}

// BenchmarkSeenSetMillion reports the live heap of a million keys.
func BenchmarkSeenSetMillion(b *testing.B) {
	for range b.N {
		s := newSeenSet()
		for i := range 1_000_000 {
			s.add(idKey(fmt.Sprint("p-", i)))
		}
		runtime.GC()
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		b.ReportMetric(float64(ms.HeapAlloc)/(1<<20), "MiB-live")
		runtime.KeepAlive(s)
	}
}
