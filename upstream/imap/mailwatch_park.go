package imap

import (
	"errors"
	"fmt"
	"runtime/debug"
	"sync"
	"time"
)

// A NOTIFY connection is silent for hours between a user's mails; a
// goroutine blocked in Read all that time costs its stack (8 KiB and
// more) per parked user. Started with MailboxWatch.Start, the wait
// instead parks: the socket is handed to the readiness poller
// (readypoll_linux.go) and a timer is set for the keep-alive, and the
// goroutine ends. The socket becoming readable, the timer, or a wake
// (a new watched set, ctx ending) resumes the wait in a new goroutine,
// which reads what came, lingers parkLinger for the rest of a burst and
// parks again. Without a poller (other systems) the wait keeps its
// goroutine.

// parkLinger is how long a resumed wait reads before parking again: the
// rest of a burst, or of a TLS record split across packets.
const parkLinger = 20 * time.Millisecond

// errParked: the wait parked; done is called later.
var errParked = errors.New("imap: watcher parked")

type parking struct {
	mu     sync.Mutex
	parked bool
	armed  bool // registered with the poller
	fd     int
	poller *readyPoller
	timer  *time.Timer
}

// work runs the wait until it parks (errParked) or the connection ends
// (its error, or ctx's).
func (st *notifyState) work() error {
	p := &st.park
	if p.poller == nil {
		poller, err := getReadyPoller()
		fd, ok := socketFD(st.c.conn)
		if err != nil || !ok {
			for { // no parking here: the plain wait
				if err := st.step(st.keepAliveAt); err != nil {
					return err
				}
			}
		}
		p.poller, p.fd = poller, fd
		resume := st.resume
		st.c.onWake.Store(&resume)
		st.c.beforeClose = func() {
			p.mu.Lock()
			armed := p.armed
			p.armed = false
			if p.timer != nil {
				p.timer.Stop()
			}
			p.mu.Unlock()
			if armed {
				p.poller.forget(p.fd)
			}
		}
	}
	for {
		if err := st.step(earliest(st.keepAliveAt, time.Now().Add(parkLinger))); err != nil {
			return err
		}
		if st.c.rd.buffered() || st.c.woken.Load() || st.ctx.Err() != nil || !time.Now().Before(st.keepAliveAt) {
			continue
		}
		p.mu.Lock()
		p.parked, p.armed = true, true
		if p.timer == nil {
			p.timer = time.AfterFunc(time.Until(st.keepAliveAt), st.resume)
		} else {
			p.timer.Reset(time.Until(st.keepAliveAt))
		}
		p.mu.Unlock()
		if err := p.poller.arm(p.fd, st.resume); err != nil {
			p.mu.Lock()
			p.parked, p.armed = false, false
			p.timer.Stop()
			p.mu.Unlock()
			return fmt.Errorf("imap notify: parking the connection: %w", err)
		}
		// A wake between the checks above and parked = true found the
		// wait running and did not resume it: look again.
		if st.c.woken.Load() || st.ctx.Err() != nil {
			st.resume()
		}
		return errParked
	}
}

// resume continues a parked wait in a new goroutine; a no-op unless it
// is parked (the poller, the timer and a wake may all call it).
func (st *notifyState) resume() {
	p := &st.park
	p.mu.Lock()
	if !p.parked {
		p.mu.Unlock()
		return
	}
	p.parked = false
	p.timer.Stop()
	p.mu.Unlock()
	go st.continueWork()
}

func (st *notifyState) continueWork() {
	var err error
	func() {
		defer func() {
			if v := recover(); v != nil {
				err = fmt.Errorf("imap notify: panic in the watcher: %v\n%s", v, debug.Stack())
			}
		}()
		err = st.work()
	}()
	if errors.Is(err, errParked) {
		return
	}
	st.done(st.finish(err))
}
