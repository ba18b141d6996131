package engine

import (
	"maps"
	"strings"

	"github.com/idlebridge/idlebridge/bridge/state"
)

// metaSupported keeps, in a collection's Meta, the Supported list the
// device sent with sync key 0 (MS-ASCMD 2.2.3.179): the class elements it
// shows, so that an element absent from its later Changes is cleared when
// listed and kept (ghosted) when not. Absent key: the device sent no
// Supported, nothing is ghosted. The engine owns the key: a source's Meta
// replaces the rest of the collection's Meta, never this.
const metaSupported = "engine.supported"

// withSupported adds the device's Supported list to the Meta of a reset
// collection.
func withSupported(meta map[string]string, supported []string) map[string]string {
	if supported == nil {
		return meta
	}
	out := maps.Clone(meta)
	if out == nil {
		out = map[string]string{}
	}
	out[metaSupported] = strings.Join(supported, ",")
	return out
}

// keepEngineMeta carries the engine's own keys of the stored header into a
// source's new Meta (a nil Meta keeps the stored one whole anyway).
func keepEngineMeta(meta map[string]string, stored *state.Collection) map[string]string {
	if meta == nil || stored == nil {
		return meta
	}
	v, ok := stored.Meta[metaSupported]
	if !ok {
		return meta
	}
	if cur, has := meta[metaSupported]; has && cur == v {
		return meta
	}
	out := maps.Clone(meta)
	out[metaSupported] = v
	return out
}

// Supported returns the Supported list the device sent when it started
// this collection: ok is false when it sent none (nothing is ghosted).
func (c *Call) Supported() (names []string, ok bool) {
	v, ok := c.Meta()[metaSupported]
	if !ok {
		return nil, false
	}
	if v == "" {
		return []string{}, true
	}
	return strings.Split(v, ","), true
}
