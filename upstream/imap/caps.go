package imap

import (
	"sort"

	imapv2 "github.com/emersion/go-imap/v2"
)

// Capabilities are the server features this package cares about, read
// after login (servers often advertise more once authenticated).
// IMAP4rev2 implies several of them.
type Capabilities struct {
	IMAP4rev2    bool
	CondStore    bool // RFC 7162: MODSEQ, HIGHESTMODSEQ, CHANGEDSINCE
	QResync      bool // advertised only; never enabled (go-imap cannot parse VANISHED)
	SpecialUse   bool // RFC 6154
	ListExtended bool // RFC 5258
	ListStatus   bool // RFC 5819
	Move         bool // RFC 6851
	UIDPlus      bool // RFC 4315: APPENDUID, COPYUID, UID EXPUNGE
	ESearch      bool // RFC 4731
	ObjectID     bool // RFC 8474 (advertised; MAILBOXID is not parsed by go-imap beta.8)
	Idle         bool // RFC 2177
	Unselect     bool // RFC 3691
	Binary       bool // RFC 3516
	AuthPlain    bool // AUTHENTICATE PLAIN offered (before login)
	All          []string
}

func capsFrom(set imapv2.CapSet) Capabilities {
	c := Capabilities{
		IMAP4rev2:    set.Has(imapv2.CapIMAP4rev2),
		CondStore:    set.Has(imapv2.CapCondStore),
		QResync:      set.Has(imapv2.CapQResync),
		SpecialUse:   set.Has(imapv2.CapSpecialUse) || set.Has(imapv2.CapIMAP4rev2),
		ListExtended: set.Has(imapv2.CapListExtended),
		ListStatus:   set.Has(imapv2.CapListStatus),
		Move:         set.Has(imapv2.CapMove),
		UIDPlus:      set.Has(imapv2.CapUIDPlus),
		ESearch:      set.Has(imapv2.CapESearch),
		ObjectID:     set.Has(imapv2.CapObjectID),
		Idle:         set.Has(imapv2.CapIdle),
		Unselect:     set.Has(imapv2.CapUnselect),
		Binary:       set.Has(imapv2.CapBinary),
		AuthPlain:    set.Has(imapv2.AuthCap("PLAIN")),
	}
	for k := range set {
		c.All = append(c.All, string(k))
	}
	sort.Strings(c.All)
	return c
}
