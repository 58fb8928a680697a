package pipeline

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestFeedTrackerNeverPassesAHeldEvent(t *testing.T) {
	t.Parallel()
	f := newFeedTracker()
	assert.Zero(t, f.cursor())
	f.read(1001) // an event skipped
	assert.Equal(t, int64(1001), f.cursor())
	f.add(1002) // a proposal to fetch
	f.add(1002) // and its facts
	f.add(1003)
	f.read(1005) // the page's end
	assert.Equal(t, int64(1001), f.cursor(), "1002 has no outcome yet")
	f.done(1003)
	assert.Equal(t, int64(1001), f.cursor(), "out of order: 1002 still holds")
	f.done(1002)
	assert.Equal(t, int64(1001), f.cursor(), "1002 is held twice")
	f.done(1002)
	assert.Equal(t, int64(1005), f.cursor(), "everything read is done")
	f.done(0)
	f.add(0) // inputs outside the feed are not tracked
	assert.Equal(t, int64(1005), f.cursor())
}
