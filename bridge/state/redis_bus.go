package state

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"
)

// redisBusTimings are the waits of the Redis bus, kept in the bus (not in
// constants) so tests can shorten them.
type redisBusTimings struct {
	// subscribeWait bounds how long Subscribe waits for Redis to confirm
	// the channel subscription.
	subscribeWait time.Duration
	// idle is how long the receive loop waits for traffic before it pings
	// the server to prove the connection is alive.
	idle time.Duration
	// pongWait is how long a ping may go unanswered before the connection
	// is taken for dead and go-redis reconnects (and resubscribes).
	pongWait time.Duration
	// retryMin and retryMax bound the pause between failed receives while
	// Redis is unreachable.
	retryMin, retryMax time.Duration
}

func defaultRedisBusTimings() redisBusTimings {
	return redisBusTimings{
		subscribeWait: 5 * time.Second,
		idle:          30 * time.Second,
		pongWait:      5 * time.Second,
		retryMin:      50 * time.Millisecond,
		retryMax:      2 * time.Second,
	}
}

// RedisBus is the Bus between instances: one Redis channel per user,
// ib:{<user>}:chg, carrying Change as compact JSON. The hash tag puts the
// channel in the user's slot; against a Cluster the bus uses sharded
// pub/sub (SPUBLISH/SSUBSCRIBE), so a change travels only within the
// shard that owns the user instead of being broadcast to every node.
//
// The bus holds one pub/sub connection (per Cluster master) for all its
// subscribers. It subscribes to a user's channel when the first local
// subscriber of that user arrives, unsubscribes when the last one leaves,
// and fans each message out locally like the MemoryBus.
//
// Pub/sub is fire-and-forget: a message published while this instance was
// disconnected is lost. So whenever go-redis re-establishes a subscription
// after a lost connection, every local subscriber of that channel gets a
// Resync and re-checks what it waits on.
type RedisBus struct {
	client  redis.UniversalClient
	cluster *redis.ClusterClient // nil unless sharded pub/sub is used
	log     *slog.Logger
	timing  redisBusTimings

	ctx    context.Context // lives until Close; ends the receive loops
	cancel context.CancelFunc
	loops  sync.WaitGroup

	// ctl serialises changes to the set of subscribed channels together
	// with the SUBSCRIBE/UNSUBSCRIBE they cause, so a topic's local state
	// and the server's idea of it never disagree.
	ctl sync.Mutex

	mu      sync.RWMutex // guards everything below; never held during I/O
	topics  map[string]*redisTopic
	conns   map[string]*redisBusConn // by route: "" or the Cluster master address
	closed  bool
	stopCtx func() bool // detaches Close from the constructor's ctx
}

// redisTopic is one subscribed channel (one user) and its local subscribers.
type redisTopic struct {
	conn *redisBusConn
	subs map[*localSub]struct{}
	// owed counts SUBSCRIBEs sent whose confirmation has not arrived. A
	// confirmation when none is owed is go-redis resubscribing after a
	// reconnect: messages may have been lost in between.
	owed  int
	ready chan struct{} // closed at the first confirmation
}

// redisBusConn is one pub/sub connection and the goroutine reading it.
type redisBusConn struct {
	route string
	ps    *redis.PubSub
	// unsubOwed counts our own UNSUBSCRIBEs per channel whose confirmation
	// has not arrived, to tell them from the server dropping a channel
	// (which may arrive after the same channel was subscribed again).
	// Guarded by RedisBus.mu.
	unsubOwed map[string]int
}

var _ Bus = (*RedisBus)(nil)

// NewRedisBus returns a bus over client. A *redis.ClusterClient gets
// sharded pub/sub; any other client plain pub/sub (a *redis.Ring is not
// supported: its shards do not share channels). The bus lives until Close
// or until ctx ends.
func NewRedisBus(ctx context.Context, client redis.UniversalClient, log *slog.Logger) *RedisBus {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	b := &RedisBus{
		client: client,
		log:    log.With("component", "redis-bus"),
		timing: defaultRedisBusTimings(),
		topics: make(map[string]*redisTopic),
		conns:  make(map[string]*redisBusConn),
	}
	b.cluster, _ = client.(*redis.ClusterClient)
	b.ctx, b.cancel = context.WithCancel(context.WithoutCancel(ctx))
	b.mu.Lock() // Close may run at once if ctx is already over
	b.stopCtx = context.AfterFunc(ctx, func() { _ = b.Close() })
	b.mu.Unlock()
	return b
}

