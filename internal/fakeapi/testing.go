package fakeapi

import (
	"net/http/httptest"
	"testing"
	"time"
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

// Await waits until cond holds of the fake's Stats, checking it after each
// response the fake serves; it fails the test when cond still does not hold
// after a minute (a hang, not a measurement).
func (s *Server) Await(t testing.TB, what string, cond func(Stats) bool) {
	t.Helper()
	limit := time.NewTimer(time.Minute)
	defer limit.Stop()
	for {
		served := s.Served()
		if cond(s.Stats()) {
			return
		}
		select {
		case <-served:
		case <-limit.C:
			t.Fatalf("the fake API never saw %s", what)
		}
	}
}

// Reached returns a channel closed once the fake has received n interview
// requests, for a goroutine that must not fail the test itself.
func (s *Server) Reached(n int64) <-chan struct{} {
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			served := s.Served()
			if s.interviewRequests.Load() >= n {
				return
			}
			<-served
		}
	}()
	return done
}
