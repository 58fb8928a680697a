package extract

// GET /auth/me: the token's scopes and the account it belongs to.

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
)

// Identity is what GET /auth/me says of the token.
type Identity struct {
	Scopes []string
	// Account is the account the token belongs to: its organization ID,
	// or its owner's user ID for a personal account. The quota is the
	// account's: every process on it shares one pace (pace.Board).
	Account string
}

// The scopes an export may need.
const (
	ScopeProposals = "proposals:read" // every export: the interview endpoint and the change feed
	ScopeJobs      = "jobs:read"      // listing the account's jobs (--all-jobs)
)

// ScopesFor is what a run needs: ScopeProposals always, and ScopeJobs when
// it lists the account's jobs. The one home of that fact, for export and
// check alike.
func ScopesFor(listsJobs bool) []string {
	if listsJobs {
		return []string{ScopeProposals, ScopeJobs}
	}
	return []string{ScopeProposals}
}

// Has says whether the token carries scope s; a :write scope implies its
// :read.
func (id Identity) Has(s string) bool {
	return slices.Contains(id.Scopes, s) || slices.Contains(id.Scopes, strings.TrimSuffix(s, ":read")+":write")
}

// CheckToken calls GET /auth/me and checks that the token carries every
// scope in required (a :write scope implies its :read). It returns
// ErrUnauthorized for a rejected token and an error wrapping ErrScopeMissing
// when a scope is missing.
func (c *Client) CheckToken(ctx context.Context, required ...string) (Identity, error) {
	r, err := c.get(ctx, "", c.endpoint("auth", "me"))
	if err != nil {
		return Identity{}, fmt.Errorf("check token with GET /auth/me: %w", unavailableIfTransient(err))
	}
	if r.status != http.StatusOK {
		return Identity{}, fmt.Errorf("check token with GET /auth/me: %w", c.statusError("", r))
	}
	var me struct {
		Token struct {
			ID                  string   `json:"id"`
			Scopes              []string `json:"scopes"`
			OwnerOrganizationID string   `json:"ownerOrganizationId"`
		} `json:"token"`
		Account struct {
			OrganizationID string `json:"organizationId"`
			OwnerUserID    string `json:"ownerUserId"`
		} `json:"account"`
	}
	if err := json.Unmarshal(r.body, &me); err != nil {
		return Identity{}, fmt.Errorf("check token with GET /auth/me: unexpected response: %v", err)
	}
	id := Identity{Scopes: me.Token.Scopes, Account: cmp.Or(me.Account.OrganizationID, me.Token.OwnerOrganizationID, me.Account.OwnerUserID)}
	if id.Account == "" && me.Token.ID != "" {
		id.Account = "token:" + me.Token.ID // no account said: the token's own quota
	}
	c.account.Store(&id.Account)
	var missing []string
	for _, s := range required {
		if !id.Has(s) {
			missing = append(missing, s)
		}
	}
	if len(missing) > 0 {
		return id, fmt.Errorf("%w: it has [%s] but the export needs [%s]; create a token with these scopes",
			ErrScopeMissing, strings.Join(id.Scopes, " "), strings.Join(missing, " "))
	}
	return id, nil
}