// busChannel is the pub/sub channel of user's changes.
func busChannel(user string) string { return "ib:{" + user + "}:chg" }

// Publish sends c to every instance subscribed to c.User. It waits for
// Redis only (never for subscribers) and at most until ctx ends; when Redis
// cannot be reached the error wraps ErrUnavailable.
func (b *RedisBus) Publish(ctx context.Context, c Change) error {
	payload, err := json.Marshal(c)
	if err != nil {
		return fmt.Errorf("state: encode change: %w", err)
	}
	b.mu.RLock()
	closed := b.closed
	b.mu.RUnlock()
	if closed {
		return errBusClosed
	}
	ch := busChannel(c.User)
	if b.cluster != nil {
		err = b.cluster.SPublish(ctx, ch, payload).Err()
	} else {
		err = b.client.Publish(ctx, ch, payload).Err()
	}
	if err != nil {
		return fmt.Errorf("state: publish change: %w: %w", ErrUnavailable, err)
	}
	return nil
}

// Subscribe listens to user's changes until ctx ends or the subscription
// is closed. It returns once Redis has confirmed the channel subscription,
// so a change published after Subscribe returns is not missed.
func (b *RedisBus) Subscribe(ctx context.Context, user string) (Subscription, error) {
	if _, ring := b.client.(*redis.Ring); ring {
		return nil, errors.New("state: the Redis change bus does not support redis.Ring")
	}
	s := newLocalSub()
	ch := busChannel(user)
	s.release = func(s *localSub) { b.unsubscribe(ch, s) }

	ready, err := b.addSub(ctx, ch, s)
	if err != nil {
		return nil, err
	}
	wait := time.NewTimer(b.timing.subscribeWait)
	defer wait.Stop()
	select {
	case <-ready:
	case <-ctx.Done():
		_ = s.Close()
		return nil, ctx.Err()
	case <-wait.C:
		_ = s.Close()
		return nil, fmt.Errorf("state: subscribe to changes: %w: no confirmation from Redis within %v",
			ErrUnavailable, b.timing.subscribeWait)
	case <-b.ctx.Done():
		_ = s.Close()
		return nil, errBusClosed
	}
	s.watch(ctx)
	return s, nil
}

// addSub registers s on channel ch, subscribing in Redis if s is the
// channel's first local subscriber. It returns the channel's ready signal.
func (b *RedisBus) addSub(ctx context.Context, ch string, s *localSub) (<-chan struct{}, error) {
	b.ctl.Lock()
	defer b.ctl.Unlock()

	b.mu.Lock()
	if b.closed {
		b.mu.Unlock()
		return nil, errBusClosed
	}
	if t := b.topics[ch]; t != nil {
		t.subs[s] = struct{}{}
		b.mu.Unlock()
		return t.ready, nil
	}
	b.mu.Unlock()

	conn, err := b.connFor(ctx, ch)
	if err != nil {
		return nil, err
	}
	t := &redisTopic{
		conn:  conn,
		subs:  map[*localSub]struct{}{s: {}},
		owed:  1,
		ready: make(chan struct{}),
	}
	// The topic exists before SUBSCRIBE goes out: its confirmation may
	// reach the receive loop before the call below returns.
	b.mu.Lock()
	b.topics[ch] = t
	b.mu.Unlock()

	if err := b.sendSubscribe(ctx, conn, ch); err != nil {
		b.mu.Lock()
		delete(b.topics, ch)
		b.mu.Unlock()
		// go-redis remembers the channel even when the command failed and
		// would resubscribe it on reconnect; make it forget.
		_ = b.sendUnsubscribe(b.ctx, conn, ch)
		return nil, fmt.Errorf("state: subscribe to changes: %w: %w", ErrUnavailable, err)
	}
	return t.ready, nil
}

// unsubscribe removes s from ch and unsubscribes in Redis when it was the
// channel's last local subscriber.
func (b *RedisBus) unsubscribe(ch string, s *localSub) {
	b.ctl.Lock()
	defer b.ctl.Unlock()

	b.mu.Lock()
	t := b.topics[ch]
	if t == nil {
		b.mu.Unlock()
		return
	}
	if _, mine := t.subs[s]; !mine {
		b.mu.Unlock()
		return
	}
	delete(t.subs, s)
	last := len(t.subs) == 0
	if last {
		delete(b.topics, ch)
	}
	closed := b.closed
	b.mu.Unlock()

	if last && !closed {
		if err := b.sendUnsubscribe(b.ctx, t.conn, ch); err != nil {
			// Harmless: the connection is gone, and go-redis no longer
			// lists the channel, so it is not resubscribed.
			b.log.Debug("unsubscribe failed", "err", err)
		}
	}
}

