package export

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/interview-export/interview-export/exit"
	"github.com/interview-export/interview-export/extract"
	"github.com/interview-export/interview-export/internal/sanitize"
	"github.com/interview-export/interview-export/load"
)

// CheckRequest is what check verifies: an export's set-up, the token as it
// was read (or why it could not be), and optionally a reader role.
type CheckRequest struct {
	Options Options
	// Token is the API token; TokenErr why it could not be read, and
	// TokenWarning a remark on its file (mode).
	Token        string
	TokenErr     error
	TokenWarning string
	// Reader, when set, is a role to check against ReaderKind.
	Reader     string
	ReaderKind load.ReaderKind
	// JSON prints the results as one JSON document instead of lines.
	JSON bool
}

// Check verifies a set-up without exporting: the token and its scopes,
// the API's base URL, the database (connection, migrations, grants), the
// feed, whether the API announces its rate limit and, asked for, a reader
// role. It prints one line per check (or a JSON document) on env.Stdout and
// returns the error of the exit status: exit.Reported with 2 when a person
// must fix something, 75 when it may pass later.
func Check(ctx context.Context, r CheckRequest, env Env) error {
	k := &checker{env: env, o: r.Options}
	k.o.Client.Token = r.Token
	ok := r.TokenErr == nil
	if !ok {
		k.fail("token", r.TokenErr.Error(), "set OT_API_TOKEN or pass --token-file FILE", false)
	} else if r.TokenWarning != "" {
		k.add(checkResult{Check: "token file", Status: "info", Detail: r.TokenWarning})
	}
	store := k.database(ctx)
	if store != nil {
		defer store.Close()
		if r.Reader != "" {
			k.reader(ctx, store, r.Reader, r.ReaderKind)
		}
	}
	if ok {
		k.api(ctx, store)
	}
	return k.report(r.JSON)
}

// checkResult is one line of check.
type checkResult struct {
	Check string `json:"check"`
	// Status is pass, fail, info or skip.
	Status string `json:"status"`
	Detail string `json:"detail"`
	// Fix says what to do, for a failure.
	Fix string `json:"fix,omitempty"`
	// Later marks a failure that may pass later (exit 75) rather than one a
	// person must fix (exit 2).
	Later bool `json:"may_pass_later,omitempty"`
}

// checker runs the checks of a set-up, in order, and keeps their results.
type checker struct {
	env     Env
	o       Options
	results []checkResult
}

func (k *checker) add(r checkResult) { k.results = append(k.results, r) }

func (k *checker) pass(check, detail string) {
	k.add(checkResult{Check: check, Status: "pass", Detail: detail})
}

func (k *checker) fail(check, detail, fix string, later bool) {
	k.add(checkResult{Check: check, Status: "fail", Detail: sanitize.Secrets(detail, k.env.Secrets), Fix: fix, Later: later})
}

// scopes are what the configured source needs; with none, what any needs.
func (k *checker) scopes() []string {
	s := k.o.Source
	return extract.ScopesFor(s.AllJobs || (s.IDsFile == "" && s.IDsQuery == "" && len(s.Jobs) == 0 && !s.Updates))
}

// api checks the base URL, the token and its scopes, the rate limit
// headers and, for --updates (or no source), one page of the feed.
func (k *checker) api(ctx context.Context, store *load.Store) {
	cfg := k.o.Client
	cfg.MaxAttempts, cfg.UserAgent = 2, cfg.UserAgent+" (check)"
	client, err := extract.NewClient(cfg)
	if err != nil {
		k.fail("api", err.Error(), "fix --api-url or OT_API_URL (for example https://app.opentrain.ai/api/public/v1)", false)
		return
	}
	id, err := client.CheckToken(ctx, k.scopes()...)
	switch {
	case errors.Is(err, extract.ErrAPIUnavailable):
		k.fail("api", fmt.Sprintf("%s cannot be reached: %v", sanitize.URL(cfg.BaseURL), err), "check the network; try again later", true)
		return
	case errors.Is(err, extract.ErrUnauthorized):
		k.pass("api", sanitize.URL(cfg.BaseURL)+" answers like the OpenTrain API")
		k.fail("token", err.Error(), "create a new token (it may be expired or revoked) and set OT_API_TOKEN or --token-file", false)
		return
	case errors.Is(err, extract.ErrScopeMissing):
		k.pass("api", sanitize.URL(cfg.BaseURL)+" answers like the OpenTrain API")
		k.fail("scopes", err.Error(), "create a token with the scopes "+strings.Join(k.scopes(), " "), false)
	case err != nil:
		k.fail("api", fmt.Sprintf("%s does not answer like the OpenTrain API: %v", sanitize.URL(cfg.BaseURL), err),
			"check --api-url or OT_API_URL: it ends in /api/public/v1", false)
		return
	default:
		k.pass("api", sanitize.URL(cfg.BaseURL)+" answers like the OpenTrain API")
		k.pass("token", fmt.Sprintf("accepted, with the scopes %s (this set-up needs %s)", strings.Join(id.Scopes, " "), strings.Join(k.scopes(), " ")))
		if k.o.Source.Updates && !id.Has(extract.ScopeJobs) {
			k.add(checkResult{Check: "scopes", Status: "info", Detail: "without jobs:read, --updates cannot list the jobs: their titles and statuses stay unknown (a warning each night)"})
		}
	}
	if quota, announced := client.Quota(); announced {
		k.add(checkResult{Check: "rate limit", Status: "info", Detail: fmt.Sprintf("announced by the API: %.4g requests/s; --rate 0 paces at it", quota)})
	} else {
		k.add(checkResult{Check: "rate limit", Status: "info", Detail: "not announced in headers: --rate paces the requests, or --rate 0 learns the limit from 429s"})
	}
	k.feed(ctx, client, store)
}

