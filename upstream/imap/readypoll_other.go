//go:build !linux

package imap

import (
	"errors"
	"net"
)

// Elsewhere than Linux a watcher keeps its goroutine (mailwatch_park.go).
type readyPoller struct{}

func getReadyPoller() (*readyPoller, error) { return nil, errors.New("imap: no readiness poller here") }

func socketFD(net.Conn) (int, bool) { return 0, false }

func (*readyPoller) arm(int, func()) error { return errors.New("imap: no readiness poller here") }

func (*readyPoller) forget(int) {}
