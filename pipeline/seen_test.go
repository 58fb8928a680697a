package pipeline

import (
	"fmt"
	"runtime"
	"slices"
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestSeenSetFindsEveryDuplicate(t *testing.T) {
	t.Parallel()
	s := newSeenSet()
	defer s.release()
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
	assert.Len(t, s.sorted.keys, 3*recentMax)
	assert.True(t, slices.IsSortedFunc(s.sorted.keys, compareKeys))
	assert.Len(t, s.recent, 124)
}

// BenchmarkSeenSetMillion reports the live heap of a million keys and the
// memory outside it.
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
		b.ReportMetric(float64(len(s.sorted.keys)*16)/(1<<20), "MiB-off-heap")
		s.release()
	}
}

func TestKeyArrayGrowsPastItsReserve(t *testing.T) {
	t.Parallel()
	var a keyArray
	defer a.release()
	a.grow(3)
	a.keys[0], a.keys[2] = [16]byte{1}, [16]byte{2}
	a.grow(keyArrayReserve) // past the first mapping: moved to a larger one
	assert.Len(t, a.keys, keyArrayReserve+3)
	assert.Equal(t, [][16]byte{{1}, {}, {2}, {}}, a.keys[:4])
	assert.Equal(t, [16]byte{}, a.keys[len(a.keys)-1])
	a.keys[len(a.keys)-1] = [16]byte{3}
}
