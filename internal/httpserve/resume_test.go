package httpserve

import (
	"errors"
	"net"
	"testing"
	"time"
)

func TestResumeListener(t *testing.T) {
	inner, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	l := NewResumeListener(inner)

	// A new connection comes through Accept.
	dialed, err := net.Dial("tcp", inner.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer dialed.Close()
	first, err := l.Accept()
	if err != nil {
		t.Fatal(err)
	}
	// A resumed one comes back through Accept too, as the same conn.
	go l.Resume(first)
	again, err := l.Accept()
	if err != nil || again != first {
		t.Fatalf("resumed connection: %v %v", again, err)
	}

	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := l.Accept(); !errors.Is(err, net.ErrClosed) {
		t.Fatalf("Accept after Close: %v", err)
	}
	// Resume after Close closes the connection: the client sees EOF.
	l.Resume(first)
	_ = dialed.SetReadDeadline(time.Now().Add(5 * time.Second))
	n, err := dialed.Read(make([]byte, 1))
	var ne net.Error
	if n != 0 || err == nil || (errors.As(err, &ne) && ne.Timeout()) {
		t.Fatalf("connection resumed after Close still open: %d %v", n, err)
	}
}
