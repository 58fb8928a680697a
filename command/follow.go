package command

import (
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/interview-export/interview-export/export"
)

// validateFollow checks export --updates --follow's own settings.
func validateFollow(f export.Follow, o export.Options) error {
	switch {
	case !o.Source.Updates:
		return errors.New("--follow follows the change feed: pass --updates too")
	case o.DryRun:
		return errors.New("--follow writes as it goes: it does not take --dry-run")
	case f.PollInterval < time.Second:
		return fmt.Errorf("--poll-interval %s: want 1s or more", f.PollInterval)
	case f.WebhookListen != "" && len(f.Secret) == 0:
		return errors.New("--webhook-listen verifies every delivery: give the secret (whsec_…) with --webhook-secret-file FILE or INTERVIEW_EXPORT_WEBHOOK_SECRET")
	case f.WebhookListen != "" && f.Listen != "":
		return errors.New("--webhook-listen serves /metrics, /healthz and /readyz too: drop --listen")
	}
	return nil
}

// readSecret reads the webhook secret from path, else the environment.
func readSecret(path string, getenv func(string) string) ([]byte, error) {
	secret := strings.TrimSpace(getenv("INTERVIEW_EXPORT_WEBHOOK_SECRET"))
	if path != "" {
		raw, err := os.ReadFile(path)
		if err != nil {
			return nil, fmt.Errorf("read --webhook-secret-file: %w", err)
		}
		secret = strings.TrimSpace(string(raw))
	}
	if secret == "" {
		return nil, nil
	}
	return []byte(secret), nil
}
