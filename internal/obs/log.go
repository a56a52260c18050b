package obs

import (
	"context"
	"log/slog"
	"time"
)

type logAttrsKey struct{}

// WithLogAttrs returns ctx carrying attrs (key, value pairs as slog takes them) that every log
// line written with that context gets (logger.InfoContext(ctx, …)) when the logger's handler
// comes from NewLogger or ContextHandler. The OCPP edge puts station and message_id here, so
// the lines of a use case run for a station's message name both.
func WithLogAttrs(ctx context.Context, args ...any) context.Context {
	old, _ := ctx.Value(logAttrsKey{}).([]slog.Attr)
	r := slog.NewRecord(time.Time{}, 0, "", 0)
	r.Add(args...)
	attrs := make([]slog.Attr, 0, len(old)+r.NumAttrs())
	attrs = append(attrs, old...)
	r.Attrs(func(a slog.Attr) bool {
		for i := range attrs {
			if attrs[i].Key == a.Key { // a newer value replaces an older one
				attrs[i] = a
				return true
			}
		}
		attrs = append(attrs, a)
		return true
	})
	return context.WithValue(ctx, logAttrsKey{}, attrs)
}

// LogAttrs returns the attributes WithLogAttrs put in ctx.
func LogAttrs(ctx context.Context) []slog.Attr {
	a, _ := ctx.Value(logAttrsKey{}).([]slog.Attr)
	return a
}

// ContextHandler adds the attributes of WithLogAttrs to every record logged with a context,
// except those whose key the record already has.
func ContextHandler(h slog.Handler) slog.Handler {
	if _, ok := h.(ctxHandler); ok {
		return h
	}
	return ctxHandler{h}
}

type ctxHandler struct{ slog.Handler }

func (h ctxHandler) Handle(ctx context.Context, r slog.Record) error {
	if ctx != nil {
		if extra := LogAttrs(ctx); len(extra) > 0 {
			have := map[string]bool{}
			r.Attrs(func(a slog.Attr) bool { have[a.Key] = true; return true })
			for _, a := range extra {
				if !have[a.Key] {
					r.AddAttrs(a)
				}
			}
		}
	}
	return h.Handler.Handle(ctx, r)
}

func (h ctxHandler) WithAttrs(as []slog.Attr) slog.Handler {
	return ctxHandler{h.Handler.WithAttrs(as)}
}

func (h ctxHandler) WithGroup(name string) slog.Handler { return ctxHandler{h.Handler.WithGroup(name)} }