func (b *RedisBus) sendSubscribe(ctx context.Context, c *redisBusConn, ch string) error {
	if b.cluster != nil {
		return c.ps.SSubscribe(ctx, ch)
	}
	return c.ps.Subscribe(ctx, ch)
}

func (b *RedisBus) sendUnsubscribe(ctx context.Context, c *redisBusConn, ch string) error {
	b.mu.Lock()
	c.unsubOwed[ch]++
	b.mu.Unlock()
	var err error
	if b.cluster != nil {
		err = c.ps.SUnsubscribe(ctx, ch)
	} else {
		err = c.ps.Unsubscribe(ctx, ch)
	}
	if err != nil {
		b.mu.Lock()
		c.forgetUnsub(ch)
		b.mu.Unlock()
	}
	return err
}

// forgetUnsub settles one owed unsubscribe confirmation of ch.
func (c *redisBusConn) forgetUnsub(ch string) {
	if c.unsubOwed[ch] <= 1 {
		delete(c.unsubOwed, ch)
		return
	}
	c.unsubOwed[ch]--
}

// connFor returns the pub/sub connection that serves ch, starting it and
// its receive loop on first use. Without a Cluster there is one; with a
// Cluster one per master, because a sharded subscription must be made on
// the node that owns the channel's slot. Called with ctl held.
func (b *RedisBus) connFor(ctx context.Context, ch string) (*redisBusConn, error) {
	route := ""
	if b.cluster != nil {
		master, err := b.cluster.MasterForKey(ctx, ch)
		if err != nil {
			return nil, fmt.Errorf("state: subscribe to changes: %w: %w", ErrUnavailable, err)
		}
		route = master.Options().Addr
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		return nil, errBusClosed
	}
	if c := b.conns[route]; c != nil {
		return c, nil
	}
	var ps *redis.PubSub
	if b.cluster != nil {
		ps = b.cluster.SSubscribe(b.ctx) // no channels yet: connects lazily
	} else {
		ps = b.client.Subscribe(b.ctx)
	}
	c := &redisBusConn{route: route, ps: ps, unsubOwed: make(map[string]int)}
	b.conns[route] = c
	b.loops.Add(1)
	go b.receive(c)
	return c, nil
}

// receive reads one pub/sub connection until the bus closes. It never
// blocks on subscribers (delivery is non-blocking) and rides out Redis
// outages: go-redis redials and resubscribes on the next read, and the
// confirmations that follow trigger Resync.
func (b *RedisBus) receive(c *redisBusConn) {
	defer b.loops.Done()
	retry := b.timing.retryMin
	down := false
	pinged := false
	for {
		var msg any
		var err error
		if pinged {
			// A read that times out under a context deadline counts as a
			// broken connection to go-redis, which then reconnects.
			ctx, cancel := context.WithTimeout(b.ctx, b.timing.pongWait)
			msg, err = c.ps.Receive(ctx)
			cancel()
		} else {
			msg, err = c.ps.ReceiveTimeout(b.ctx, b.timing.idle)
		}
		if b.ctx.Err() != nil {
			return
		}
		if err != nil {
			if !pinged && busIsTimeout(err) {
				// Quiet for a while: prove the connection with a ping.
				pinged = c.ps.Ping(b.ctx) == nil
				continue
			}
			pinged = false
			// Confirmations owed on the lost connection will not come.
			b.mu.Lock()
			clear(c.unsubOwed)
			b.mu.Unlock()
			if !down {
				b.log.Warn("pub/sub connection lost; reconnecting", "route", c.route, "err", err)
				down = true
			}
			if !busSleep(b.ctx, retry) {
				return
			}
			retry = min(retry*2, b.timing.retryMax)
			continue
		}
		pinged = false
		retry = b.timing.retryMin
		if down {
			b.log.Info("pub/sub connection restored", "route", c.route)
			down = false
		}
		switch m := msg.(type) {
		case *redis.Message:
			b.dispatch(m)
		case *redis.Subscription:
			b.confirmed(c, m)
		case *redis.Pong:
		}
	}
}

