package imap

import (
	"context"
	"errors"
	"fmt"
	"runtime/debug"
	"slices"
	"strings"
	"sync"
	"time"
)

// MailboxWatch watches all of one user's watched mailboxes, and the
// mailbox list, on ONE connection of its own (never a pool one):
//
//   - with NOTIFY (RFC 5465), one NOTIFY SET for the personal namespace:
//     the server reports new and expunged messages and flag changes of
//     every mailbox (untagged STATUS) and created, renamed and deleted
//     mailboxes (untagged LIST) as they happen, with no IDLE and nothing
//     sent by the client but a NOOP every KeepAlive;
//   - without (or with NoNotify), IDLE on the first mailbox of the set
//     (the caller puts INBOX first), left every PollInterval to STATUS the
//     others and every HierarchyInterval to LIST, then entered again.
//
// Providers cap connections per account and count the user's other mail
// clients; one per watched user is what a phone's own mail app costs.
type MailboxWatch struct {
	cfg  Config
	opts MailboxWatchOptions

	mu        sync.Mutex
	mailboxes []string // UTF-8 names, primary first
	gen       uint64   // bumped by SetMailboxes
	conn      *watchConn
}

// Watch modes reported to OnReady.
const (
	WatchModeNotify = "notify" // NOTIFY covers every mailbox
	WatchModeIdle   = "idle"   // IDLE on the primary, STATUS polls for the rest
	WatchModePoll   = "poll"   // no IDLE either: NOOP and STATUS polls
)

// MailboxWatchOptions tune a MailboxWatch. Zero durations take defaults.
type MailboxWatchOptions struct {
	// NoNotify never uses NOTIFY, even when offered (operators whose
	// server's NOTIFY misbehaves; tests of the fallback).
	NoNotify bool
	// PollInterval is how often, without NOTIFY, the mailboxes other than
	// the primary are checked with STATUS (default DefaultPollInterval).
	PollInterval time.Duration
	// HierarchyInterval is how often, without NOTIFY, the mailbox list is
	// compared (default one minute; negative: never).
	HierarchyInterval time.Duration
	// IdleRestart re-issues IDLE this often (default DefaultIdleRestart).
	IdleRestart time.Duration
	// KeepAlive is the NOOP period with NOTIFY (default 20 minutes, under
	// the 30-minute autologout of RFC 9051).
	KeepAlive time.Duration
	// OnReady is called when a connection is watching, with its mode:
	// changes before it are not reported, so the caller re-checks
	// everything then (and after every reconnection).
	OnReady func(mode string)
	// OnChange is called with a watched mailbox (UTF-8) that changed;
	// OnHierarchy when the mailbox list may have. Both are called from
	// Run's goroutine, after the burst of responses that caused them.
	OnChange    func(mailbox string)
	OnHierarchy func()
	// OnStatus, when set, is called just before each OnChange with what
	// this connection knows of the mailbox now: known is true when its
	// STATUS items, merged over the connection's responses, hold
	// UIDVALIDITY, UIDNEXT, MESSAGES and HIGHESTMODSEQ (NOTIFY sends only
	// the items that changed, over the full STATUS NOTIFY SET asked for at
	// the start; a poll sends them all); false for an IDLE mailbox's
	// EXISTS/FETCH/EXPUNGE or a newly covered mailbox. live tells a NOTIFY
	// connection, which hears of every change as it happens. With NOTIFY
	// it is also called, before OnReady, for each mailbox NOTIFY SET
	// reported: OnReady's re-checks may then use it.
	OnStatus func(mailbox string, st Status, known, live bool)
}

// NewMailboxWatch makes a watcher; Run connects.
func NewMailboxWatch(cfg Config, opts MailboxWatchOptions) *MailboxWatch {
	if opts.PollInterval <= 0 {
		opts.PollInterval = DefaultPollInterval
	}
	if opts.HierarchyInterval == 0 {
		opts.HierarchyInterval = time.Minute
	}
	if opts.IdleRestart <= 0 {
		opts.IdleRestart = DefaultIdleRestart
	}
	if opts.KeepAlive <= 0 {
		opts.KeepAlive = 20 * time.Minute
	}
	return &MailboxWatch{cfg: cfg, opts: opts}
}

// SetMailboxes replaces the watched set (primary first) without a new
// connection; mailboxes new to the set are reported once, as a change.
func (w *MailboxWatch) SetMailboxes(names []string) {
	w.mu.Lock()
	if slices.Equal(names, w.mailboxes) {
		w.mu.Unlock()
		return
	}
	w.mailboxes = slices.Clone(names)
	w.gen++
	c := w.conn
	w.mu.Unlock()
	if c != nil {
		c.wake()
	}
}

func (w *MailboxWatch) watched() ([]string, uint64) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.mailboxes, w.gen
}

// Run holds one connection until ctx ends (nil) or the connection fails
// (an error; the caller reconnects with backoff and Runs again).
func (w *MailboxWatch) Run(ctx context.Context) error { return w.run(ctx, nil) }

