// Package testlog records what code under test logs, so a test can check
// the level of a line and that no secret was written.
package testlog

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"sync"
)

// Record is one logged line with its attributes (the logger's and the
// line's) rendered as strings.
type Record struct {
	Level slog.Level
	Msg   string
	Attrs map[string]string
}

// String renders the record as one line (for failure messages and for
// searching the whole log for a string).
func (r Record) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s %q", r.Level, r.Msg)
	for k, v := range r.Attrs {
		fmt.Fprintf(&b, " %s=%q", k, v)
	}
	return b.String()
}

// Recorder keeps every record, at every level.
type Recorder struct {
	mu      sync.Mutex
	records []Record
}

// New returns a logger that records into a new Recorder.
func New() (*slog.Logger, *Recorder) {
	r := &Recorder{}
	return slog.New(&handler{r: r}), r
}

// Records returns the records with message msg ("" for all).
func (r *Recorder) Records(msg string) []Record {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []Record
	for _, rec := range r.records {
		if msg == "" || rec.Msg == msg {
			out = append(out, rec)
		}
	}
	return out
}

// Contains reports whether any record mentions s in its message or an
// attribute.
func (r *Recorder) Contains(s string) bool {
	for _, rec := range r.Records("") {
		if strings.Contains(rec.String(), s) {
			return true
		}
	}
	return false
}

type handler struct {
	r     *Recorder
	attrs []slog.Attr
	group string
}

func (h *handler) Enabled(context.Context, slog.Level) bool { return true }

func (h *handler) Handle(_ context.Context, rec slog.Record) error {
	out := Record{Level: rec.Level, Msg: rec.Message, Attrs: map[string]string{}}
	for _, a := range h.attrs {
		out.Attrs[a.Key] = a.Value.String()
	}
	rec.Attrs(func(a slog.Attr) bool {
		key := a.Key
		if h.group != "" {
			key = h.group + "." + key
		}
		out.Attrs[key] = a.Value.String()
		return true
	})
	h.r.mu.Lock()
	h.r.records = append(h.r.records, out)
	h.r.mu.Unlock()
	return nil
}

func (h *handler) WithAttrs(attrs []slog.Attr) slog.Handler {
	n := *h
	n.attrs = append(append([]slog.Attr(nil), h.attrs...), attrs...)
	return &n
}

func (h *handler) WithGroup(name string) slog.Handler {
	n := *h
	if n.group != "" {
		name = n.group + "." + name
	}
	n.group = name
	return &n
}
