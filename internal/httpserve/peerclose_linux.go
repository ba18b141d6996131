//go:build linux

package httpserve

import (
	"errors"
	"log/slog"
	"net"
	"sync"
	"syscall"
)

// PeerCloseWatcher reports that the peer of a watched connection closed
// it; see peerclose.go. The zero value is not usable: NewPeerCloseWatcher.
type PeerCloseWatcher struct {
	log *slog.Logger

	start sync.Once
	epfd  int
	wakeR int // read end of the pipe that stops the loop
	wakeW int
	err   error // why the watcher could not start; Watch is then a no-op

	mu      sync.Mutex
	next    int32
	watched map[int32]func() // token → gone
	closed  bool
}

// wakeToken marks the stop pipe's events; connection tokens are > 0.
const wakeToken = 0

// NewPeerCloseWatcher returns a watcher; its goroutine starts with the
// first Watch. log may be nil.
func NewPeerCloseWatcher(log *slog.Logger) *PeerCloseWatcher {
	if log == nil {
		log = slog.Default()
	}
	return &PeerCloseWatcher{log: log, watched: map[int32]func(){}}
}

func (w *PeerCloseWatcher) init() {
	w.epfd, w.err = syscall.EpollCreate1(syscall.EPOLL_CLOEXEC)
	if w.err != nil {
		return
	}
	var p [2]int
	if w.err = syscall.Pipe2(p[:], syscall.O_CLOEXEC|syscall.O_NONBLOCK); w.err != nil {
		_ = syscall.Close(w.epfd)
		return
	}
	w.wakeR, w.wakeW = p[0], p[1]
	ev := syscall.EpollEvent{Events: syscall.EPOLLIN, Fd: wakeToken}
	if w.err = syscall.EpollCtl(w.epfd, syscall.EPOLL_CTL_ADD, w.wakeR, &ev); w.err != nil {
		_ = syscall.Close(w.epfd)
		_ = syscall.Close(w.wakeR)
		_ = syscall.Close(w.wakeW)
		return
	}
	go w.loop()
}

// Watch calls gone once, on a goroutine of its own, when conn's peer
// closes the connection or it fails. The returned cancel stops watching;
// the caller must call it before it closes conn or hands it on (after
// that the descriptor may belong to another connection). A connection
// that is not a socket, or a watcher that could not start, is not
// watched: cancel is then a no-op and the request waits as before.
func (w *PeerCloseWatcher) Watch(conn net.Conn, gone func()) (cancel func()) {
	noop := func() {}
	w.start.Do(w.init)
	if w.err != nil {
		return noop
	}
	sc, ok := unwrapSocket(conn)
	if !ok {
		return noop
	}
	rc, err := sc.SyscallConn()
	if err != nil {
		return noop
	}
	w.mu.Lock()
	if w.closed {
		w.mu.Unlock()
		return noop
	}
	w.next++
	if w.next <= wakeToken {
		w.next = wakeToken + 1 // wrapped: tokens are only map keys
	}
	token := w.next
	w.watched[token] = gone
	w.mu.Unlock()

	// One-shot: after its first event the entry is disabled (not
	// removed), so a closed peer does not wake the loop again and again.
	ev := syscall.EpollEvent{Events: syscall.EPOLLRDHUP | syscall.EPOLLONESHOT, Fd: token}
	var cerr error
	err = rc.Control(func(fd uintptr) { cerr = syscall.EpollCtl(w.epfd, syscall.EPOLL_CTL_ADD, int(fd), &ev) })
	if err == nil {
		err = cerr
	}
	if err != nil {
		w.mu.Lock()
		delete(w.watched, token)
		w.mu.Unlock()
		return noop
	}
	var once sync.Once
	return func() {
		once.Do(func() {
			w.mu.Lock()
			delete(w.watched, token)
			w.mu.Unlock()
			_ = rc.Control(func(fd uintptr) { _ = syscall.EpollCtl(w.epfd, syscall.EPOLL_CTL_DEL, int(fd), nil) })
		})
	}
}

// Watching returns how many connections are watched.
func (w *PeerCloseWatcher) Watching() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return len(w.watched)
}

// loop is the watcher's one goroutine.
func (w *PeerCloseWatcher) loop() {
	events := make([]syscall.EpollEvent, 128)
	for {
		n, err := syscall.EpollWait(w.epfd, events, -1)
		if errors.Is(err, syscall.EINTR) {
			continue
		}
		if err != nil {
			w.log.Error("peer close watcher stopped; parked connections are released at their heartbeat", "err", err)
			return
		}
		for _, ev := range events[:n] {
			if ev.Fd == wakeToken {
				_ = syscall.Close(w.epfd)
				_ = syscall.Close(w.wakeR)
				return
			}
			w.mu.Lock()
			gone := w.watched[ev.Fd]
			// The entry stays until cancel removes the registration;
			// nil marks it reported.
			if gone != nil {
				w.watched[ev.Fd] = nil
			}
			w.mu.Unlock()
			if gone != nil {
				go gone()
			}
		}
	}
}

// Close stops the watcher; watched connections are left as they are.
func (w *PeerCloseWatcher) Close() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.closed {
		return nil
	}
	w.closed = true
	started := false
	w.start.Do(func() { w.err = errors.New("closed") })
	if w.err == nil {
		started = true
	}
	if started {
		_, _ = syscall.Write(w.wakeW, []byte{1})
		_ = syscall.Close(w.wakeW)
	}
	return nil
}