// Start is Run without the wait: it returns at once and calls done, once,
// with what Run would have returned. With NOTIFY (on Linux) the
// connection holds no goroutine while the server has nothing to say
// (mailwatch_park.go).
func (w *MailboxWatch) Start(ctx context.Context, done func(error)) {
	go func() {
		var err error
		func() {
			defer func() {
				if v := recover(); v != nil {
					err = fmt.Errorf("imap watcher: panic: %v\n%s", v, debug.Stack())
				}
			}()
			err = w.run(ctx, done)
		}()
		if !errors.Is(err, errParked) {
			done(err)
		}
	}()
}

// run is Run; with done set it may return errParked, and then done is
// called later, by whichever goroutine ends the connection.
func (w *MailboxWatch) run(ctx context.Context, done func(error)) error {
	c, err := dialWatch(ctx, w.cfg)
	if err != nil {
		return err
	}
	w.mu.Lock()
	w.conn = c
	w.mu.Unlock()
	stop := context.AfterFunc(ctx, c.wake)
	finish := func(err error) error {
		stop()
		w.mu.Lock()
		w.conn = nil
		w.mu.Unlock()
		if ctx.Err() != nil {
			c.logout()
		} else {
			c.close()
		}
		return w.result(ctx, err)
	}
	if c.has("NOTIFY") && !w.opts.NoNotify {
		err = w.runNotify(ctx, c, done, finish)
		if errors.Is(err, errParked) {
			return err
		}
		if !errors.Is(err, errNotifyRefused) {
			return finish(err)
		}
	}
	return finish(w.runIdle(ctx, c))
}

func (w *MailboxWatch) result(ctx context.Context, err error) error {
	if ctx.Err() != nil {
		return nil
	}
	return err
}

// errNotifyRefused: the server offers NOTIFY but refused ours; the same
// connection falls back to IDLE.
var errNotifyRefused = errors.New("imap: NOTIFY refused")

// changes collects what a burst of responses reported.
type changes struct {
	mailboxes map[string]bool // wire names
	hierarchy bool
	overflow  bool // NOTIFICATIONOVERFLOW: the server stopped telling
	// items are the STATUS items each mailbox (wire name) was last
	// reported with, merged over the connection's life; a mailbox whose
	// state an untagged response changed without STATUS is dropped.
	items map[string]map[string]uint64
	live  bool // a NOTIFY connection
}

func newChanges(live bool) *changes {
	return &changes{mailboxes: map[string]bool{}, items: map[string]map[string]uint64{}, live: live}
}

// status is what ch knows of a mailbox (wire name).
func (ch *changes) status(wire string) (Status, bool) {
	it := ch.items[wire]
	uv, ok1 := it["UIDVALIDITY"]
	next, ok2 := it["UIDNEXT"]
	msgs, ok3 := it["MESSAGES"]
	ms, ok4 := it["HIGHESTMODSEQ"]
	if !(ok1 && ok2 && ok3 && ok4) {
		return Status{}, false
	}
	return Status{UIDValidity: uint32(uv), UIDNext: uint32(next), Messages: uint32(msgs), Unseen: uint32(it["UNSEEN"]), HighestModSeq: ms}, true
}

// mergeStatus records a STATUS response's items.
func (ch *changes) mergeStatus(st *mailboxStatus) {
	it := ch.items[st.Mailbox]
	if it == nil {
		it = map[string]uint64{}
		ch.items[st.Mailbox] = it
	}
	for k, v := range st.Items {
		it[k] = v
	}
}

// tell reports a changed mailbox: OnStatus with what ch knows of it,
// then OnChange.
func (w *MailboxWatch) tell(ch *changes, name, wire string) {
	if w.opts.OnStatus != nil {
		st, ok := Status{}, false
		if ch != nil {
			st, ok = ch.status(wire)
		}
		w.opts.OnStatus(name, st, ok, ch != nil && ch.live)
	}
	if w.opts.OnChange != nil {
		w.opts.OnChange(name)
	}
}

func (w *MailboxWatch) announce(ch *changes, watched []string) {
	if ch.hierarchy && w.opts.OnHierarchy != nil {
		w.opts.OnHierarchy()
	}
	ch.hierarchy = false
	if len(ch.mailboxes) == 0 {
		return
	}
	for wire := range ch.mailboxes {
		name, err := decodeMUTF7(wire)
		if err != nil {
			name = wire // UTF8=ACCEPT servers, or a name we cannot read
		}
		if slices.Contains(watched, name) || strings.EqualFold(name, "INBOX") && slices.ContainsFunc(watched, isInbox) {
			if strings.EqualFold(name, "INBOX") {
				name = watched[slices.IndexFunc(watched, isInbox)]
			}
			w.tell(ch, name, wire)
		}
	}
	clear(ch.mailboxes)
}

func isInbox(s string) bool { return strings.EqualFold(s, "INBOX") }

