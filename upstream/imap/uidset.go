package imap

import (
	"slices"

	imapv2 "github.com/emersion/go-imap/v2"
)

// UIDSet selects messages of the selected mailbox by UID. The zero value
// selects nothing (commands on it send nothing); AllUIDs selects every
// message ("1:*").
type UIDSet struct {
	uids []uint32
	all  bool
}

// UIDs selects the given UIDs (order and duplicates do not matter).
func UIDs(uids ...uint32) UIDSet { return UIDSet{uids: uids} }

// AllUIDs selects every message in the mailbox.
func AllUIDs() UIDSet { return UIDSet{all: true} }

// Empty reports whether the set selects nothing.
func (u UIDSet) Empty() bool { return !u.all && len(u.uids) == 0 }

// wire returns the set as compact ranges, e.g. 1:5,9,12:14, so that a
// contiguous folder of 100 000 messages is a few bytes on the wire.
func (u UIDSet) wire() imapv2.UIDSet {
	if u.all {
		return imapv2.UIDSet{{Start: 1, Stop: 0}} // 0 is "*"
	}
	sorted := slices.Clone(u.uids)
	slices.Sort(sorted)
	var set imapv2.UIDSet
	for _, v := range sorted {
		if v == 0 {
			continue // not a valid UID
		}
		if n := len(set); n > 0 && (uint32(set[n-1].Stop) == v || uint32(set[n-1].Stop)+1 == v) {
			set[n-1].Stop = imapv2.UID(v)
			continue
		}
		set = append(set, imapv2.UIDRange{Start: imapv2.UID(v), Stop: imapv2.UID(v)})
	}
	return set
}

// expandUIDs lists the UIDs of a server-sent set in the order given
// (COPYUID pairs source and destination UIDs by position, RFC 4315 3).
// A set with "*" cannot be expanded and yields nil.
func expandUIDs(ns imapv2.NumSet) []uint32 {
	set, ok := ns.(imapv2.UIDSet)
	if !ok {
		return nil
	}
	var out []uint32
	for _, r := range set {
		start, stop := uint32(r.Start), uint32(r.Stop)
		if start == 0 || stop == 0 {
			return nil
		}
		if start > stop {
			start, stop = stop, start
		}
		for v := start; ; v++ {
			out = append(out, v)
			if v == stop {
				break
			}
		}
	}
	return out
}
