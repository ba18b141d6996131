//go:build !linux

package httpserve

import (
	"log/slog"
	"net"
)

// PeerCloseWatcher is a no-op outside Linux: parked connections of gone
// peers are released when their answer is written, at the heartbeat.
type PeerCloseWatcher struct{}

// NewPeerCloseWatcher returns the no-op watcher.
func NewPeerCloseWatcher(*slog.Logger) *PeerCloseWatcher { return &PeerCloseWatcher{} }

// Watch does nothing.
func (*PeerCloseWatcher) Watch(net.Conn, func()) func() { return func() {} }

// Watching is always 0.
func (*PeerCloseWatcher) Watching() int { return 0 }

// Close does nothing.
func (*PeerCloseWatcher) Close() error { return nil }
