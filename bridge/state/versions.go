package state

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"time"
)

// Versions keeps, per user, the upstream version of each watched mailbox
// (or collection) as the user's watcher last observed it: for IMAP the
// STATUS quadruple (UIDVALIDITY, UIDNEXT, HIGHESTMODSEQ, MESSAGES) from a
// NOTIFY STATUS or a STATUS poll. A parked device whose last Sync saw the
// same version has nothing new, so one observation answers the re-check
// of every device of the user without asking the provider again
// (bridge/mail's Recheck).
//
// A record must never claim "unchanged" wrongly, so writers keep this
// order: the watcher records an observation before it publishes the
// change on the bus, and the bridge marks a mailbox stale before it
// changes the mailbox itself (a move, an emptied folder, a device's Sync
// commands, the Sent copy of a sent mail). A stale record reads as
// unknown until an observation newer than the one it replaced arrives:
// PutVersion ignores a version whose ModSeq is not above the stale mark's
// floor (an observation taken before the change, landing after the mark).
//
// Records lapse VersionTTL after they were written (both engines), so a
// record left by a watcher that stopped long ago is not trusted. Redis
// shares them between instances; the embedded engine keeps them in
// memory (embedded_versions.go).
type Versions interface {
	// PutVersion records v for (user, ref), unless the record is stale
	// with a floor at or above v.ModSeq. v.At is when it was observed.
	PutVersion(ctx context.Context, user, ref string, v UpstreamVersion) error
	// StaleVersion marks (user, ref) unknown as of at; the floor is the
	// ModSeq of the record it replaces (or that record's floor).
	StaleVersion(ctx context.Context, user, ref string, at time.Time) error
	// GetVersion returns the record; ok is false when there is none, it
	// is stale, or it was written more than VersionTTL before now.
	GetVersion(ctx context.Context, user, ref string, now time.Time) (v UpstreamVersion, ok bool, err error)
}

// VersionTTL is how long a version record is trusted after its write.
const VersionTTL = time.Hour

// UpstreamVersion is one observation of an upstream mailbox.
type UpstreamVersion struct {
	UIDValidity uint32
	UIDNext     uint32
	ModSeq      uint64 // HIGHESTMODSEQ; 0 when the server has no CONDSTORE
	Messages    uint32
	// Live: observed by a watcher that hears of every change as it happens
	// (NOTIFY), not by a poll that may be minutes behind.
	Live bool
	At   time.Time // when it was observed (or marked stale)
}

// storedVersion is a record as both engines keep it: a known version or a
// stale mark with its floor.
type storedVersion struct {
	stale bool
	floor uint64 // stale only
	v     UpstreamVersion
}

// The stored bytes are one line of decimal fields separated by spaces:
//
//	k <uidvalidity> <uidnext> <modseq> <messages> <live 0|1> <at unix ms>
//	s <floor modseq> <at unix ms>
//
// Text, so the Redis scripts can read the floor and the modseq without
// decoding anything else.
func (sv storedVersion) encode() string {
	if sv.stale {
		return "s " + strconv.FormatUint(sv.floor, 10) + " " + strconv.FormatInt(sv.v.At.UnixMilli(), 10)
	}
	live := "0"
	if sv.v.Live {
		live = "1"
	}
	v := sv.v
	return "k " + strconv.FormatUint(uint64(v.UIDValidity), 10) + " " + strconv.FormatUint(uint64(v.UIDNext), 10) + " " +
		strconv.FormatUint(v.ModSeq, 10) + " " + strconv.FormatUint(uint64(v.Messages), 10) + " " + live + " " +
		strconv.FormatInt(v.At.UnixMilli(), 10)
}

var errBadVersion = errors.New("state: malformed version record")

// decodeVersion parses a stored record. Records come from the store,
// which another instance (or an older or newer bridge) may have written:
// anything malformed is an error, never a guess.
func decodeVersion(raw string) (storedVersion, error) {
	f := strings.Split(raw, " ")
	u32 := func(s string) (uint32, error) {
		n, err := strconv.ParseUint(s, 10, 32)
		return uint32(n), err
	}
	ms := func(s string) (time.Time, error) {
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil || n < 0 {
			return time.Time{}, errBadVersion
		}
		return time.UnixMilli(n), nil
	}
	var sv storedVersion
	var err error
	switch {
	case len(f) == 3 && f[0] == "s":
		sv.stale = true
		if sv.floor, err = strconv.ParseUint(f[1], 10, 64); err != nil {
			return storedVersion{}, errBadVersion
		}
		if sv.v.At, err = ms(f[2]); err != nil {
			return storedVersion{}, err
		}
		return sv, nil
	case len(f) == 7 && f[0] == "k":
		v := &sv.v
		var e [5]error
		v.UIDValidity, e[0] = u32(f[1])
		v.UIDNext, e[1] = u32(f[2])
		v.ModSeq, e[2] = strconv.ParseUint(f[3], 10, 64)
		v.Messages, e[3] = u32(f[4])
		v.At, e[4] = ms(f[6])
		if errors.Join(e[:]...) != nil || (f[5] != "0" && f[5] != "1") {
			return storedVersion{}, errBadVersion
		}
		v.Live = f[5] == "1"
		return sv, nil
	}
	return storedVersion{}, errBadVersion
}

// readable is GetVersion's rule over a decoded record.
func (sv storedVersion) readable(now time.Time) (UpstreamVersion, bool) {
	if sv.stale || now.Sub(sv.v.At) > VersionTTL {
		return UpstreamVersion{}, false
	}
	return sv.v, true
}

// putOver is PutVersion's rule: the record that results from writing v
// over cur (nil: none). keep is true when cur stays.
func putOver(cur *storedVersion, v UpstreamVersion, now time.Time) (next storedVersion, keep bool) {
	if cur != nil && cur.stale && v.ModSeq <= cur.floor && now.Sub(cur.v.At) <= VersionTTL {
		return *cur, true
	}
	return storedVersion{v: v}, false
}

// staleOver is StaleVersion's rule.
func staleOver(cur *storedVersion, at time.Time) storedVersion {
	out := storedVersion{stale: true, v: UpstreamVersion{At: at}}
	if cur != nil {
		if cur.stale {
			out.floor = cur.floor
		} else {
			out.floor = cur.v.ModSeq
		}
	}
	return out
}
