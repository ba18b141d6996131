package imip

import (
	"bytes"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"time"
)

// The MS GOID ("global object ID") of MS-ASEMAIL 2.2.2.37 and MS-OXOCAL
// 2.2.1.27: a 16-byte class ID, the instance date, a creation time, 8
// reserved bytes, a little-endian length and the data. The data is either
// an Outlook ID (opaque bytes) or "vCal-Uid", a version and the iCalendar
// UID ending in NUL.
var goidClassID = []byte{0x04, 0x00, 0x00, 0x00, 0x82, 0x00, 0xE0, 0x00, 0x74, 0xC5, 0xB7, 0x10, 0x1A, 0x82, 0xE0, 0x08}

const (
	goidHeaderLen = 40 // class ID, instance date, creation time, reserved, byte count
	vcalMarker    = "vCal-Uid"
)

var vcalVersion = []byte{0x01, 0x00, 0x00, 0x00}

// outlookUIDPrefix is the class ID in hex: a UID starting with it is an
// Outlook GOID written as hex (MS-OXCICAL 2.1.3.1.1.20.26 EncodedGlobalId).
var outlookUIDPrefix = strings.ToUpper(hex.EncodeToString(goidClassID))

// ErrNotGOID is returned for a GlobalObjId that is not a well-formed GOID.
var ErrNotGOID = errors.New("imip: not a GlobalObjId")

// GlobalObjID returns the GOID bytes for an iCalendar UID. An Outlook UID
// (the hex of a GOID) is decoded back to its own bytes, so Outlook and the
// device agree on the meeting; any other UID is wrapped in the vCal-Uid
// form. instance, when not zero, is the original date of the one instance
// the message is about (MS-OXOCAL: the instance date fields). The creation
// time is left zero so the same message always yields the same ID (the
// Email item must be stable across Syncs), as in MS-ASEMAIL 4.3 example 2.
func GlobalObjID(uid string, instance time.Time) []byte {
	var b []byte
	if raw, ok := outlookGOID(uid); ok {
		b = raw
	} else {
		b = make([]byte, goidHeaderLen, goidHeaderLen+len(vcalMarker)+len(vcalVersion)+len(uid)+1)
		copy(b, goidClassID)
		data := len(vcalMarker) + len(vcalVersion) + len(uid) + 1
		binary.LittleEndian.PutUint32(b[36:], uint32(data))
		b = append(b, vcalMarker...)
		b = append(b, vcalVersion...)
		b = append(b, uid...)
		b = append(b, 0)
	}
	if !instance.IsZero() {
		y, m, d := instance.Date()
		binary.BigEndian.PutUint16(b[16:], uint16(y)) // MS-ASEMAIL: YEARHIGH YEARLOW, big-endian
		b[18], b[19] = byte(m), byte(d)
	}
	return b
}

// EncodeGlobalObjID is GlobalObjID as the base64 text of Email:GlobalObjId.
func EncodeGlobalObjID(uid string, instance time.Time) string {
	return base64.StdEncoding.EncodeToString(GlobalObjID(uid, instance))
}

// outlookGOID decodes a UID that is the hex form of a GOID.
func outlookGOID(uid string) ([]byte, bool) {
	if len(uid) < 2*goidHeaderLen || !strings.EqualFold(uid[:len(outlookUIDPrefix)], outlookUIDPrefix) {
		return nil, false
	}
	raw, err := hex.DecodeString(uid)
	if err != nil || !wellFormed(raw) {
		return nil, false
	}
	return raw, true
}

// wellFormed checks the class ID and that the byte count matches the data.
func wellFormed(b []byte) bool {
	if len(b) < goidHeaderLen || !bytes.Equal(b[:16], goidClassID) {
		return false
	}
	return int(binary.LittleEndian.Uint32(b[36:])) == len(b)-goidHeaderLen
}

// UIDFromGlobalObjID takes a base64 GlobalObjId back to the iCalendar UID
// (MS-ASEMAIL 3.1.4.7): the vCal-Uid form yields the UID it wraps; an
// Outlook ID yields the hex of the whole GOID with the instance date set
// to zero, upper-case, as Outlook writes it in iCalendar. The instance
// date, if any, is returned apart.
func UIDFromGlobalObjID(s string) (uid string, instance time.Time, err error) {
	b, err := base64.StdEncoding.DecodeString(strings.TrimSpace(s))
	if err != nil {
		return "", time.Time{}, fmt.Errorf("%w: %v", ErrNotGOID, err)
	}
	return UIDFromGOID(b)
}

// UIDFromGOID is UIDFromGlobalObjID on the raw bytes.
func UIDFromGOID(b []byte) (uid string, instance time.Time, err error) {
	if !wellFormed(b) {
		return "", time.Time{}, ErrNotGOID
	}
	if y, m, d := int(binary.BigEndian.Uint16(b[16:])), int(b[18]), int(b[19]); y != 0 || m != 0 || d != 0 {
		instance = time.Date(y, time.Month(m), d, 0, 0, 0, 0, time.UTC)
	}
	data := b[goidHeaderLen:]
	head := len(vcalMarker) + len(vcalVersion)
	if len(data) > head && string(data[:len(vcalMarker)]) == vcalMarker {
		u := data[head:]
		if n := bytes.IndexByte(u, 0); n >= 0 {
			u = u[:n]
		}
		return string(u), instance, nil
	}
	clean := bytes.Clone(b)
	clear(clean[16:20])
	return strings.ToUpper(hex.EncodeToString(clean)), instance, nil
}