// dispatch fans a message out to the channel's local subscribers.
func (b *RedisBus) dispatch(m *redis.Message) {
	b.mu.RLock()
	defer b.mu.RUnlock()
	t := b.topics[m.Channel]
	if t == nil {
		return // unsubscribed while the message was in flight
	}
	c, err := decodeBusChange(m.Channel, m.Payload)
	if err != nil {
		// Someone else publishes on our channel, or a newer version does
		// with a format we cannot read: tell subscribers to look for
		// themselves rather than miss a change.
		b.log.Warn("undecodable change event; subscribers resync", "err", err)
		for s := range t.subs {
			s.signalResync()
		}
		return
	}
	for s := range t.subs {
		s.deliver(c)
	}
}

// confirmed handles the server's answer to (S)SUBSCRIBE/(S)UNSUBSCRIBE.
func (b *RedisBus) confirmed(c *redisBusConn, m *redis.Subscription) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if (m.Kind == "unsubscribe" || m.Kind == "sunsubscribe") && c.unsubOwed[m.Channel] > 0 {
		c.forgetUnsub(m.Channel) // the answer to our own UNSUBSCRIBE
		return
	}
	t := b.topics[m.Channel]
	if t == nil || t.conn != c {
		return
	}
	switch m.Kind {
	case "subscribe", "ssubscribe":
		if t.owed > 0 {
			t.owed--
			if t.owed == 0 {
				select {
				case <-t.ready:
				default:
					close(t.ready)
				}
			}
			return
		}
		// Resubscribed by go-redis after a reconnect: whatever was
		// published meanwhile is gone.
		b.log.Info("resubscribed after reconnect; subscribers resync", "route", c.route)
		for s := range t.subs {
			s.signalResync()
		}
	case "unsubscribe", "sunsubscribe":
		// Not one we asked for, so the server dropped us: a Cluster
		// slot moved to another node.
		// Wake the subscribers (changes may be lost until we are back)
		// and subscribe again where the slot lives now.
		b.log.Warn("server ended a channel subscription; resubscribing", "route", c.route)
		for s := range t.subs {
			s.signalResync()
		}
		b.loops.Add(1)
		go b.resubscribe(m.Channel, t)
	}
}

// resubscribe subscribes ch again after the server dropped it, on the
// connection that serves its slot now. It runs on its own goroutine: the
// receive loop must not wait for Redis round trips.
func (b *RedisBus) resubscribe(ch string, t *redisTopic) {
	defer b.loops.Done()
	b.ctl.Lock()
	defer b.ctl.Unlock()
	b.mu.RLock()
	live := b.topics[ch] == t && !b.closed
	b.mu.RUnlock()
	if !live {
		return // every subscriber left meanwhile
	}
	conn, err := b.connFor(b.ctx, ch)
	if err != nil {
		b.log.Warn("cannot resubscribe a dropped channel", "err", err)
		return
	}
	b.mu.Lock()
	old := t.conn
	t.conn = conn
	t.owed++
	b.mu.Unlock()
	if old != conn {
		// Make the old connection forget the channel, or go-redis would
		// subscribe it there again on its next reconnect.
		_ = b.sendUnsubscribe(b.ctx, old, ch)
	}
	if err := b.sendSubscribe(b.ctx, conn, ch); err != nil {
		// The channel stays in go-redis's list for conn, so the reconnect
		// that follows this error subscribes it.
		b.log.Warn("cannot resubscribe a dropped channel", "err", err)
	}
}

// decodeBusChange parses a payload received on channel, rejecting one
// whose user does not belong there.
func decodeBusChange(channel, payload string) (Change, error) {
	var c Change
	if err := json.Unmarshal([]byte(payload), &c); err != nil {
		return Change{}, fmt.Errorf("decode change: %w", err)
	}
	if busChannel(c.User) != channel {
		return Change{}, errors.New("decode change: user does not match channel")
	}
	return c, nil
}

// Close ends every subscription and the pub/sub connections. It does not
// close the Redis client, which belongs to the caller.
func (b *RedisBus) Close() error {
	b.mu.Lock()
	if b.closed {
		b.mu.Unlock()
		return nil
	}
	b.closed = true
	var subs []*localSub
	for _, t := range b.topics {
		for s := range t.subs {
			subs = append(subs, s)
		}
	}
	conns := b.conns
	b.conns = map[string]*redisBusConn{}
	stopCtx := b.stopCtx
	b.mu.Unlock()

	stopCtx()
	b.cancel()
	for _, c := range conns {
		_ = c.ps.Close()
	}
	b.loops.Wait()
	for _, s := range subs {
		_ = s.Close()
	}
	return nil
}

func busIsTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// busSleep pauses for d; false if ctx ended first.
func busSleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}
