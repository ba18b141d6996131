//go:build !linux

package state

// DropMappedPages does nothing outside Linux (see the Linux version).
func (e *Embedded) DropMappedPages() error { return nil }
