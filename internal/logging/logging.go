package command

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"sync/atomic"

	"github.com/urfave/cli/v2"
)

// newLogger returns the slog logger of the command's flags, which never
// prints a secret: any occurrence of one in a log value becomes [REDACTED].
// Every record carries the attributes set on the returned runAttrs (the
// run's ID and shard, known only once the run has started).
func newLogger(c *cli.Context, w io.Writer, secrets ...string) (*slog.Logger, *runAttrs, error) {
	var level slog.Level
	if err := level.UnmarshalText([]byte(c.String(flagLogLevel))); err != nil {
		return nil, nil, usageError{fmt.Errorf("--log-level %q: want debug, info, warn or error", c.String(flagLogLevel))}
	}
	opts := &slog.HandlerOptions{Level: level, ReplaceAttr: func(_ []string, a slog.Attr) slog.Attr {
		if a.Value.Kind() == slog.KindString {
			a.Value = slog.StringValue(redact(a.Value.String(), secrets))
		}
		return a
	}}
	var h slog.Handler
	switch c.String(flagLogFormat) {
	case "text":
		h = slog.NewTextHandler(w, opts)
	case "json":
		h = slog.NewJSONHandler(w, opts)
	default:
		return nil, nil, usageError{fmt.Errorf("--log-format %q: want text or json", c.String(flagLogFormat))}
	}
	attrs := &runAttrs{}
	return slog.New(runAttrsHandler{Handler: h, attrs: attrs}), attrs, nil
}

// runAttrs are attributes added to every record from the moment they are set.
type runAttrs struct{ p atomic.Pointer[[]slog.Attr] }

// Set replaces the attributes.
func (r *runAttrs) Set(attrs ...slog.Attr) { r.p.Store(&attrs) }

// runAttrsHandler adds the current runAttrs to each record.
type runAttrsHandler struct {
	slog.Handler
	attrs *runAttrs
}

func (h runAttrsHandler) Handle(ctx context.Context, r slog.Record) error {
	if attrs := h.attrs.p.Load(); attrs != nil {
		r = r.Clone()
		have := map[string]bool{}
		r.Attrs(func(a slog.Attr) bool {
			have[a.Key] = true
			return true
		})
		for _, a := range *attrs {
			if !have[a.Key] {
				r.AddAttrs(a)
			}
		}
	}
	return h.Handler.Handle(ctx, r)
}

func (h runAttrsHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	return runAttrsHandler{Handler: h.Handler.WithAttrs(attrs), attrs: h.attrs}
}

func (h runAttrsHandler) WithGroup(name string) slog.Handler {
	return runAttrsHandler{Handler: h.Handler.WithGroup(name), attrs: h.attrs}
}

// errorRecord writes the line that ends a failed command as one JSON record.
func errorRecord(w io.Writer, msg string, code int) {
	slog.New(slog.NewJSONHandler(w, nil)).Error(msg, "exit_status", code)
}
