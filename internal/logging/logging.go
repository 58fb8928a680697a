// Package logging makes the run's slog logger: text or JSON on one writer,
// never a secret in a value, and attributes (the run's ID and shard) that
// join every record from the moment they are known. It owns no flags: the
// command line parses --log-level and --log-format and passes them in.
package logging

import (
	"context"
	"io"
	"log/slog"
	"sync/atomic"

	"github.com/interview-export/interview-export/internal/sanitize"
)

// Options are the logger's level and format.
type Options struct {
	Level slog.Level
	JSON  bool
}

// New returns the logger, which never prints a secret: any occurrence of
// one in a string value becomes [REDACTED]. Every record carries the
// attributes set on the returned Attrs.
func New(w io.Writer, o Options, secrets ...string) (*slog.Logger, *Attrs) {
	opts := &slog.HandlerOptions{Level: o.Level, ReplaceAttr: func(_ []string, a slog.Attr) slog.Attr {
		if a.Value.Kind() == slog.KindString {
			a.Value = slog.StringValue(sanitize.Secrets(a.Value.String(), secrets))
		}
		return a
	}}
	var h slog.Handler = slog.NewTextHandler(w, opts)
	if o.JSON {
		h = slog.NewJSONHandler(w, opts)
	}
	attrs := &Attrs{}
	return slog.New(attrsHandler{Handler: h, attrs: attrs}), attrs
}

// Attrs are attributes added to every record from the moment they are set.
type Attrs struct{ p atomic.Pointer[[]slog.Attr] }

// Set replaces the attributes.
func (r *Attrs) Set(attrs ...slog.Attr) { r.p.Store(&attrs) }

// attrsHandler adds the current Attrs to each record.
type attrsHandler struct {
	slog.Handler
	attrs *Attrs
}

func (h attrsHandler) Handle(ctx context.Context, r slog.Record) error {
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

func (h attrsHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	return attrsHandler{Handler: h.Handler.WithAttrs(attrs), attrs: h.attrs}
}

func (h attrsHandler) WithGroup(name string) slog.Handler {
	return attrsHandler{Handler: h.Handler.WithGroup(name), attrs: h.attrs}
}

// ErrorRecord writes the line that ends a failed command as one JSON record.
func ErrorRecord(w io.Writer, msg string, code int) {
	slog.New(slog.NewJSONHandler(w, nil)).Error(msg, "exit_status", code)
}