// feed reads one page of /updates from the shard's stored cursor.
func (k *checker) feed(ctx context.Context, client *extract.Client, store *load.Store) {
	s := k.o.Source
	if !s.Updates && (s.IDsFile != "" || s.IDsQuery != "" || len(s.Jobs) > 0 || s.AllJobs) {
		return
	}
	shard := k.o.Run.Shard.String()
	var after int64
	var stored bool
	if store != nil {
		after, stored, _ = store.FeedCursor(ctx, shard)
	}
	n, err := client.FeedPeek(ctx, after, !stored)
	var refused *extract.CursorRefusedError
	switch {
	case errors.As(err, &refused):
		k.fail("feed", fmt.Sprintf("shard %s: %v", shard, err),
			fmt.Sprintf("interview-export feed reset --shard %s --to beginning (or --to latest)", shard), false)
	case errors.Is(err, extract.ErrAPIUnavailable):
		k.fail("feed", err.Error(), "try again later", true)
	case err != nil:
		k.fail("feed", err.Error(), "the token needs proposals:read to read GET /updates", false)
	case stored:
		k.pass("feed", fmt.Sprintf("shard %s: GET /updates answers from the stored cursor %d (%d events on its first page)", shard, after, n))
	default:
		k.pass("feed", fmt.Sprintf("shard %s: GET /updates answers; no cursor is stored, so the first --updates run reads the whole history (%d events on its first page)", shard, n))
	}
}

// database checks the connection, the migrations and the grants, and
// returns the open store (nil when it cannot be had).
func (k *checker) database(ctx context.Context) *load.Store {
	if k.o.DatabaseURL == "" {
		if k.o.DryRun && !k.o.Source.Updates && k.o.Source.IDsQuery == "" {
			return nil
		}
		k.fail("database", "no database configured", "set DATABASE_URL (or the libpq PG* variables) or pass --database-url", false)
		return nil
	}
	store, err := Connect(ctx, k.o.DatabaseURL, 2)
	if err != nil {
		k.fail("database", err.Error(), "check DATABASE_URL: the host, the database name, the user and its password", load.Unavailable(err))
		return nil
	}
	k.pass("database", "connected")
	cur, latest, err := store.SchemaVersion(ctx)
	switch {
	case err != nil:
		k.fail("migrations", err.Error(), "check the role's grants on the schema", load.Unavailable(err))
	case cur < latest && k.o.NoMigrate:
		k.fail("migrations", fmt.Sprintf("the schema is at version %d, this binary needs %d", cur, latest),
			"run 'interview-export migrate' as the tables' owner, or drop --no-migrate", false)
	case cur < latest:
		k.add(checkResult{Check: "migrations", Status: "info", Detail: fmt.Sprintf("%d pending (schema at version %d of %d): export applies them first", latest-cur, cur, latest)})
	default:
		k.pass("migrations", fmt.Sprintf("the schema is at version %d, none pending", cur))
	}
	missing, err := store.MissingGrants(ctx)
	switch {
	case err != nil:
		k.fail("grants", err.Error(), "", load.Unavailable(err))
	case len(missing) > 0:
		k.fail("grants", "the role lacks "+strings.Join(missing, ", "), "GRANT them to the role (see docs/operations.md, Least privilege)", false)
	default:
		k.pass("grants", "the role may read and write every table an export needs, and stage in temporary tables")
	}
	return store
}

// reader checks that role reads no more than kind allows, and says what it
// lacks.
func (k *checker) reader(ctx context.Context, store *load.Store, role string, kind load.ReaderKind) {
	rc, err := store.CheckReader(ctx, role, kind)
	switch {
	case err != nil:
		k.fail("reader", err.Error(), "", load.Unavailable(err))
	case len(rc.Excess) > 0:
		fix := fmt.Sprintf("REVOKE them, or run the SQL of: interview-export grants --role %s --kind %s", role, kind)
		if kind == load.ReadsScores {
			fix += " (if the role may read transcripts, say --reader-kind transcripts)"
		}
		k.fail("reader", fmt.Sprintf("role %s may do more than a %s reader: %s", role, kind, strings.Join(rc.Excess, ", ")), fix, false)
	case len(rc.Missing) > 0:
		k.add(checkResult{Check: "reader", Status: "info", Detail: fmt.Sprintf("role %s reads no more than a %s reader, but lacks %s", role, kind, strings.Join(rc.Missing, ", ")),
			Fix: fmt.Sprintf("interview-export grants --role %s --kind %s", role, kind)})
	default:
		k.pass("reader", fmt.Sprintf("role %s reads what a %s reader does, and no more", role, kind))
	}
}

// report prints one line per check (or a JSON document) and returns the
// exit status's error: a failure a person must fix wins over one that may
// pass later.
func (k *checker) report(asJSON bool) error {
	if asJSON {
		enc := json.NewEncoder(k.env.Stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(k.results); err != nil {
			return err
		}
	} else {
		for _, r := range k.results {
			line := fmt.Sprintf("%-4s  %-12s %s", strings.ToUpper(r.Status), r.Check, r.Detail)
			if r.Fix != "" {
				line += "\n      fix: " + r.Fix
			}
			fmt.Fprintln(k.env.Stdout, line)
		}
	}
	later := false
	for _, r := range k.results {
		if r.Status == "fail" && !r.Later {
			return exit.Reported{Code: exit.Usage}
		}
		later = later || r.Status == "fail"
	}
	if later {
		return exit.Reported{Code: exit.Unavailable}
	}
	return nil
}
