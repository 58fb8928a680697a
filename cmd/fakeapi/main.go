// Command fakeapi serves package fakeapi's fake of the OpenTrain public API
// on a local address, for the demo and for trying interview-export by hand.
//
//	go run ./cmd/fakeapi --addr 127.0.0.1:8089 --write-ids ids.txt
//
// It prints the API base URL to use as OT_API_URL and serves until SIGINT
// or SIGTERM.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/interview-export/interview-export/internal/fakeapi"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:]); errors.Is(err, flag.ErrHelp) {
		return // --help printed the usage: not an error
	} else if err != nil {
		fmt.Fprintln(os.Stderr, "fakeapi:", err)
		os.Exit(2)
	}
}

func run(ctx context.Context, args []string) error {
	cfg := fakeapi.DefaultConfig()
	fs := flag.NewFlagSet("fakeapi", flag.ContinueOnError)
	addr := fs.String("addr", "127.0.0.1:8089", "listen address (port 0: any free port)")
	basePath := fs.String("base-path", "/api/public/v1", "path prefix of the API")
	writeIDs := fs.String("write-ids", "", "write the data set's proposal IDs to this file, one per line")
	urlFile := fs.String("url-file", "", "write the API base URL to this file once listening")
	scopes := fs.String("scopes", strings.Join(cfg.Scopes, ","), "comma-separated scopes of the token")
	fs.Uint64Var(&cfg.Seed, "seed", cfg.Seed, "seed of the generated data")
	fs.StringVar(&cfg.Token, "token", cfg.Token, "the one valid bearer token")
	fs.IntVar(&cfg.Jobs, "jobs", cfg.Jobs, "jobs in the data set")
	fs.IntVar(&cfg.ProposalsPerJob, "proposals-per-job", cfg.ProposalsPerJob, "proposals per job")
	fs.IntVar(&cfg.MeanMessages, "mean-messages", cfg.MeanMessages, "average messages per transcript")
	fs.Float64Var(&cfg.NoInterviewShare, "no-interview-share", cfg.NoInterviewShare, "share of proposals without an interview (404)")
	fs.Float64Var(&cfg.ForbiddenShare, "forbidden-share", cfg.ForbiddenShare, "share of proposals answered 403")
	fs.Float64Var(&cfg.InvalidShare, "invalid-share", cfg.InvalidShare, "share of proposals with a schema-breaking body")
	fs.DurationVar(&cfg.Latency, "latency", 0, "added latency per response (plus up to as much jitter)")
	fs.Float64Var(&cfg.RateLimit, "rate-limit", 0, "requests per second per token before 429 (0: none)")
	fs.Float64Var(&cfg.RateBurst, "rate-burst", 0, "the rate limit's bucket size (0: the rate)")
	fs.BoolVar(&cfg.RateLimitHeaders, "rate-limit-headers", false, "announce the rate limit in RateLimit-Policy and RateLimit-Limit headers")
	fs.Float64Var(&cfg.LaterRateLimit, "later-rate-limit", 0, "from --rate-limit-from after the first interview request, this rate limit instead (0: none)")
	fs.DurationVar(&cfg.RateLimitFrom, "rate-limit-from", 0, "when --later-rate-limit takes over")
	fs.DurationVar(&cfg.StormFrom, "storm-from", 0, "from this long after the first interview request, answer every interview request 429 (Retry-After: 1)")
	fs.DurationVar(&cfg.StormFor, "storm-for", 0, "for this long (0: no storm)")
	fs.Float64Var(&cfg.Faults.BareTooManyIDs, "fault-bare-429-ids", 0, "share of IDs whose first one or two attempts are answered 429 without Retry-After")
	fs.Float64Var(&cfg.Faults.ServerError, "fault-5xx", 0, "share of attempts answered 500")
	fs.Float64Var(&cfg.Faults.HTML502, "fault-html502", 0, "share of attempts answered 502 with an HTML page")
	fs.Float64Var(&cfg.Faults.Drop, "fault-drop", 0, "share of attempts whose connection is dropped")
	fs.Float64Var(&cfg.Faults.Truncate, "fault-truncate", 0, "share of attempts with a truncated body")
	fs.Float64Var(&cfg.Faults.Stall, "fault-stall", 0, "share of attempts that stall")
	fs.Float64Var(&cfg.Faults.TooMany, "fault-429", 0, "share of attempts answered 429")
	fs.DurationVar(&cfg.Faults.StallFor, "stall-for", 10*time.Second, "length of a stall")
	fs.IntVar(&cfg.Faults.OnlyFirst, "faults-only-first", 0, "inject faults only on each ID's first N attempts (0: all)")
	fs.Int64Var(&cfg.RevokeAfter, "revoke-after", 0, "revoke the token after N interview requests (0: never)")
	epoch := fs.Int64("epoch", 0, "upstream data state: later epochs edit, shrink, grow and remove some transcripts")
	fs.BoolVar(&cfg.ExtraMembers, "extra-members", false, "send members the documented schema does not name (language, durationSeconds, tokens)")
	fs.BoolVar(&cfg.FeedRepeat, "feed-repeat", false, "deliver the change feed at least once: each page repeats the event at its cursor")
	var flow arrivals
	fs.DurationVar(&flow.every, "arrive-every", 0, "add a new proposal to the feed this often (0: never), as candidates keep applying")
	fs.StringVar(&flow.webhookURL, "webhook-url", "", "POST a signed delivery of each new proposal's event to this URL")
	fs.StringVar(&flow.secretFile, "webhook-secret-file", "", "the webhook secret (whsec_…) to sign deliveries with")
	fs.Float64Var(&flow.duplicates, "webhook-duplicate-share", 0, "share of deliveries sent twice (same X-OpenTrain-Delivery)")
	fs.Float64Var(&flow.forged, "webhook-forged-share", 0, "share of deliveries signed with a wrong secret (a receiver must refuse them)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	cfg.Scopes = strings.Split(*scopes, ",")
	srv := fakeapi.New(cfg)
	srv.SetEpoch(*epoch)

	if *writeIDs != "" {
		ids := srv.ProposalIDs()
		if err := os.WriteFile(*writeIDs, []byte(strings.Join(ids, "\n")+"\n"), 0o644); err != nil {
			return err
		}
	}
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return err
	}
	base := "http://" + ln.Addr().String() + strings.TrimRight(*basePath, "/")
	if *urlFile != "" {
		if err := os.WriteFile(*urlFile, []byte(base+"\n"), 0o644); err != nil {
			return err
		}
	}
	fmt.Println(base)
	if err := flow.start(ctx, srv); err != nil {
		return err
	}
	hs := &http.Server{Handler: srv, ReadHeaderTimeout: 10 * time.Second}
	go func() {
		<-ctx.Done()
		shutdown, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		hs.Shutdown(shutdown)
	}()
	if err := hs.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// arrivals are proposals that keep arriving, each announced by a signed
// webhook delivery when a URL is given (some sent twice, some forged).
type arrivals struct {
	every              time.Duration
	webhookURL         string
	secretFile         string
	duplicates, forged float64
}

func (a arrivals) start(ctx context.Context, srv *fakeapi.Server) error {
	if a.every <= 0 {
		return nil
	}
	var secret []byte
	if a.webhookURL != "" {
		raw, err := os.ReadFile(a.secretFile)
		if err != nil {
			return fmt.Errorf("--webhook-url needs --webhook-secret-file: %w", err)
		}
		secret = []byte(strings.TrimSpace(string(raw)))
	}
	go func() {
		tick := time.NewTicker(a.every)
		defer tick.Stop()
		client := &http.Client{Timeout: 5 * time.Second}
		for n := 0; ; n++ {
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
			}
			srv.AddProposals(1)
			if a.webhookURL == "" {
				continue
			}
			d := fakeapi.Delivery{Event: srv.LastEvent(), ID: fmt.Sprint("delivery-", n), Forged: rand.Float64() < a.forged}
			fakeapi.Deliver(client, a.webhookURL, secret, d)
			if rand.Float64() < a.duplicates {
				fakeapi.Deliver(client, a.webhookURL, secret, d)
			}
		}
	}()
	return nil
}
