package mailconv

import (
	"strconv"
	"strings"

	"github.com/idlebridge/idlebridge/activesync/wbxml"
)

// flagState is the EAS view of a message's IMAP flags.
type flagState struct {
	seen, flagged, answered, forwarded, draft bool
	categories                                []string
}

// readFlags interprets IMAP flags and keywords. Keywords that start with
// neither "\" nor "$" become categories, except the junk markers mail
// clients set (they are filter state, not user labels).
func readFlags(flags []string) flagState {
	var s flagState
	seenCat := map[string]bool{}
	for _, f := range flags {
		switch strings.ToLower(f) {
		case `\seen`:
			s.seen = true
		case `\flagged`:
			s.flagged = true
		case `\answered`:
			s.answered = true
		case `$forwarded`:
			s.forwarded = true
		case `\draft`:
			s.draft = true
		case "junk", "nonjunk", "notjunk":
		default:
			if f == "" || f[0] == '\\' || f[0] == '$' || seenCat[f] {
				continue
			}
			seenCat[f] = true
			s.categories = append(s.categories, clean(f))
		}
	}
	return s
}

// lastVerb is Email2:LastVerbExecuted (MS-ASEMAIL 2.2.2.44: 1 reply to
// sender, 3 forward); 0 = none. IMAP cannot tell reply from reply-all.
func (s flagState) lastVerb() int {
	switch {
	case s.answered:
		return 1
	case s.forwarded:
		return 3
	}
	return 0
}

// flagElement is Email:Flag: empty when not flagged (that clears a flag on
// the device), else an active follow-up flag (MS-ASEMAIL 2.2.2.34).
func flagElement(flagged bool) *wbxml.Element {
	f := wbxml.New(wbxml.Email, "Flag")
	if flagged {
		f.AddText(wbxml.Email, "FlagStatus", "2")
		f.AddText(wbxml.Email, "FlagType", flagTypeFollowUp)
	}
	return f
}

// categoriesElement is Email:Categories; with no categories it is empty,
// which removes all categories on the device.
func categoriesElement(cats []string) *wbxml.Element {
	e := wbxml.New(wbxml.Email, "Categories")
	for _, c := range cats {
		e.AddText(wbxml.Email, "Category", c)
	}
	return e
}

// ChangeData builds the ApplicationData of a Sync <Change> for a message
// whose IMAP flags changed: Email:Read, Email:Flag, and for 14.0+
// Email:Categories (always sent, empty when none, so removals reach the
// device) and Email2:LastVerbExecuted when answered/forwarded.
func ChangeData(flags []string, opts Options) *wbxml.Element {
	s := readFlags(flags)
	ad := wbxml.New(wbxml.AirSync, "ApplicationData")
	ad.AddText(wbxml.Email, "Read", boolText(s.seen))
	ad.Append(flagElement(s.flagged))
	if opts.Version >= 140 {
		if v := s.lastVerb(); v != 0 {
			ad.AddText(wbxml.Email2, "LastVerbExecuted", strconv.Itoa(v))
		}
		ad.Append(categoriesElement(s.categories))
	}
	return ad
}

// EmailChange is what a device changed on an email in a Sync <Change>.
// nil fields were not mentioned and must be left alone.
type EmailChange struct {
	Read *bool
	// Flagged maps Email:Flag: an empty Flag or FlagStatus 0 → false;
	// FlagStatus 2 (active) → true; FlagStatus 1 (complete) → false,
	// because IMAP has no "completed" state and a completed follow-up is
	// no longer pending.
	Flagged    *bool
	Categories *[]string // non-nil empty slice = remove all categories
}

// ParseChange reads a device's <ApplicationData> of a Sync Change for
// Email. Unknown elements are ignored; a nil element yields no changes.
func ParseChange(appData *wbxml.Element) EmailChange {
	var ch EmailChange
	if appData == nil {
		return ch
	}
	if r := appData.Child(wbxml.Email, "Read"); r != nil {
		v := strings.TrimSpace(r.Content()) == "1"
		ch.Read = &v
	}
	if f := appData.Child(wbxml.Email, "Flag"); f != nil {
		v := strings.TrimSpace(f.ChildText(wbxml.Email, "FlagStatus")) == "2"
		ch.Flagged = &v
	}
	if c := appData.Child(wbxml.Email, "Categories"); c != nil {
		cats := []string{}
		for _, cat := range c.All(wbxml.Email, "Category") {
			if s := strings.TrimSpace(cat.Content()); s != "" {
				cats = append(cats, s)
			}
		}
		ch.Categories = &cats
	}
	return ch
}
