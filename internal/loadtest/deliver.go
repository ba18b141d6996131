package loadtest

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"math/rand/v2"
	"os"
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
	pick     *rand.Rand // which folder each delivery goes to
}

// targets are the users that receive mail: round robin over all users,
// or the first Deliveries of them when there are fewer deliveries.
func targets(o Options) int { return min(o.Users, o.Deliveries) }

func (o Options) imapConfig(user int, tc *tls.Config) imap.Config {
	c := imap.Config{Addr: o.IMAPAddr, Security: imap.SecurityNone, Username: o.userName(user), Password: o.Password}
	if o.TLS {
		c.Security, c.TLSConfig = imap.SecurityTLS, tc
	}
	return c
}

// tlsConfig trusts CAFile (nil: the system roots).
func (o Options) tlsConfig() (*tls.Config, error) {
	if !o.TLS || o.CAFile == "" {
		return nil, nil
	}
	pem, err := os.ReadFile(o.CAFile)
	if err != nil {
		return nil, fmt.Errorf("reading the CA: %w", err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		return nil, fmt.Errorf("%s holds no PEM certificate", o.CAFile)
	}
	return &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}, nil
}

func newDeliverer(ctx context.Context, o Options, rec *recorder, subject func(int) string) (*deliverer, error) {
	d := &deliverer{o: o, rec: rec, subject: subject, sessions: map[int]*imap.Session{},
		pick: rand.New(rand.NewPCG(o.Seed, 0x1db))}
	tc, err := o.tlsConfig()
	if err != nil {
		return nil, err
	}
	for u := range targets(o) {
		s, err := imap.Dial(ctx, o.imapConfig(u, tc))
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
		folder := d.pick.IntN(len(d.o.mailboxes()))
		msg := message(d.subject(seq), d.o.userName(user))
		del := d.rec.startDelivery(seq, user, folder, devicesOf(user), time.Now())
		_, err := d.sessions[user].Append(ctx, d.o.mailboxes()[folder], nil, time.Time{}, bytes.NewReader(msg), int64(len(msg)))
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

// baseline runs one plain IMAP IDLE client per target user and watched
// folder, on the same mailboxes the devices watch: the time from APPEND completion to the
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
	tc, err := b.o.tlsConfig()
	if err != nil {
		return err
	}
	var ready sync.WaitGroup
	n := targets(b.o)
	ready.Add(n * len(b.o.mailboxes()))
	for u := range n {
		for f := range b.o.mailboxes() {
			wg.Add(1)
			go func() {
				defer wg.Done()
				b.watch(ctx, u, f, tc, &ready)
			}()
		}
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

func (b *baseline) watch(ctx context.Context, user, folder int, tc *tls.Config, ready *sync.WaitGroup) {
	var once sync.Once
	opts := imap.WatchOptions{OnReady: func(imap.Status) { once.Do(ready.Done) }}
	for ctx.Err() == nil {
		err := imap.WatchWith(ctx, b.o.imapConfig(user, tc), b.o.mailboxes()[folder], opts, func() {
			b.rec.baselineChange(user, folder, time.Now())
		})
		if ctx.Err() != nil {
			return
		}
		b.reconnects.Add(1)
		b.firstErr.CompareAndSwap(nil, fmt.Sprint(err))
		sleepCtx(ctx, time.Second)
	}
}