// runNotify: one NOTIFY SET, then wait; the server speaks first. With
// done set the wait may park (mailwatch_park.go): errParked, and
// finish/done are called when the connection ends.
func (w *MailboxWatch) runNotify(ctx context.Context, c *watchConn, done func(error), finish func(error) error) error {
	if c.has("CONDSTORE") && c.has("ENABLE") {
		// Flag changes then come with HIGHESTMODSEQ, whatever flag moved
		// (RFC 5465 5.3), not only when UNSEEN does.
		if err := c.command(ctx, "enable", "ENABLE CONDSTORE"); err != nil && !isServerError(err) {
			return err
		}
	}
	ch := newChanges(true)
	c.untagged = func(r response) { w.note(ch, r, "") }
	// STATUS: the server first reports every mailbox's status (RFC 5465
	// 3.1), the base the later STATUS responses' changed items merge over.
	err := c.command(ctx, "notify", "NOTIFY SET STATUS (personal (MessageNew MessageExpunge FlagChange MailboxName))")
	if isServerError(err) {
		return fmt.Errorf("%w: %w", errNotifyRefused, err)
	}
	if err != nil {
		return err
	}
	// What NOTIFY SET itself brought is the state OnReady stands for; the
	// watched mailboxes' statuses are told first, for its re-checks.
	if w.opts.OnStatus != nil {
		watched, _ := w.watched()
		for _, name := range watched {
			if st, ok := ch.status(encodeMUTF7(name)); ok {
				w.opts.OnStatus(name, st, true, true)
			}
		}
	}
	clear(ch.mailboxes)
	ch.hierarchy = false
	if w.opts.OnReady != nil {
		w.opts.OnReady(WatchModeNotify)
	}
	st := &notifyState{w: w, c: c, ctx: ctx, ch: ch, keepAliveAt: time.Now().Add(w.opts.KeepAlive), done: done, finish: finish}
	st.watched, st.gen = w.watched()
	if done != nil {
		return st.work()
	}
	for {
		if err := st.step(st.keepAliveAt); err != nil {
			return err
		}
	}
}

// notifyState is a NOTIFY connection's wait, kept between the goroutines
// that run it when it parks.
type notifyState struct {
	w           *MailboxWatch
	c           *watchConn
	ctx         context.Context
	ch          *changes
	watched     []string
	gen         uint64
	keepAliveAt time.Time
	done        func(error)
	finish      func(error) error
	park        parking // mailwatch_park.go
}

// step waits for responses until deadline or a wake and handles what
// came: changes announced, a new watched set, the keep-alive NOOP once
// due. An error (or ctx's) ends the connection.
func (st *notifyState) step(deadline time.Time) error {
	w, c, ch := st.w, st.c, st.ch
	err := c.wait(st.ctx, deadline, func(response) {
		if !c.rd.buffered() {
			w.announce(ch, st.watched)
		}
	})
	if ch.overflow {
		return fmt.Errorf("imap notify: %w: the server dropped notifications (NOTIFICATIONOVERFLOW)", ErrBroken)
	}
	switch {
	case errors.Is(err, errWoken):
		if st.ctx.Err() != nil {
			return st.ctx.Err()
		}
		var now []string
		if now, st.gen = w.watchedSince(st.gen); now != nil {
			// Covered already by the personal filter; a new mailbox is
			// announced once so nothing between its Ping's own check
			// and now is missed.
			for _, m := range now {
				if !slices.Contains(st.watched, m) {
					w.tell(ch, m, encodeMUTF7(m))
				}
			}
			st.watched = now
		}
		return nil
	case err != nil:
		return err
	}
	if !time.Now().Before(st.keepAliveAt) {
		if err := c.command(st.ctx, "noop", "NOOP"); err != nil {
			return err
		}
		w.announce(ch, st.watched)
		st.keepAliveAt = time.Now().Add(w.opts.KeepAlive)
	}
	return nil
}

// watchedSince returns the watched set if it changed since gen.
func (w *MailboxWatch) watchedSince(gen uint64) ([]string, uint64) {
	names, g := w.watched()
	if g == gen {
		return nil, gen
	}
	if names == nil {
		names = []string{}
	}
	return names, g
}

func isServerError(err error) bool {
	var se *ServerError
	return errors.As(err, &se)
}

// note records what an untagged response says changed. selected is the
// wire name of the mailbox EXAMINEd in IDLE mode ("" with NOTIFY).
func (w *MailboxWatch) note(ch *changes, r response, selected string) {
	switch r.kind {
	case "STATUS":
		if r.status != nil {
			ch.mailboxes[r.status.Mailbox] = true
			ch.mergeStatus(r.status)
		}
	case "LIST":
		ch.hierarchy = true
	case "EXISTS", "EXPUNGE", "FETCH":
		if selected != "" {
			ch.mailboxes[selected] = true
			delete(ch.items, selected)
		}
	case "OK", "NO":
		if r.code == "NOTIFICATIONOVERFLOW" {
			ch.overflow = true
		}
	}
}
