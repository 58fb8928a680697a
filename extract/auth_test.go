package extract

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

// One home for what a run needs, and for ":write implies :read".
func TestScopes(t *testing.T) {
	t.Parallel()
	assert.Equal(t, []string{ScopeProposals}, ScopesFor(false))
	assert.Equal(t, []string{ScopeProposals, ScopeJobs}, ScopesFor(true))
	id := Identity{Scopes: []string{"proposals:write"}}
	assert.True(t, id.Has(ScopeProposals), "a :write scope implies its :read")
	assert.False(t, id.Has(ScopeJobs))
	assert.False(t, Identity{Scopes: []string{"jobs:read"}}.Has("proposals:write"), ":read never implies :write")
}
