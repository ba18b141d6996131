//go:build linux

package imap

import (
	"errors"
	"net"
	"sync"
	"syscall"
)

// readyPoller lets a watcher connection with nothing to do hold no
// goroutine (mailwatch_park.go): one epoll set and one goroutine for all
// of them say when a socket has something to read (or hung up), and the
// watcher's work resumes in a goroutine started then. Go's own poller
// would need a goroutine blocked in Read per connection — at ten
// thousand parked users, 80 MB of stacks for sockets that are silent for
// hours.
type readyPoller struct {
	epfd int
	mu   sync.Mutex
	fns  map[int32]func()
}

var (
	pollerOnce sync.Once
	poller     *readyPoller
	pollerErr  error
)

func getReadyPoller() (*readyPoller, error) {
	pollerOnce.Do(func() {
		fd, err := syscall.EpollCreate1(syscall.EPOLL_CLOEXEC)
		if err != nil {
			pollerErr = err
			return
		}
		poller = &readyPoller{epfd: fd, fns: map[int32]func(){}}
		go poller.loop()
	})
	return poller, pollerErr
}

// socketFD finds the descriptor under conn (through TLS).
func socketFD(conn net.Conn) (int, bool) {
	for range 4 {
		if nc, ok := conn.(interface{ NetConn() net.Conn }); ok {
			conn = nc.NetConn()
			continue
		}
		break
	}
	sc, ok := conn.(syscall.Conn)
	if !ok {
		return 0, false
	}
	rc, err := sc.SyscallConn()
	if err != nil {
		return 0, false
	}
	fd := -1
	if err := rc.Control(func(f uintptr) { fd = int(f) }); err != nil || fd < 0 {
		return 0, false
	}
	return fd, true
}

// arm asks for fn to run, in a goroutine of its own, once fd is readable,
// hung up or in error (one shot: arm again for the next time). Data that
// is already waiting fires at once.
func (p *readyPoller) arm(fd int, fn func()) error {
	p.mu.Lock()
	_, had := p.fns[int32(fd)]
	p.fns[int32(fd)] = fn
	p.mu.Unlock()
	ev := syscall.EpollEvent{Events: syscall.EPOLLIN | syscall.EPOLLRDHUP | syscall.EPOLLONESHOT, Fd: int32(fd)}
	op := syscall.EPOLL_CTL_ADD
	if had {
		op = syscall.EPOLL_CTL_MOD
	}
	err := syscall.EpollCtl(p.epfd, op, fd, &ev)
	switch {
	case errors.Is(err, syscall.EEXIST):
		err = syscall.EpollCtl(p.epfd, syscall.EPOLL_CTL_MOD, fd, &ev)
	case errors.Is(err, syscall.ENOENT):
		err = syscall.EpollCtl(p.epfd, syscall.EPOLL_CTL_ADD, fd, &ev)
	}
	if err != nil {
		p.forget(fd)
	}
	return err
}

// forget drops fd; called before the socket is closed, so a reused
// descriptor number never reaches the old owner's fn.
func (p *readyPoller) forget(fd int) {
	p.mu.Lock()
	delete(p.fns, int32(fd))
	p.mu.Unlock()
	_ = syscall.EpollCtl(p.epfd, syscall.EPOLL_CTL_DEL, fd, nil)
}

func (p *readyPoller) loop() {
	events := make([]syscall.EpollEvent, 128)
	for {
		n, err := syscall.EpollWait(p.epfd, events, -1)
		if err != nil {
			if errors.Is(err, syscall.EINTR) {
				continue
			}
			return // the set is gone; parked watchers keep their timers
		}
		for _, ev := range events[:n] {
			p.mu.Lock()
			fn := p.fns[ev.Fd]
			p.mu.Unlock()
			if fn != nil {
				go fn()
			}
		}
	}
}
