package loadtest

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/idlebridge/idlebridge/upstream/imap"
)

// deliverer APPENDs the run's messages, one IMAP session per target user
// (opened before the first delivery so login time is not measured).
type deliverer struct {
	o        Options
	rec      *recorder
	subject  func(seq int) string
	sessions map[int]*imap.Session
	errs     atomic.Int64
}

// targets are the users that receive mail: round robin over all users,
// or the first Deliveries of them when there are fewer deliveries.
func targets(o Options) int { return min(o.Users, o.Deliveries) }

func (o Options) imapConfig(user int) imap.Config {
	return imap.Config{Addr: o.IMAPAddr, Security: imap.SecurityNone, Username: o.userName(user), Password: o.Password}
}

func newDeliverer(ctx context.Context, o Options, rec *recorder, subject func(int) string) (*deliverer, error) {
	d := &deliverer{o: o, rec: rec, subject: subject, sessions: map[int]*imap.Session{}}
	for u := range targets(o) {
		s, err := imap.Dial(ctx, o.imapConfig(u))
		if err != nil {
			d.close()
			return nil, fmt.Errorf("delivery session for %s: %w", o.userName(u), err)
		}
		d.sessions[u] = s
	}
	return d, nil
}

func (d *deliverer) close() {
	for _, s := range d.sessions {
		_ = s.Close()
	}
}

// run delivers Deliveries messages at Rate per second. APPENDs are sent
// one after the other from one goroutine: at the rates that matter here
// (a few per second) each completes long before the next tick; a slower
// server lowers the effective rate, which the report shows.
func (d *deliverer) run(ctx context.Context, devicesOf func(user int) int) {
	interval := time.Duration(float64(time.Second) / d.o.Rate)
	next := time.Now()
	for seq := range d.o.Deliveries {
		sleepCtx(ctx, time.Until(next))
		if ctx.Err() != nil {
			return
		}
		next = next.Add(interval)
		user := seq % targets(d.o)
		msg := message(d.subject(seq), d.o.userName(user))
		del := d.rec.startDelivery(seq, user, devicesOf(user), time.Now())
		_, err := d.sessions[user].Append(ctx, "INBOX", nil, time.Time{}, bytes.NewReader(msg), int64(len(msg)))
		d.rec.finishDelivery(del, time.Now(), err == nil)
		if err != nil {
			d.errs.Add(1)
		}
	}
}

// message is a small RFC 5322 message with CRLF line ends.
func message(subject, to string) []byte {
	now := time.Now()
	s := fmt.Sprintf("From: Load <load@example.test>\nTo: <%s>\nSubject: %s\nDate: %s\nMessage-ID: <%d.load@example.test>\nContent-Type: text/plain; charset=utf-8\n\npush latency probe\n",
		to, subject, now.Format(time.RFC1123Z), now.UnixNano())
	return []byte(strings.ReplaceAll(s, "\n", "\r\n"))
}

// baseline runs one plain IMAP IDLE client per target user on the same
// INBOX the devices watch: the time from APPEND completion to the
// client's change notice is what a desktop mail client would see, and
// the floor for the bridge. Same users rather than separate ones, so both
// paths hear of the very same APPEND; Dovecot serves each IDLE session
// independently, so they do not slow each other.
type baseline struct {
	o          Options
	rec        *recorder
	reconnects atomic.Int64
	firstErr   atomic.Value
}

// start launches the watchers and returns once all are listening.
func (b *baseline) start(ctx context.Context, wg *sync.WaitGroup) error {
	var ready sync.WaitGroup
	n := targets(b.o)
	ready.Add(n)
	for u := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			b.watch(ctx, u, &ready)
		}()
	}
	done := make(chan struct{})
	go func() { ready.Wait(); close(done) }()
	select {
	case <-done:
		return nil
	case <-time.After(60 * time.Second):
		return fmt.Errorf("baseline IDLE clients not ready after 60 s: %v", b.firstErr.Load())
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (b *baseline) watch(ctx context.Context, user int, ready *sync.WaitGroup) {
	var once sync.Once
	opts := imap.WatchOptions{OnReady: func(imap.Status) { once.Do(ready.Done) }}
	for ctx.Err() == nil {
		err := imap.WatchWith(ctx, b.o.imapConfig(user), "INBOX", opts, func() {
			b.rec.baselineChange(user, time.Now())
		})
		if ctx.Err() != nil {
			return
		}
		b.reconnects.Add(1)
		b.firstErr.CompareAndSwap(nil, fmt.Sprint(err))
		sleepCtx(ctx, time.Second)
	}
}
