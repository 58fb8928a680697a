package fakeapi

import (
	"net/http/httptest"
	"testing"
)

// Start serves a fake with cfg for the length of a test and returns it with
// its API base URL. A nil cfg.Scopes gets jobs:read and proposals:read.
func Start(t testing.TB, cfg Config) (*Server, string) {
	t.Helper()
	if cfg.Scopes == nil {
		cfg.Scopes = []string{"jobs:read", "proposals:read"}
	}
	fake := New(cfg)
	srv := httptest.NewServer(fake)
	t.Cleanup(srv.Close)
	return fake, srv.URL + "/api/public/v1"
}
