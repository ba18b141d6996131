package smtp

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	gosmtp "github.com/emersion/go-smtp"
)

// TestSendTrackedBeforeDot: the hook runs once, after the message and
// before the dot; its error aborts the transaction so the server has
// nothing.
func TestSendTrackedBeforeDot(t *testing.T) {
	ts, _ := startServer(t, serverOpts{})
	cfg := Config{Addr: ts.Addr, Security: SecurityNone, Timeout: 5 * time.Second}
	calls := 0
	err := SendTracked(context.Background(), cfg, "a@example.test", []string{"b@example.test"}, strings.NewReader(testMsg),
		func() error { calls++; return nil })
	if err != nil || calls != 1 || len(ts.messages()) != 1 {
		t.Fatalf("tracked send: err %v, %d hook calls, %d messages", err, calls, len(ts.messages()))
	}
	stop := errors.New("store down")
	err = SendTracked(context.Background(), cfg, "a@example.test", []string{"b@example.test"}, strings.NewReader(testMsg),
		func() error { return stop })
	if !errors.Is(err, stop) {
		t.Fatalf("hook failure: %v, want the hook's error", err)
	}
	// The aborted session never saw the dot, so it can never add a
	// message; a normal send after it proves the server is fine.
	if err := Send(context.Background(), cfg, "a@example.test", []string{"b@example.test"}, strings.NewReader(testMsg)); err != nil {
		t.Fatal(err)
	}
	if n := len(ts.messages()); n != 2 {
		t.Fatalf("server holds %d messages, want 2 (the aborted one never completed)", n)
	}
}

// TestSendUncertainAfterDot: no reply to the final dot is Uncertain; a
// reply, even a refusal, is not.
func TestSendUncertainAfterDot(t *testing.T) {
	ts, _ := startServer(t, serverOpts{})
	ts.hold = make(chan struct{})
	defer close(ts.hold)
	cfg := Config{Addr: ts.Addr, Security: SecurityNone, Timeout: 5 * time.Second}
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	err := Send(ctx, cfg, "a@example.test", []string{"b@example.test"}, strings.NewReader(testMsg))
	var se *Error
	if !errors.As(err, &se) || !se.Uncertain {
		t.Fatalf("stalled answer to the dot: %v, want an Uncertain *Error", err)
	}

	ts2, _ := startServer(t, serverOpts{})
	ts2.dataErr = &gosmtp.SMTPError{Code: 554, Message: "no"}
	err = Send(context.Background(), cfg2(ts2.Addr), "a@example.test", []string{"b@example.test"}, strings.NewReader(testMsg))
	if !errors.As(err, &se) || se.Uncertain || se.Code != 554 {
		t.Fatalf("refused after the dot: %+v", err)
	}
	// Failures before DATA are never uncertain.
	err = Send(context.Background(), cfg2("127.0.0.1:1"), "a@example.test", []string{"b@example.test"}, strings.NewReader(testMsg))
	if !errors.As(err, &se) || se.Uncertain {
		t.Fatalf("connect failure: %+v", err)
	}
}

func cfg2(addr string) Config {
	return Config{Addr: addr, Security: SecurityNone, Timeout: 5 * time.Second}
}
